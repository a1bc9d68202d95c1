"""probes.step_rows: the last step written out, checked against the same step computed here by hand."""

from __future__ import annotations

import math

import pytest
import torch

from ffnn_tui.core import probes
from ffnn_tui.tui.cli import build_trainer


def _trainer(*argv: str):
    return build_trainer(["--device", "cpu", "--dtype", "float64", *argv])


def _by_text(rows):
    return {r.text: r for r in rows}


def test_empty_before_the_first_step():
    assert probes.step_rows(_trainer()) == ()


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_two_layer_rows_match_a_hand_computed_step(optimizer):
    tr = _trainer("--optimizer", optimizer)
    before = {k: v.clone() for k, v in tr.params.items()}
    X, y = tr.data.X_train, tr.data.y_train  # full batch
    N, _ = X.shape
    W1, b1, W2, b2 = (before[k] for k in ("W1", "b1", "W2", "b2"))
    z1 = X @ W1 + b1  # (N, 8)
    h = torch.relu(z1)  # (N, 8)
    logits = h @ W2 + b2  # (N, 2)
    loss = torch.nn.functional.cross_entropy(logits, y)
    dlogits = (torch.softmax(logits, 1) - torch.nn.functional.one_hot(y, 2)) / N  # (N, 2)
    dW2 = h.T @ dlogits  # (8, 2)
    dh = dlogits @ W2.T  # (N, 8)
    dz1 = dh * (z1 > 0)  # (N, 8)
    dW1 = X.T @ dz1  # (2, 8)
    tr.step()
    rows = _by_text(probes.step_rows(tr, before))
    H = W1.shape[1]
    assert rows["z1 = X @ W1 + b1"].shapes == f"({N}, 2) @ (2, {H}) + ({H},) -> ({N}, {H})"
    assert rows["z1 = X @ W1 + b1"].value == pytest.approx(float(z1.norm()))
    assert rows["h = relu(z1)"].value == pytest.approx(float(h.norm()))
    assert rows["logits = h @ W2 + b2"].value == pytest.approx(float(logits.norm()))
    assert rows["loss = CE(logits, y)"].value == pytest.approx(float(loss))
    assert rows["dlogits = (softmax - onehot) / N"].value == pytest.approx(float(dlogits.norm()))
    assert rows["dW2 = h.T @ dlogits"].shapes == f"({H}, {N}) @ ({N}, 2) -> ({H}, 2)"
    assert rows["dW2 = h.T @ dlogits"].value == pytest.approx(float(dW2.norm()))
    assert rows["dh = dlogits @ W2.T"].value == pytest.approx(float(dh.norm()))
    assert rows["dz1 = dh * (z1 > 0)"].value == pytest.approx(float(dz1.norm()))
    assert rows["dW1 = X.T @ dz1"].value == pytest.approx(float(dW1.norm()))
    for k in (1, 2):  # the update row's number is the change of W_k the step made
        change = float((tr.params[f"W{k}"] - before[f"W{k}"]).norm())
        update = next(r for r in rows.values() if r.text.startswith(f"W{k} -= "))
        assert update.value == pytest.approx(change, rel=1e-9)
    if optimizer == "momentum":
        assert rows["vW2 = 0.9 vW2 + dW2"].value == pytest.approx(float(dW2.norm()))  # v starts at 0
    if optimizer == "adam":
        assert rows["mW1 = 0.9 mW1 + 0.1 dW1"].value == pytest.approx(0.1 * float(dW1.norm()))
        assert rows["vW1 = 0.999 vW1 + 0.001 dW1²"].value == pytest.approx(0.001 * float((dW1 * dW1).norm()))


def test_any_depth_and_minibatches():
    tr = _trainer("--hidden", "5,4,3", "--batch-size", "16", "--activation", "tanh")
    tr.step()
    before = {k: v.clone() for k, v in tr.params.items()}
    tr.step()
    rows = probes.step_rows(tr, before)
    texts = [r.text for r in rows]
    assert texts[:7] == [
        "z1 = X @ W1 + b1",
        "h1 = tanh(z1)",
        "z2 = h1 @ W2 + b2",
        "h2 = tanh(z2)",
        "z3 = h2 @ W3 + b3",
        "h3 = tanh(z3)",
        "logits = h3 @ W4 + b4",
    ]
    assert rows[0].shapes == "(16, 2) @ (2, 5) + (5,) -> (16, 5)"
    assert "dz1 = dh1 * (1 - h1**2)" in texts and "W4 -= lr * dW4" in texts
    tr.flush()
    loss = next(r for r in rows if r.label == "loss").value
    assert loss == pytest.approx(tr.history.last("train_loss"))  # the loss the trainer recorded for this step
    assert all(math.isfinite(r.value) for r in rows if r.label)


def test_without_the_starting_weights_the_dh_norms_are_unknown():
    tr = _trainer()
    tr.step()
    rows = _by_text(probes.step_rows(tr))
    assert math.isnan(rows["dh = dlogits @ W2.T"].value)
    assert math.isnan(rows["z1 = X @ W1 + b1"].value)  # the fused step keeps h1 in z1's place
    assert math.isfinite(rows["dW1 = X.T @ dz1"].value)  # from the trainer's own gradients
