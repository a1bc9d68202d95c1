"""The whole step of a one-hidden-layer net as one Triton kernel, for CUDA: what the trainer runs
there when nothing needs the step's activations (see Trainer._step_fn).

A wide full-batch step (2M points, 2-256-2) is memory-bound in the eager path: each (N, H)
tensor (z, h, dh, dz) is written and read again, about 14 passes of 2 GB. Every row's forward
and backward needs only that row and the parameters, so one kernel can keep h, dh and dz in
registers: it reads X and G once (N x (D + K) numbers) and writes only the gradients. Each
program walks its share of the row blocks and writes its partial sums of dW1, db1, dW2, db2 and
the loss to one row of a (programs, R) buffer; one torch.sum over the programs finishes them, so
the result is the same from run to run (no atomics).

The equations are those of core/backprop.py (forward, cross_entropy, dlogits_of, manual_backward);
tests/core/test_triton_step.py keeps the kernel equal to them in float64 for every activation.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from typing import Any

import torch

from . import fast
from .backprop import StepResult
from .network import LEAKY_SLOPE, Params, depth

MAX_WIDTH = 512
"""Widest hidden layer the kernel holds in registers (padded to a power of two)."""
MAX_SIDE = 16
"""Most input features, and most classes."""
ACTIVATION_CODES = {"relu": 0, "tanh": 1, "sigmoid": 2, "leaky_relu": 3}
failure = ""
"""Why the kernel could not run on this machine ('' while it can); the eager step runs instead."""


@functools.cache
def available() -> bool:
    """Triton is importable (it ships with torch's CUDA builds; CPU builds have none)."""
    return importlib.util.find_spec("triton") is not None


def fits(params: Params) -> bool:
    """One hidden layer, at most MAX_WIDTH wide, at most MAX_SIDE inputs and classes, on CUDA
    (or on the CPU under TRITON_INTERPRET=1, for tests)."""
    if depth(params) != 2 or failure or not available():
        return False
    (D, H), K = params["W1"].shape, params["W2"].shape[1]
    return H <= MAX_WIDTH and D <= MAX_SIDE and K <= MAX_SIDE


def _pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


@functools.cache
def _compiled() -> Any:  # a Triton JIT function has no static type
    """The kernel, defined on first use: importing triton costs a second, and only CUDA runs need it."""
    import triton  # type: ignore[import-not-found,unused-ignore]
    import triton.language as tl  # type: ignore[import-not-found,unused-ignore]

    @triton.jit  # type: ignore[untyped-decorator,unused-ignore]
    def step_kernel(  # type: ignore[no-untyped-def]
        X, G, W1, b1, W2, b2, SLOPE, PART, N, ITERS,
        D: tl.constexpr, H: tl.constexpr, K: tl.constexpr,
        DP: tl.constexpr, HP: tl.constexpr, KP: tl.constexpr,
        BN: tl.constexpr, ACT: tl.constexpr, PROGRAMS: tl.constexpr,
    ):  # fmt: skip
        dt = W1.dtype.element_ty
        pid = tl.program_id(0)
        slope = tl.load(SLOPE)  # leaky_relu's slope in the parameters' dtype (a float argument would be float32)
        hs = tl.arange(0, HP)  # (HP,) hidden units, padded
        ks = tl.arange(0, KP)  # (KP,) classes, padded
        ds = tl.arange(0, DP)  # (DP,) inputs, padded
        hmask, kmask = hs < H, ks < K
        bias1 = tl.load(b1 + hs, mask=hmask, other=0.0)  # (HP,)
        bias2 = tl.load(b2 + ks, mask=kmask, other=0.0)  # (KP,)
        dW1 = tl.zeros([DP, HP], dtype=dt)  # (DP, HP) partial sums over this program's rows
        db1 = tl.zeros([HP], dtype=dt)  # (HP,)
        dW2 = tl.zeros([HP, KP], dtype=dt)  # (HP, KP)
        db2 = tl.zeros([KP], dtype=dt)  # (KP,)
        loss = tl.zeros([BN], dtype=dt)  # (BN,)
        for it in range(ITERS):  # row blocks pid, pid + PROGRAMS, ...
            rows = (pid + it * PROGRAMS) * BN + tl.arange(0, BN)  # (BN,)
            rmask = rows < N
            # forward: z = X @ W1 + b1, h = phi(z), logits = h @ W2 + b2
            z = tl.zeros([BN, HP], dtype=dt) + bias1[None, :]  # (BN, HP)
            for d in tl.static_range(D):
                xd = tl.load(X + rows * D + d, mask=rmask, other=0.0)  # (BN,)
                z += xd[:, None] * tl.load(W1 + d * H + hs, mask=hmask, other=0.0)[None, :]  # (BN, HP)
            if ACT == 0:
                h = tl.maximum(z, 0.0)  # (BN, HP)
            elif ACT == 1:
                h = 2.0 * tl.sigmoid(2.0 * z) - 1.0  # (BN, HP) tanh
            elif ACT == 2:
                h = tl.sigmoid(z)  # (BN, HP)
            else:
                h = tl.where(z > 0, z, z * slope)  # (BN, HP)
            logits = tl.zeros([BN, KP], dtype=dt)  # (BN, KP)
            for k in tl.static_range(K):
                w2k = tl.load(W2 + hs * K + k, mask=hmask, other=0.0)  # (HP,) column k of W2
                lk = tl.sum(h * w2k[None, :], axis=1)  # (BN,)
                logits = tl.where(ks[None, :] == k, lk[:, None], logits)  # (BN, KP)
            logits = tl.where(kmask[None, :], logits + bias2[None, :], float("-inf"))  # (BN, KP)
            # loss = sum(G * log p), dlogits = G + softmax / N
            valid = rmask[:, None] & kmask[None, :]  # (BN, KP)
            g = tl.load(G + rows[:, None] * K + ks[None, :], mask=valid, other=0.0)  # (BN, KP)
            top = tl.max(logits, axis=1)  # (BN,)
            e = tl.exp(logits - top[:, None])  # (BN, KP) 0 in the padding
            total = tl.sum(e, axis=1)  # (BN,)
            logp = logits - top[:, None] - tl.log(total)[:, None]  # (BN, KP)
            loss += tl.sum(g * tl.where(valid, logp, 0.0), axis=1)  # (BN,)
            dl = tl.where(valid, g + e / total[:, None] / N, 0.0)  # (BN, KP) 0 in padded rows
            # backward: dW2 = h^T dl, db2 = sum(dl), dh = dl @ W2^T, dz = dh * phi'(z)
            db2 += tl.sum(dl, axis=0)  # (KP,)
            dh = tl.zeros([BN, HP], dtype=dt)  # (BN, HP)
            for k in tl.static_range(K):
                dlk = tl.sum(tl.where(ks[None, :] == k, dl, 0.0), axis=1)  # (BN,) column k of dl
                col = tl.sum(h * dlk[:, None], axis=0)  # (HP,)
                dW2 = tl.where(ks[None, :] == k, dW2 + col[:, None], dW2)  # (HP, KP)
                dh += dlk[:, None] * tl.load(W2 + hs * K + k, mask=hmask, other=0.0)[None, :]  # (BN, HP)
            if ACT == 0:
                dz = tl.where(h > 0, dh, 0.0)  # (BN, HP)
            elif ACT == 1:
                dz = dh * (1.0 - h * h)  # (BN, HP)
            elif ACT == 2:
                dz = dh * h * (1.0 - h)  # (BN, HP)
            else:
                dz = tl.where(h > 0, dh, dh * slope)  # (BN, HP)
            # dW1 = X^T dz, db1 = sum(dz)
            db1 += tl.sum(dz, axis=0)  # (HP,)
            for d in tl.static_range(D):
                xd = tl.load(X + rows * D + d, mask=rmask, other=0.0)  # (BN,)
                col = tl.sum(xd[:, None] * dz, axis=0)  # (HP,)
                dW1 = tl.where(ds[:, None] == d, dW1 + col[None, :], dW1)  # (DP, HP)
        # this program's partial sums, laid out as [dW1 (D*H), db1 (H), dW2 (H*K), db2 (K), loss]
        out = PART + pid * (D * H + H + H * K + K + 1)
        tl.store(out + ds[:, None] * H + hs[None, :], dW1, mask=(ds[:, None] < D) & hmask[None, :])
        tl.store(out + D * H + hs, db1, mask=hmask)
        tl.store(out + D * H + H + hs[:, None] * K + ks[None, :], dW2, mask=hmask[:, None] & kmask[None, :])
        tl.store(out + D * H + H + H * K + ks, db2, mask=kmask)
        tl.store(out + D * H + H + H * K + K, tl.sum(loss, axis=0))

    return step_kernel


def _programs(X: torch.Tensor, blocks: int) -> int:
    """Enough programs to fill the GPU four times over (a few on the CPU interpreter)."""
    if not X.is_cuda:
        return min(blocks, 3)  # the interpreter: several programs, to test their partial sums
    return max(1, min(blocks, 4 * torch.cuda.get_device_properties(X.device).multi_processor_count))


def _launch(part: torch.Tensor, params: Params, X: torch.Tensor, G: torch.Tensor, activation: str, blocks: int) -> None:
    """One program per row of part, each writing its partial sums there."""
    W1, W2 = params["W1"], params["W2"]  # (D, H), (H, K)
    (N, D), H, K = X.shape, W1.shape[1], W2.shape[1]
    P = part.shape[0]
    HP = _pow2(H)
    _compiled()[(P,)](
        X.contiguous(), G.contiguous(), W1.contiguous(), params["b1"], W2.contiguous(), params["b2"],
        _slope(X.device, X.dtype), part, N, math.ceil(blocks / P),
        D=D, H=H, K=K, DP=_pow2(D), HP=HP, KP=_pow2(K), BN=_block_rows(HP), ACT=ACTIVATION_CODES[activation], PROGRAMS=P,
        num_warps=4,
    )  # fmt: skip


@functools.cache
def _slope(device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """LEAKY_SLOPE as a (1,) tensor, made once (outside any CUDA graph capture: the warm-up's first step)."""
    return torch.full((1,), LEAKY_SLOPE, device=device, dtype=dtype)  # (1,)


def _block_rows(HP: int) -> int:
    """Rows per block: about 4,096 numbers of h in registers."""
    return max(8, min(64, 4096 // HP))


def manual_step(params: Params, X: torch.Tensor, G: torch.Tensor, activation: str, l1: float = 0.0) -> StepResult:
    """backprop.manual_step in one kernel: (loss, [dW1, db1, dW2, db2], no cache, no logits). The
    kernel keeps neither h nor the logits: the cache is empty and the logits an empty (0, K) tensor."""
    (N, D), H, K = X.shape, params["W1"].shape[1], params["W2"].shape[1]
    blocks = math.ceil(N / _block_rows(_pow2(H)))
    part = torch.empty(_programs(X, blocks), D * H + H + H * K + K + 1, device=X.device, dtype=X.dtype)  # (P, R)
    try:
        _launch(part, params, X, G, activation, blocks)
    except Exception as e:  # no compiler, an old GPU, a Triton limitation: the eager step from now on
        global failure
        failure = f"{type(e).__name__}: {e}"
        return fast.manual_step(params, X, G, activation, l1)
    total = part.sum(dim=0)  # (R,) the programs' partial sums added up
    dW1, db1, dW2, db2, loss = torch.split(total, [D * H, H, H * K, K, 1])
    grads = [dW1.view(D, H), db1, dW2.view(H, K), db2]  # each shaped as its parameter
    grads = fast.add_l1_(params, grads, l1) if l1 else grads
    return loss.view(()), grads, [], X.new_empty(0, K)
