"""Input features, as in TensorFlow Playground: the network's input X is made of columns computed
from each point (x1, x2), chosen with `--features`.

    X = [x1, x2]                 the tutorial's input (the default): the points themselves
    X = [x1^2, x2^2]             a linear model can then draw a circle: w1 x1^2 + w2 x2^2 + b = 0

The first layer's fan-in is the number of features F. Everything drawn over the plane (the
decision boundary, the neuron maps) stays over (x1, x2): its grid points go through the same
features before the forward pass.
"""

from __future__ import annotations

from typing import Callable

import torch

from .errors import InputError

Column = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

COLUMNS: dict[str, Column] = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1 * x1,
    "x2^2": lambda x1, x2: x2 * x2,
    "x1*x2": lambda x1, x2: x1 * x2,
    "sin(x1)": lambda x1, x2: torch.sin(x1),
    "sin(x2)": lambda x1, x2: torch.sin(x2),
}
"""Each feature as a function of the columns x1, x2 (each (N,)), returning (N,)."""
FEATURES = tuple(COLUMNS)
"""Every feature name, in TensorFlow Playground's order."""
DEFAULT_FEATURES = ("x1", "x2")
"""The tutorial's input: the points as they are."""


def featurize(X: torch.Tensor, names: tuple[str, ...] = DEFAULT_FEATURES) -> torch.Tensor:
    """The network's input for the points X: (N, 2) -> (N, F), one column per name, in order.

    With the default features the points themselves are returned (the same tensor, no copy), so
    `--features x1,x2` runs exactly the tutorial's numbers.
    """
    if tuple(names) == DEFAULT_FEATURES:
        return X  # (N, 2)
    x1, x2 = X[:, 0], X[:, 1]  # (N,) each
    return torch.stack([COLUMNS[name](x1, x2) for name in names], dim=1)  # (N, F)


def check_finite(F: torch.Tensor, names: tuple[str, ...]) -> None:
    """Raise InputError when a feature overflows the run's dtype: points that fit it can still
    square past it (x1^2 of 1e20 in float32), and the run would only diverge at step 1."""
    if names != DEFAULT_FEATURES and not bool(torch.isfinite(F).all()):
        dtype = str(F.dtype).removeprefix("torch.")
        raise InputError(
            f"--features {','.join(names)}: the points' features overflow {dtype} (too large to square "
            "or multiply); scale the points, or use --dtype float64"
        )


def describe(names: tuple[str, ...]) -> str:
    """'[x1, x2, x1^2]': how X is made, for the step view and exports."""
    return "[" + ", ".join(names) + "]"
