"""The tutorial's Demo 4 loop, copied verbatim, is the oracle for the engine's numbers."""

import pytest
import torch

from ffnn_tui.core.config import RunConfig
from ffnn_tui.core.data import Dataset
from ffnn_tui.core.trainer import Trainer


def tutorial_demo4(seed: int):
    """Demo 2's data and Demo 4's loop from the tutorial, verbatim (plus a seed and no plot)."""
    torch.manual_seed(seed)

    def relu(x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, min=0.0)

    def forward(X: torch.Tensor) -> torch.Tensor:
        z1: torch.Tensor = X @ W1 + b1  # (N, 8)
        h: torch.Tensor = relu(z1)  # (N, 8)
        logits: torch.Tensor = h @ W2 + b2  # (N, 2)
        return logits

    import torch.nn.functional as F

    def cross_entropy_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, labels)

    input_dim: int = 2
    hidden_dim: int = 8
    output_dim: int = 2  # binary classification

    N: int = 80
    X_data: torch.Tensor = torch.randn(N, 2)
    y_data: torch.Tensor = ((X_data[:, 0] + X_data[:, 1]) > 0).long()

    lr: float = 0.07
    epochs: int = 120
    losses: list[float] = []

    # Reinitialize weights/biases for training run
    W1 = torch.randn(input_dim, hidden_dim, requires_grad=True)
    b1 = torch.zeros(hidden_dim, requires_grad=True)
    W2 = torch.randn(hidden_dim, output_dim, requires_grad=True)
    b2 = torch.zeros(output_dim, requires_grad=True)
    init = {k: v.detach().clone() for k, v in dict(W1=W1, b1=b1, W2=W2, b2=b2).items()}

    for _epoch in range(epochs):
        # Forward
        logits = forward(X_data)
        loss = cross_entropy_loss(logits, y_data)
        # Backward
        loss.backward()
        # Gradient descent
        with torch.no_grad():
            W1 -= lr * W1.grad
            b1 -= lr * b1.grad
            W2 -= lr * W2.grad
            b2 -= lr * b2.grad
        for param in [W1, b1, W2, b2]:
            param.grad.zero_()
        losses.append(loss.item())
    return X_data, y_data, init, losses


def engine_losses(X, y, init, backprop, steps=120):
    cfg = RunConfig(test_fraction=0.0, backprop=backprop, device="cpu")
    data = Dataset(X, y, X[:0], y[:0], 2)
    tr = Trainer(cfg, data=data, params=init)
    for _ in range(steps):
        tr.step()
    tr.flush()
    return list(tr.history.values["train_loss"])


@pytest.mark.parametrize("backprop", ["manual", "autograd"])
@pytest.mark.parametrize("seed", [0, 1, 42])
def test_same_tensors_give_the_tutorials_120_losses(backprop, seed):
    X, y, init, expected = tutorial_demo4(seed)
    got = engine_losses(X, y, init, backprop)
    assert len(got) == 120
    assert max(abs(a - b) for a, b in zip(got, expected)) <= 1e-5


@pytest.mark.parametrize("backprop", ["manual", "autograd"])
def test_default_run_draws_the_tutorials_data_and_weights(backprop):
    """With --test-fraction 0, seed s reproduces the tutorial run seeded with torch.manual_seed(s)."""
    _, _, _, expected = tutorial_demo4(3)
    tr = Trainer(RunConfig(test_fraction=0.0, seed=3, backprop=backprop, device="cpu"))
    for _ in range(120):
        tr.step()
    tr.flush()
    got = list(tr.history.values["train_loss"])
    assert max(abs(a - b) for a, b in zip(got, expected)) <= 1e-5


def test_the_oracle_can_fail():
    """A different learning rate must be caught by the same comparison."""
    X, y, init, expected = tutorial_demo4(0)
    cfg = RunConfig(test_fraction=0.0, lr=0.08, device="cpu")
    tr = Trainer(cfg, data=Dataset(X, y, X[:0], y[:0], 2), params=init)
    for _ in range(120):
        tr.step()
    tr.flush()
    got = list(tr.history.values["train_loss"])
    assert max(abs(a - b) for a, b in zip(got, expected)) > 1e-5
