"""core.inside against independent computations written here: grids built with loops, layers
written out as matrix products, confusion counts done with Python loops, nets built by hand."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch

from ffnn_tui.core import inside
from ffnn_tui.core.network import ACTIVATIONS, activate, init_params, layer_sizes

CPU = torch.device("cpu")


def net(hidden, classes=3, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    params = init_params(layer_sizes(2, hidden, classes), "xavier", g, dtype, CPU)
    for name, p in params.items():
        if name.startswith("b"):
            p.copy_(0.3 * torch.randn(p.shape, generator=g, dtype=dtype))
    return params


def grid_by_loops(x0, x1, y0, y1, cols, rows):
    """Cell centres, row 0 at the top (largest x2), written out point by point."""
    pts = []
    for r in range(rows):
        for c in range(cols):
            pts.append((x0 + (c + 0.5) * (x1 - x0) / cols, y1 - (r + 0.5) * (y1 - y0) / rows))
    return torch.tensor(pts, dtype=torch.float64)  # (rows * cols, 2)


def only_plain_data(obj) -> bool:
    """True when obj is made of floats, ints, strs, bools, tuples and dataclasses of them only."""
    if isinstance(obj, (bool, int, float, str)):
        return True
    if isinstance(obj, tuple):
        return all(only_plain_data(v) for v in obj)
    if hasattr(obj, "__dataclass_fields__"):
        return all(only_plain_data(getattr(obj, f)) for f in obj.__dataclass_fields__)
    return False


def as_tensor(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


# ---------------------------------------------------------------- neuron maps


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_hidden_maps_equal_the_layer_computed_here(activation):
    p = net((5, 4))
    ext, cols, rows = (-2.0, 3.0, -1.0, 2.5), 7, 4
    m = inside.neuron_maps(p, activation, ext, cols, rows, max_units=10)
    G = grid_by_loops(*ext, cols, rows)  # (rows * cols, 2)
    h1 = activate(G @ p["W1"] + p["b1"], activation)  # (rows * cols, 5)
    h2 = activate(h1 @ p["W2"] + p["b2"], activation)  # (rows * cols, 4)
    probs = torch.softmax(h2 @ p["W3"] + p["b3"], dim=1)  # (rows * cols, 3)
    assert [layer.layer for layer in m.layers] == [1, 2, 3]
    assert [layer.output for layer in m.layers] == [False, False, True]
    for layer, A, name in zip(m.layers, (h1, h2, probs), ("h1", "h2", "out")):
        assert layer.width == A.shape[1] and layer.more == 0 and layer.offset == 0
        assert [u.label for u in layer.units] == [f"{name}[{j}]" for j in range(A.shape[1])]
        for j, u in enumerate(layer.units):
            expected = A[:, j].reshape(rows, cols)  # (rows, cols)
            torch.testing.assert_close(as_tensor(u.values), expected)
            assert u.scale == pytest.approx(float(expected.abs().max()))
        assert layer.scale == pytest.approx(float(A.abs().max()))
    assert m.layers[-1].activation == "softmax" and m.layers[0].activation == activation


def test_row_zero_is_the_top_and_column_zero_the_left():
    """A unit computing tanh(x2) grows downward-to-upward; one computing tanh(x1) grows left to right."""
    p = {
        "W1": torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64),
        "b1": torch.zeros(2, dtype=torch.float64),
        "W2": torch.ones(2, 2, dtype=torch.float64),
        "b2": torch.zeros(2, dtype=torch.float64),
    }
    m = inside.neuron_maps(p, "tanh", (-1, 1, -1, 1), 6, 5)
    up, right = (as_tensor(u.values) for u in m.layers[0].units)
    assert (up[:-1, 0] > up[1:, 0]).all()  # x2 decreases going down the rows
    assert (right[0, :-1] < right[0, 1:]).all()  # x1 increases along the columns
    assert up[0, 0] == pytest.approx(math.tanh(1 - 0.5 * 2 / 5))  # centre of the top row


def test_paging_shows_max_units_from_the_offset_and_counts_the_rest():
    p = net((20,), classes=2)
    m = inside.neuron_maps(p, "relu", (-1, 1, -1, 1), 4, 3, max_units=8, offset={1: 8})
    h = m.layers[0]
    assert (h.width, h.offset, h.more) == (20, 8, 4)
    assert [u.unit for u in h.units] == list(range(8, 16))
    last = inside.neuron_maps(p, "relu", (-1, 1, -1, 1), 4, 3, max_units=8, offset=16).layers[0]
    assert [u.unit for u in last.units] == [16, 17, 18, 19] and last.more == 0
    wrapped = inside.neuron_maps(p, "relu", (-1, 1, -1, 1), 4, 3, max_units=8, offset=24).layers[0]
    assert wrapped.offset == 4  # offsets wrap, so a "next page" key can keep adding max_units
    assert m.layers[1].offset == 0 and len(m.layers[1].units) == 2  # the dict gave no offset for the output layer
    # the paged unit's map is still that unit's own
    G = grid_by_loops(-1, 1, -1, 1, 4, 3)
    torch.testing.assert_close(as_tensor(h.units[0].values), torch.relu(G @ p["W1"] + p["b1"])[:, 8].reshape(3, 4))


def test_results_hold_no_tensors():
    p = net((3,))
    X = torch.randn(10, 2, dtype=torch.float64)
    grads = {k: torch.ones_like(v) for k, v in p.items()}
    for result in (
        inside.neuron_maps(p, "relu", (-1, 1, -1, 1), 3, 2),
        inside.weight_matrices(p),
        inside.layer_health(p, "relu", X, grads, {k: 0.1 for k in p}),
        inside.confusion(torch.randn(10, 3), torch.randint(0, 3, (10,)), 3),
    ):
        assert only_plain_data(result), result
    # and the check above can fail
    assert not only_plain_data((1.0, torch.tensor(1.0)))


def test_a_dead_unit_maps_to_zero_with_scale_zero():
    p = net((3,), classes=2)
    p["b1"][1] = -1e3
    u = inside.neuron_maps(p, "relu", (-2, 2, -2, 2), 5, 4).layers[0].units[1]
    assert u.scale == 0.0 and all(v == 0.0 for row in u.values for v in row)


def test_a_diverged_net_gives_finite_scales():
    p = net((3,), classes=2)
    p["W1"][0, 0] = math.nan
    m = inside.neuron_maps(p, "tanh", (-1, 1, -1, 1), 3, 2)
    assert all(math.isfinite(u.scale) for layer in m.layers for u in layer.units)


# ---------------------------------------------------------------- weight matrices


def test_unpooled_matrices_are_the_parameters():
    p = net((8,), classes=2)
    ms = inside.weight_matrices(p, max_rows=16, max_cols=24)
    assert [m.name for m in ms] == ["W1", "b1", "W2", "b2"]
    for m in ms:
        assert not m.pooled and m.which == "params"
        assert m.shape == tuple(p[m.name].shape)
        torch.testing.assert_close(as_tensor(m.values), p[m.name].reshape(len(m.values), -1))
        assert m.scale == pytest.approx(float(p[m.name].abs().max()))
    assert ms[1].values == (tuple(p["b1"].tolist()),)  # a bias is one row


def test_pooling_by_hand():
    A = torch.tensor([[1.0, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12], [13, 14, 15, 16, 17, 18]], dtype=torch.float64)
    P, re, ce = inside.mean_pool(A, 2, 3)
    # rows split {0}, {1, 2}; columns {0, 1}, {2, 3}, {4, 5}
    assert re == [0, 1, 3] and ce == [0, 2, 4, 6]
    assert P.tolist() == [[1.5, 3.5, 5.5], [(7 + 8 + 13 + 14) / 4, (9 + 10 + 15 + 16) / 4, (11 + 12 + 17 + 18) / 4]]


def test_a_big_matrix_is_pooled_and_says_so():
    p = {"W1": torch.arange(40 * 30, dtype=torch.float64).reshape(40, 30), "b1": torch.arange(30, dtype=torch.float64)}
    W, b = inside.weight_matrices(p, max_rows=10, max_cols=6)
    assert W.pooled and W.shape == (40, 30) and len(W.values) == 10 and len(W.values[0]) == 6
    assert W.row_edges == tuple(range(0, 41, 4)) and W.col_edges == tuple(range(0, 31, 5))
    block = p["W1"][0:4, 0:5]
    assert W.values[0][0] == pytest.approx(float(block.mean()))
    assert b.pooled and b.values == (tuple(float(p["b1"][5 * j : 5 * j + 5].mean()) for j in range(6)),)


def test_grads_and_updates_by_name_and_nothing_before_a_step():
    p = net((4,), classes=2)
    grads = {k: 2 * v for k, v in p.items()}
    ups = {k: -v for k, v in p.items()}
    g = inside.weight_matrices(p, "grads", grads=grads)
    u = inside.weight_matrices(p, "updates", updates=ups)
    torch.testing.assert_close(as_tensor(g[0].values), 2 * p["W1"])
    torch.testing.assert_close(as_tensor(u[2].values), -p["W2"])
    assert g[0].which == "grads" and u[0].which == "updates"
    assert inside.weight_matrices(p, "grads") == ()
    with pytest.raises(ValueError):
        inside.weight_matrices(p, "velocity")


# ---------------------------------------------------------------- layer health


def hand_net(activation_bias: float, bad: int = 2):
    """2-4-2 net: unit `bad` of the hidden layer gets bias activation_bias, the others stay moderate."""
    W1 = torch.tensor([[1.0, -1.0, 0.5, 0.2], [0.5, 1.0, -1.0, 0.3]], dtype=torch.float64)
    b1 = torch.tensor([0.1, -0.2, 0.0, 0.05], dtype=torch.float64)
    b1[bad] = activation_bias
    return {"W1": W1, "b1": b1, "W2": torch.ones(4, 2, dtype=torch.float64), "b2": torch.zeros(2, dtype=torch.float64)}


X_HEALTH = torch.randn(200, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_a_unit_with_a_huge_negative_bias_is_dead(activation):
    h1, out = inside.layer_health(hand_net(-1e3), activation, X_HEALTH)
    assert h1.problem == "dead" and h1.bad_units == (2,) and h1.bad_fraction == 0.25 and h1.rows == 200
    assert out.problem == "" and out.bad_units == () and math.isnan(out.bad_fraction)
    healthy, _ = inside.layer_health(hand_net(0.0), activation, X_HEALTH)
    assert healthy.bad_units == () and healthy.bad_fraction == 0.0


def test_dead_means_inactive_on_every_row():
    """One positive row keeps a unit alive; the same unit with that row removed is dead."""
    p = hand_net(0.0)
    X = torch.tensor([[-1.0, -1.0], [-2.0, -0.5], [3.0, 3.0]], dtype=torch.float64)  # unit 0 active on row 2 only
    assert 0 not in inside.layer_health(p, "relu", X)[0].bad_units
    assert 0 in inside.layer_health(p, "relu", X[:2])[0].bad_units


@pytest.mark.parametrize("activation,bias", [("tanh", 1e3), ("tanh", -1e3), ("sigmoid", 1e3), ("sigmoid", -1e3)])
def test_a_unit_with_a_huge_bias_is_saturated(activation, bias):
    h1, _ = inside.layer_health(hand_net(bias, bad=1), activation, X_HEALTH)
    assert h1.problem == "saturated" and h1.bad_units == (1,) and h1.bad_fraction == 0.25


def test_saturation_needs_99_percent_of_the_rows():
    h = torch.zeros(100, 3, dtype=torch.float64)
    h[:99, 0] = 0.99  # saturated on 99 rows of 100
    h[:98, 1] = -0.99  # on 98
    h[:, 2] = 0.96  # never past the threshold
    assert inside.saturated_units(h, "tanh").tolist() == [True, False, False]
    s = torch.full((100, 2), 0.5, dtype=torch.float64)
    s[:, 0] = 0.01
    assert inside.saturated_units(s, "sigmoid").tolist() == [True, False]


def test_gradient_norms_and_update_ratios_are_the_given_ones():
    p = hand_net(0.0)
    grads = {
        "W1": torch.full((2, 4), 3.0, dtype=torch.float64),
        "b1": torch.zeros(4),
        "W2": torch.full((4, 2), 0.5, dtype=torch.float64),
        "b2": torch.zeros(2),
    }
    h1, out = inside.layer_health(p, "relu", X_HEALTH, grads, {"W1": 0.01, "W2": 0.2})
    assert h1.grad_norm == pytest.approx(math.sqrt(8 * 9.0))
    assert out.grad_norm == pytest.approx(math.sqrt(8 * 0.25))
    assert h1.update_ratio == pytest.approx(0.01 / math.sqrt(sum(v * v for v in p["W1"].flatten().tolist())))
    assert out.update_ratio == pytest.approx(0.2 / math.sqrt(8))
    bare, _ = inside.layer_health(p, "relu", X_HEALTH)
    assert math.isnan(bare.grad_norm) and math.isnan(bare.update_ratio)


def test_health_strides_over_big_inputs_and_copes_with_no_rows():
    p = hand_net(-1e3)
    h1, _ = inside.layer_health(p, "relu", torch.randn(10_000, 2, dtype=torch.float64), max_rows=1000)
    assert h1.rows == 1000 and h1.bad_units == (2,)
    empty, _ = inside.layer_health(p, "relu", torch.zeros(0, 2, dtype=torch.float64))
    assert empty.rows == 0 and empty.bad_units == () and math.isnan(empty.bad_fraction)


# ---------------------------------------------------------------- confusion


def confusion_by_loops(pred, y, K):
    counts = [[0] * K for _ in range(K)]
    for p, t in zip(pred, y):
        counts[t][p] += 1
    return counts


def test_confusion_equals_a_count_by_loops():
    g = torch.Generator().manual_seed(3)
    K = 4
    logits = torch.randn(300, K, generator=g)
    y = torch.randint(0, K, (300,), generator=g)
    pred = [max(range(K), key=lambda k: row[k]) for row in logits.tolist()]
    c = inside.confusion(logits, y, K)
    expected = confusion_by_loops(pred, y.tolist(), K)
    assert [list(r) for r in c.counts] == expected
    for t in range(K):
        assert c.per_class[t] == pytest.approx(expected[t][t] / sum(expected[t]))
    assert c.total == 300 and c.accuracy == pytest.approx(sum(expected[k][k] for k in range(K)) / 300)
    assert inside.confusion(torch.tensor(pred), y, K) == c  # predictions give the same as logits


def test_a_class_with_no_rows_has_nan_accuracy():
    c = inside.confusion(torch.tensor([0, 1, 1, 0]), torch.tensor([0, 1, 0, 0]), 3)
    assert c.counts == ((2, 1, 0), (0, 1, 0), (0, 0, 0))
    assert c.per_class[:2] == (2 / 3, 1.0) and math.isnan(c.per_class[2])
    empty = inside.confusion(torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long), 2)
    assert empty.total == 0 and math.isnan(empty.accuracy)


def test_confusion_rejects_out_of_range_classes():
    with pytest.raises(ValueError):
        inside.confusion(torch.tensor([0, 3]), torch.tensor([0, 1]), 3)
    with pytest.raises(ValueError):
        inside.confusion(torch.tensor([0, 1]), torch.tensor([0, 1, 1]), 3)


# ---------------------------------------------------------------- hygiene


def test_inside_does_not_import_the_ui():
    probe = (
        "import json, sys, ffnn_tui.core.inside; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'plotext'))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_maps_name_the_units_layer_health_finds_bad_from_the_same_pass(activation):
    """neuron_maps(X=...) flags dead or saturated units of every layer, shown or not, as layer_health does."""
    p = net((6, 5), classes=3)
    p["b1"][[1, 4]] = -1e3 if activation in ("relu", "leaky_relu") else 1e3  # dead, or saturated high
    p["W2"][:, 3] = 0.0
    p["b2"][3] = -1e3 if activation in ("relu", "leaky_relu") else 1e3
    X = torch.randn(300, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    health = inside.layer_health(p, activation, X)
    m = inside.neuron_maps(p, activation, (-1, 1, -1, 1), 4, 3, max_units=2, X=X)
    assert set(m.bad) == inside.bad_labels(health) >= {"h1[1]", "h1[4]", "h2[3]"}
    assert inside.neuron_maps(p, activation, (-1, 1, -1, 1), 4, 3).bad == ()  # without rows: nothing said


def test_bad_labels_name_units_as_the_neuron_maps_do():
    p = hand_net(-1e3)
    layers = inside.layer_health(p, "relu", X_HEALTH)
    assert inside.bad_labels(layers) == {"h1[2]"}
    labels = {u.label for layer in inside.neuron_maps(p, "relu", (-1, 1, -1, 1), 2, 2).layers for u in layer.units}
    assert inside.bad_labels(layers) <= labels
