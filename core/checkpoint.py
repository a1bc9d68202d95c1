"""Checkpoints: a plain dict written with torch.save, loadable with torch.load(weights_only=True).

    format     "ffnn-tui/1"
    config     RunConfig as a dict
    params     {"W1": (fan_in, fan_out), "b1": (fan_out,), ...}
    step       updates taken so far
    history    {"step": [...], "train_loss": [...], ...} plain lists
    optimizer  the optimizer's state (lr, weight decay, moments)
    rng        the batch-order generator's state

Writes go to a temporary file in the same folder, are fsynced, then renamed over the target,
so a crash (even kill -9) mid-save leaves the previous checkpoint whole.
"""

from __future__ import annotations

import pickle
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from .errors import InputError, clip_path
from .files import MAX_CHECKPOINT_BYTES, PathError, check_input, user_path, write_atomic
from .history import History

if TYPE_CHECKING:  # for the annotations only: at run time the trainer is passed in
    from .trainer import Trainer

FORMAT = "ffnn-tui/1"


class CheckpointError(InputError):
    """A file that is not a usable checkpoint; str() is one line naming the file."""


def save_atomic(obj: dict[str, Any], path: str | Path) -> None:
    """torch.save written atomically (core/files.write_atomic: temp file, fsync, rename)."""
    write_atomic(lambda fh: torch.save(obj, fh), path)


def _read(path: str | Path, what: str, mmap: bool = False) -> dict[str, Any]:
    """torch.load(weights_only=True) with every failure turned into a CheckpointError. Torch's
    warnings are silenced: a raw pickle makes it print three lines, and the one-line error says it all."""
    p = user_path(path)
    try:
        check_input(what, path, MAX_CHECKPOINT_BYTES)
    except PathError as e:
        raise CheckpointError(str(e)) from None
    path = clip_path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(p, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError:  # torch's weights-only loader refused it: not a plain torch.save dict
        raise CheckpointError(f"{what} {path}: not an ffnn-tui checkpoint (not a plain torch.save file)") from None
    except (
        zipfile.BadZipFile,
        EOFError,
        RuntimeError,
        ValueError,
        KeyError,
        AttributeError,
        TypeError,
        IndexError,
        OSError,
    ) as e:
        reason = " ".join(str(e).split())[:80] or type(e).__name__
        raise CheckpointError(
            f"{what} {path}: not a readable ffnn-tui checkpoint, truncated or corrupt ({reason})"
        ) from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{what} {path}: expected a dict, found {type(obj).__name__}")
    return obj


def _check_params(params: object, path: str | Path, what: str) -> dict[str, torch.Tensor]:
    """W1, b1, ..., WL, bL (L >= 1: a linear model has W1 and b1 only) with chained shapes and
    finite values. W1's fan-in is the number of input features; whether it fits the run is check_fits'."""
    if not isinstance(params, dict) or not params:
        raise CheckpointError(f"{what} {path}: 'params' must be a dict of tensors W1, b1, W2, b2, ...")
    L = len(params) // 2
    expected = [f"{p}{k}" for k in range(1, L + 1) for p in "Wb"]
    if len(params) < 2 or sorted(params) != sorted(expected):
        raise CheckpointError(
            f"{what} {path}: params must be W1, b1, ..., WL, bL with L >= 1; found {', '.join(sorted(map(str, params)))}"
        )
    W1 = params["W1"]
    fan_in = W1.shape[0] if isinstance(W1, torch.Tensor) and W1.dim() == 2 else 2
    for k in range(1, L + 1):
        W, b = params[f"W{k}"], params[f"b{k}"]
        if not (isinstance(W, torch.Tensor) and isinstance(b, torch.Tensor)):
            raise CheckpointError(f"{what} {path}: W{k} and b{k} must be tensors")
        if W.dim() != 2 or W.shape[0] != fan_in or b.shape != (W.shape[1],):
            raise CheckpointError(
                f"{what} {path}: W{k} {tuple(W.shape)} / b{k} {tuple(b.shape)} do not chain from width {fan_in}"
            )
        if not (W.is_floating_point() and torch.isfinite(W).all() and torch.isfinite(b).all()):
            raise CheckpointError(f"{what} {path}: W{k}/b{k} must hold finite floating-point numbers")
        fan_in = W.shape[1]
    return {name: params[name] for name in expected}


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A full checkpoint for --resume, checked for format and shape."""
    obj = _read(path, "--resume")
    if obj.get("format") != FORMAT:
        raise CheckpointError(
            f"--resume {path}: not an ffnn-tui checkpoint (format {obj.get('format')!r}, expected {FORMAT!r})"
        )
    for key in ("config", "params", "step", "history", "optimizer", "rng"):
        if key not in obj:
            raise CheckpointError(f"--resume {path}: checkpoint is missing {key!r}")
    if not isinstance(obj["config"], dict) or not isinstance(obj["step"], int) or obj["step"] < 0:
        raise CheckpointError(f"--resume {path}: 'config' must be a dict and 'step' a count")
    obj["params"] = _check_params(obj["params"], path, "--resume")
    return obj


def load_params(path: str | Path) -> dict[str, torch.Tensor]:
    """Parameters for --init-params: a checkpoint, or a dict holding just 'params'."""
    obj = _read(path, "--init-params")
    if "params" not in obj:
        raise CheckpointError(
            f"--init-params {path}: no 'params' entry (expected a checkpoint or {{'params': {{...}}}})"
        )
    return _check_params(obj["params"], path, "--init-params")


# ----- a trainer to a checkpoint and back (the trainer is passed in; this module imports it only for types) -----


def checkpoint_of(tr: Trainer) -> dict[str, Any]:
    """The checkpoint dict of a Trainer's run, all tensors on the CPU (it loads anywhere)."""
    tr.flush()
    return {
        "format": FORMAT,
        "config": tr.cfg.to_dict(),
        "params": {k: v.detach().cpu().clone() for k, v in tr.params.items()},
        "step": tr.step_count,
        "run": tr.run_id,
        "history": tr.history.to_dict(),
        "optimizer": _to_cpu(tr.optimizer.state_dict()),
        "rng": tr.order.state(),
    }


def restore(tr: Trainer, ckpt: dict[str, Any], path: str | Path) -> None:
    """Continue a saved run exactly in tr: parameters, optimizer moments, step, history, batch order.
    The shapes must fit the run the options describe."""
    check_fits(tr.params, ckpt["params"], f"--resume {path}")
    try:
        tr.restore_params(ckpt["params"])
        tr.optimizer.load_state_dict(ckpt["optimizer"], tr.param_list)
        tr.optimizer.lr, tr.optimizer.weight_decay = tr.cfg.lr, tr.cfg.weight_decay  # flags may override
        tr.step_count = int(ckpt["step"])
        if "run" in ckpt:  # (absent from checkpoints written before it was recorded: run 1's)
            run = ckpt["run"]
            if type(run) is not int or run < 1:
                raise ValueError(f"run {run!r}: expected a count >= 1")
            tr.run_id = tr.resumed_run = run
        tr.history = History.from_dict(ckpt["history"])
        tr.order.set_state(ckpt["rng"])
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as e:
        raise CheckpointError(
            f"--resume {path}: damaged history, optimizer or rng section "
            f"({type(e).__name__}: {' '.join(str(e).split())[:80]})"
        ) from None


def check_fits(want_params: Mapping[str, torch.Tensor], params: Mapping[str, torch.Tensor], what: str) -> None:
    """Loaded tensors must fit the network the options describe; the error says which --hidden
    would, and how many --features when the fan-in differs."""
    want = {k: tuple(v.shape) for k, v in want_params.items()}
    got = {k: tuple(v.shape) for k, v in params.items()}
    if want != got:
        hidden = ",".join(str(params[f"W{k}"].shape[1]) for k in range(1, len(params) // 2)) or "0"
        fan_in, run_fan_in = got["W1"][0], want["W1"][0]
        features = f" and --features with {fan_in} names (the run has {run_fan_in})" if fan_in != run_fan_in else ""
        raise CheckpointError(
            f"{what}: parameters are {_arch(got)} but the run is {_arch(want)}; "
            f"pass --hidden {hidden}{features}, with matching data"
        )


def peek_config(path: str | Path) -> dict[str, Any]:
    """Just the saved options of a checkpoint, for merging with flags before the run is built.
    Memory-mapped, so the parameter tensors are not read: the training process loads them once."""
    try:
        obj = _read(path, "--resume", mmap=True)
    except CheckpointError:  # e.g. an old-style file mmap cannot map: the full load says precisely why
        obj = {}
    config = obj.get("config")
    if obj.get("format") != FORMAT or not isinstance(config, dict):
        checked: dict[str, Any] = load_checkpoint(path)["config"]  # raises the precise one-line error
        return checked
    return config


def _arch(shapes: Mapping[str, tuple[int, ...]]) -> str:
    L = len(shapes) // 2
    return "-".join([str(shapes["W1"][0])] + [str(shapes[f"W{k}"][1]) for k in range(1, L + 1)])


def _to_cpu(obj: object) -> object:
    """Optimizer state with every tensor moved to the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().clone()
    if isinstance(obj, list):
        return [_to_cpu(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    return obj
