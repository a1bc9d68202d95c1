"""Input features (--features), the linear model (--hidden 0) and the L1 penalty (--l1): the feature
map, the gradient check with each of them, the tutorial's numbers with the default features, and
what a linear model can and cannot learn on circles."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ffnn_tui.core import backprop, fast, inside, network, probes
from ffnn_tui.core.config import RunConfig
from ffnn_tui.core.data import Dataset
from ffnn_tui.core.features import DEFAULT_FEATURES, FEATURES, featurize
from ffnn_tui.core.trainer import Trainer

from .test_tutorial_oracle import tutorial_demo4

CPU = torch.device("cpu")
ALL = tuple(FEATURES)


def points(N: int = 23, seed: int = 0) -> torch.Tensor:
    return 1.7 * torch.randn(N, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)  # (N, 2)


# ----- the feature map -----


def test_each_feature_is_its_formula():
    X = points()
    x1, x2 = X[:, 0], X[:, 1]
    expected = {
        "x1": x1,
        "x2": x2,
        "x1^2": x1**2,
        "x2^2": x2**2,
        "x1*x2": x1 * x2,
        "sin(x1)": torch.sin(x1),
        "sin(x2)": torch.sin(x2),
    }
    assert set(expected) == set(FEATURES)
    for name, column in expected.items():
        got = featurize(X, (name,))
        assert got.shape == (X.shape[0], 1)
        torch.testing.assert_close(got[:, 0], column, rtol=0, atol=0)
    every = featurize(X, ALL)
    assert every.shape == (X.shape[0], len(ALL))
    for j, name in enumerate(ALL):  # columns in the order given
        torch.testing.assert_close(every[:, j], expected[name], rtol=0, atol=0)


def test_the_default_features_are_the_points_themselves():
    X = points()
    assert featurize(X, DEFAULT_FEATURES) is X
    assert featurize(X) is X
    swapped = featurize(X, ("x2", "x1"))
    assert torch.equal(swapped, X.flip(1))


def test_the_first_layers_fan_in_follows_the_features():
    tr = Trainer(RunConfig(device="cpu", features=("x1", "x1^2", "sin(x2)"), hidden=(5,)))
    assert tr.params["W1"].shape == (3, 5)
    assert tr.F_train.shape == (tr.data.X_train.shape[0], 3)
    assert torch.equal(tr.F_train, featurize(tr.data.X_train, ("x1", "x1^2", "sin(x2)")))
    tr.step()
    assert tr.last_cache[0].shape == tr.F_train.shape  # the step's X is the feature tensor
    assert tr.cfg.arch(2) == "3-5-2 relu"


# ----- the tutorial's numbers with --features x1,x2 -----


@pytest.mark.parametrize("backprop_mode", ["manual", "autograd"])
def test_features_x1_x2_give_the_tutorials_120_losses_exactly(backprop_mode):
    """The same oracle as tests/core/test_tutorial_oracle.py, with the features named explicitly:
    the numbers are bit for bit those of the run without the flag."""
    X, y, init, expected = tutorial_demo4(0)
    runs = []
    for cfg in (
        RunConfig(test_fraction=0.0, backprop=backprop_mode, device="cpu", features=("x1", "x2")),
        RunConfig(test_fraction=0.0, backprop=backprop_mode, device="cpu"),
    ):
        tr = Trainer(cfg, data=Dataset(X, y, X[:0], y[:0], 2), params=init)
        for _ in range(120):
            tr.step()
        tr.flush()
        runs.append(list(tr.history.values["train_loss"]))
    assert runs[0] == runs[1]  # exactly
    assert max(abs(a - b) for a, b in zip(runs[0], expected)) <= 1e-5


# ----- the gradient check -----


def gradcheck_errors(**cfg) -> list[backprop.GradCheck]:
    tr = Trainer(RunConfig(device="cpu", dtype="float64", dataset="blobs", classes=3, samples=60, **cfg))
    for p in tr.params.values():  # non-zero biases, so every bias gradient is exercised
        if p.dim() == 1:
            p.add_(0.3)
    tr.advance(3)
    return tr.gradient_check()


@pytest.mark.parametrize("feature", ALL)
@pytest.mark.parametrize("hidden", [(), (6,), (5, 4)], ids=["hidden0", "hidden6", "hidden5,4"])
def test_gradient_check_passes_with_every_feature(feature, hidden):
    checks = gradcheck_errors(features=(feature,), hidden=hidden, activation="tanh")
    assert [c.name for c in checks] == [f"{p}{k}" for k in range(1, len(hidden) + 2) for p in "Wb"]
    assert all(c.max_rel < 1e-10 for c in checks), checks


@pytest.mark.parametrize("hidden", [(), (7,), (6, 5)], ids=["hidden0", "hidden7", "hidden6,5"])
@pytest.mark.parametrize("l1", [0.0, 0.01])
def test_gradient_check_passes_with_all_features_together(hidden, l1):
    checks = gradcheck_errors(features=ALL, hidden=hidden, activation="sigmoid", l1=l1)
    assert all(c.max_rel < 1e-10 for c in checks), checks


def test_gradient_check_sees_a_wrong_l1(monkeypatch):
    """The check compares against autograd of the penalised loss: an L1 term dropped from the
    biases (or from everything) shows."""
    assert all(c.max_rel < 1e-10 for c in gradcheck_errors(hidden=(6,), l1=0.05))
    monkeypatch.setattr(
        fast,
        "add_l1_",
        lambda params, grads, l1: [
            g + l1 * p.sign() if n.startswith("W") else g for n, g, p in zip(params, grads, params.values())
        ],
    )
    checks = {c.name: c for c in gradcheck_errors(hidden=(6,), l1=0.05)}
    assert checks["W1"].max_rel < 1e-10 and checks["b1"].max_rel > 1e-3


# ----- L1 against autograd of the penalised loss, in float64 -----

HIDDEN = {0: (), 1: (7,), 2: (6, 5), 3: (5, 4, 3)}


def l1_problem(depth: int, K: int = 3, N: int = 31):
    g = torch.Generator().manual_seed(7 + depth)
    sizes = network.layer_sizes(3, HIDDEN[depth], K)
    params = network.init_params(sizes, "xavier", g, torch.float64, CPU)
    for name, p in params.items():
        if name.startswith("b"):
            p.copy_(0.4 * torch.randn(p.shape, generator=g, dtype=torch.float64))
    params["W1"][0, 0] = 0.0  # sign(0) = 0, as autograd's |p| has it
    X = featurize(points(N, depth), ("x1", "x2^2", "sin(x1)"))  # (N, 3)
    y = torch.randint(0, K, (N,), generator=g)
    y[:K] = torch.arange(K)
    return params, X, y


def penalised_autograd(params, X, y, activation, l1):
    """F.cross_entropy of the network written here, plus l1 * sum|p| over every parameter; autograd."""
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    L = len(leaves) // 2
    a = X
    for k in range(1, L):
        a = network.activate(a @ leaves[f"W{k}"] + leaves[f"b{k}"], activation)
    loss = F.cross_entropy(a @ leaves[f"W{L}"] + leaves[f"b{L}"], y)
    penalty = l1 * sum(p.abs().sum() for p in leaves.values())
    return loss.detach(), list(torch.autograd.grad(loss + penalty, list(leaves.values())))


@pytest.mark.parametrize("depth", sorted(HIDDEN))
@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("step", ["reference", "fused", "autograd"])
def test_l1_matches_autograd_of_the_penalised_loss(depth, activation, step):
    params, X, y = l1_problem(depth)
    G = backprop.targets(F.one_hot(y, 3).double())
    l1 = 0.03
    fn = {"reference": backprop.manual_step, "fused": fast.manual_step, "autograd": backprop.autograd_step}[step]
    loss, grads, _, _ = fn(params, X, G, activation, l1)
    ref_loss, ref = penalised_autograd(params, X, y, activation, l1)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-13, atol=1e-14)  # the data loss: no penalty in it
    assert len(grads) == len(ref)
    for name, got, want in zip(params, grads, ref):
        assert got.dtype == torch.float64
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-14, msg=lambda m, name=name: f"{name}: {m}")
    plain = fn(params, X, G, activation, 0.0)[1]  # the penalty really changed every gradient
    assert all(float((g - p).abs().max()) > 0.01 for g, p in zip(grads, plain))


def test_l1_shrinks_the_weights_and_the_loss_reported_is_the_data_loss():
    base = dict(device="cpu", dtype="float64", dataset="moons", samples=100, hidden=(8,), test_fraction=0.0)
    plain, sparse = Trainer(RunConfig(**base)), Trainer(RunConfig(**base, l1=0.02))
    for tr in (plain, sparse):
        tr.advance(300)
        tr.flush()
    size = lambda tr: sum(float(p.abs().sum()) for p in tr.params.values())  # noqa: E731
    assert size(sparse) < 0.8 * size(plain)
    loss, _ = sparse.evaluate(sparse.data.X_train, sparse.data.y_train, sparse.Y_train)
    logits, _ = network.forward(sparse.params, sparse.data.X_train, "relu")
    assert float(loss) == pytest.approx(float(F.cross_entropy(logits, sparse.data.y_train)), rel=1e-12)


# ----- the linear model on circles -----


def circles(features: tuple[str, ...]) -> probes.Metrics:
    """A linear model (--hidden 0), seed 0, 400 points of circles, 500 full-batch epochs of sgd."""
    cfg = RunConfig(device="cpu", dataset="circles", samples=400, hidden=(), features=features, seed=0, epochs=500)
    tr = Trainer(cfg)
    tr.advance(500)
    tr.flush()
    assert tr.outcome is not None and len(tr.params) == 2  # done, with W1 and b1 only
    return probes.sample_metrics(tr)


def test_a_linear_model_solves_circles_with_squared_features():
    m = circles(("x1^2", "x2^2"))
    assert m.train_acc >= 0.95 and m.test_acc >= 0.95, m


def test_a_linear_model_cannot_solve_circles_from_the_points():
    m = circles(("x1", "x2"))
    assert 0.35 <= m.train_acc <= 0.65 and 0.35 <= m.test_acc <= 0.65, m


# ----- the plane stays (x1, x2) -----


def test_boundary_and_neuron_maps_map_the_grid_through_the_features():
    feats = ("x1^2", "x2^2", "x1*x2")
    tr = Trainer(RunConfig(device="cpu", dtype="float64", dataset="circles", features=feats, hidden=(4,)))
    ext = probes.data_extent(tr)
    P = probes.grid_points(ext, 6, 5).double()  # (30, 2) the (x1, x2) plane
    logits, cache = network.forward(tr.params, featurize(P, feats), "relu")
    grid = probes.boundary_grid(tr.params, "relu", ext, 6, 5, feats)
    assert torch.equal(torch.tensor(grid.klass).reshape(-1), logits.argmax(1))
    maps = inside.neuron_maps(tr.params, "relu", ext, 6, 5, features=feats)
    h1 = torch.tensor([u.values for u in maps.layers[0].units], dtype=torch.float64).reshape(4, -1).T  # (30, 4)
    torch.testing.assert_close(h1, cache[2])
    with pytest.raises(ValueError, match="fan_in"):
        inside.neuron_maps(tr.params, "relu", ext, 6, 5)  # two features for a 3-feature W1


def test_a_linear_model_has_only_the_output_layer_to_show():
    tr = Trainer(RunConfig(device="cpu", hidden=(), features=("x1", "x2", "x1^2")))
    tr.step()
    ext = probes.data_extent(tr)
    maps = inside.neuron_maps(tr.params, "relu", ext, 5, 4, features=tr.cfg.features)
    assert [(layer.layer, layer.output) for layer in maps.layers] == [(1, True)]
    health = inside.layer_health(tr.params, "relu", tr.F_train, dict(zip(tr.params, tr.last_grads)))
    assert [(h.name, h.problem, h.units) for h in health] == [("W1", "", 2)]
    assert math.isfinite(health[0].grad_norm)
    mats = inside.weight_matrices(tr.params)
    assert [(m.name, m.shape) for m in mats] == [("W1", (3, 2)), ("b1", (2,))]
    assert dict(probes.activation_shapes(tr)) == {"points": (64, 2), "X": (64, 3), "logits": (64, 2), "probs": (64, 2)}
    assert tr.cfg.arch(2) == "3-2 linear"


def test_the_step_written_out_shows_the_features_and_the_l1_terms():
    tr = Trainer(RunConfig(device="cpu", hidden=(), features=("x1", "x2^2"), l1=0.005))
    before = {k: v.clone() for k, v in tr.params.items()}
    tr.step()
    rows = probes.step_rows(tr, before)
    texts = [r.text for r in rows]
    assert texts[:2] == ["X = [x1, x2^2]", "logits = X @ W1 + b1"]
    assert rows[0].shapes == "(64, 2) -> (64, 2)" and rows[0].value == pytest.approx(float(tr.F_train.norm()))
    assert "dW1 = X.T @ dlogits + 0.005 * sign(W1)" in texts
    assert "db1 = dlogits.sum(0) + 0.005 * sign(b1)" in texts
    assert texts[-1] == "b1: the same with db1"
    dW1 = next(r for r in rows if r.text.startswith("dW1"))
    assert dW1.value == pytest.approx(float(tr.last_grads[0].double().norm()))
    plain = Trainer(RunConfig(device="cpu"))
    plain.step()
    assert not any("sign" in r.text or r.text.startswith("X =") for r in probes.step_rows(plain))
