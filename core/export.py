"""The trained weights as a plain file other tools read: .safetensors, .npz or .json, by the suffix.

Every format carries the same metadata: what each tensor's shape means and how the layers use
them, so a reader needs nothing from this project to run the network:

    W1: (fan_in, fan_out) = (2, 8)   layer 1 computes X @ W1 + b1, then relu
    b1: (fan_out,) = (8,)            added to every row of X @ W1
    W2: (fan_in, fan_out) = (8, 2)   layer 2 computes h1 @ W2 + b2 = logits; softmax gives the class probabilities
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch

from .config import EXPORT_SUFFIXES, RunConfig
from .errors import InputError, clip_path
from .features import describe as describe_features
from .files import user_path

FORMAT = "ffnn-tui-weights/1"


class ExportError(InputError):
    """An export path this program cannot write; str() is the one line shown to the user."""


def describe(params: dict[str, torch.Tensor], activation: str) -> dict[str, str]:
    """{tensor name: what its shape means and what the layer computes with it}."""
    L = len(params) // 2
    out = {}
    for k in range(1, L + 1):
        W = params[f"W{k}"]
        fan_in, fan_out = W.shape
        inp = "X" if k == 1 else f"h{k - 1}"
        then = f", then {activation} = h{k}" if k < L else " = logits; softmax gives the class probabilities"
        out[f"W{k}"] = f"(fan_in, fan_out) = ({fan_in}, {fan_out}); layer {k} computes {inp} @ W{k} + b{k}{then}"
        out[f"b{k}"] = f"(fan_out,) = ({fan_out},); added to every row of {inp} @ W{k}"
    return out


def metadata(params: dict[str, torch.Tensor], cfg: RunConfig, step: int) -> dict[str, str]:
    """String-to-string metadata (safetensors allows nothing else); the other formats store the same."""
    first = next(iter(params.values()))
    F = len(cfg.features)
    return {
        "format": FORMAT,
        "layout": f"row vectors: X is (N, {F}), one point per row; logits = ... @ W + b; class = argmax(logits, axis=1)",
        "features": f"X = {describe_features(cfg.features)} of each point (x1, x2)",
        "activation": cfg.activation if cfg.hidden else "none (a linear model)",
        "dtype": str(first.dtype).removeprefix("torch."),
        "step": str(step),
        "config": json.dumps({k: v for k, v in cfg.to_dict().items() if v is not None}),
        **{f"shape.{name}": text for name, text in describe(params, cfg.activation).items()},
    }


def export_weights(params: dict[str, torch.Tensor], cfg: RunConfig, step: int, path: str | Path) -> Path:
    """Write the weights to path (format by suffix), atomically; return the absolute path."""
    target = user_path(path).resolve()
    suffix = target.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise ExportError(f"--export {path}: expected a file name ending in {', '.join(EXPORT_SUFFIXES)}")
    tensors = {name: t.detach().to("cpu").contiguous() for name, t in params.items()}
    meta = metadata(tensors, cfg, step)
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + suffix, dir=target.parent)
        os.close(fd)  # (in the try: a folder gone since start-up is an error naming path, not the temp file)
        if suffix == ".safetensors":
            from safetensors.torch import save_file

            save_file(tensors, tmp, metadata=meta)
        elif suffix == ".npz":
            import numpy as np

            arrays = {name: t.numpy() for name, t in tensors.items()}
            arrays["__metadata__"] = np.array(json.dumps(meta))  # a 0-d string: no pickle needed
            with open(tmp, "wb") as fh:  # a file object: np.savez would append .npz to a name
                np.savez(fh, **arrays)  # type: ignore[arg-type]  # W1, b1, ...: never savez's own allow_pickle
        else:
            doc = {
                "format": FORMAT,
                "metadata": meta,
                "tensors": {
                    name: {"shape": list(t.shape), "meaning": meta[f"shape.{name}"], "data": t.tolist()}
                    for name, t in tensors.items()
                },
            }
            Path(tmp).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600; an export is an ordinary file
        os.replace(tmp, target)
    except OSError as e:  # a full disk: one line, not exit 1
        _remove(tmp)
        raise ExportError(f"--export {clip_path(path)}: cannot write it ({e.strerror or e})") from None
    except BaseException:
        _remove(tmp)
        raise
    return target


def _remove(tmp: str) -> None:
    """The temp file of a failed export, if it was made."""
    if tmp:
        Path(tmp).unlink(missing_ok=True)
