"""Datasets: shapes, classes, label ranges, seeds; the tutorial's stream; split(); read_csv()."""

from __future__ import annotations

import pytest
import torch

from ffnn_tui.core.config import RunConfig
from ffnn_tui.core.data import DATASETS, TWO_CLASS_ONLY, DataError, make_points, read_csv, split
from ffnn_tui.core.trainer import Trainer


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def points(name, N=300, K=2, noise=0.0, seed=0):
    return make_points(name, N, K, noise, gen(seed))


@pytest.mark.parametrize("name", DATASETS)
def test_shapes_dtypes_and_two_classes(name):
    X, y = points(name, N=301)
    assert X.shape == (301, 2) and X.dtype == torch.float32
    assert y.shape == (301,) and y.dtype == torch.int64
    assert torch.isfinite(X).all()
    assert sorted(y.unique().tolist()) == [0, 1]


@pytest.mark.parametrize("K", [3, 5, 10])
@pytest.mark.parametrize("name", sorted(set(DATASETS) - set(TWO_CLASS_ONLY)))
def test_multi_class_datasets_have_k_classes(name, K):
    X, y = points(name, N=500, K=K)
    assert sorted(y.unique().tolist()) == list(range(K))
    assert int(y.min()) == 0 and int(y.max()) == K - 1


@pytest.mark.parametrize("name", TWO_CLASS_ONLY)
def test_two_class_datasets_ignore_k(name):
    _, y = points(name, K=5)
    assert sorted(y.unique().tolist()) == [0, 1]


@pytest.mark.parametrize("name", DATASETS)
def test_labels_follow_the_dataset_rule(name):
    X, y = points(name, N=400, K=3 if name not in TWO_CLASS_ONLY else 2)
    x1, x2 = X[:, 0], X[:, 1]
    if name == "linear":
        assert torch.equal(y, ((x1 + x2) > 0).long())
    elif name == "diagonal":
        assert torch.equal(y, ((x1 - x2) > 0).long())
    elif name == "xor":
        assert torch.equal(y, ((x1 * x2) > 0).long())
        assert float(X.abs().max()) <= 2.0
    elif name == "circles":  # ring k lies at radius [k, k + 0.8] * 2/K
        r = X.norm(dim=1)
        for k in range(3):
            rk = r[y == k]
            assert float(rk.min()) >= k * 2 / 3 - 1e-5 and float(rk.max()) <= (k + 0.8) * 2 / 3 + 1e-5
    elif name == "blobs":  # each point is nearer its own centre than the class mean of the others, mostly
        means = torch.stack([X[y == k].mean(0) for k in range(3)])
        nearest = torch.cdist(X, means).argmin(1)
        assert float((nearest == y).float().mean()) > 0.9
    else:  # moons, spiral: bounded, centred clouds
        assert float(X.abs().max()) < 3
        assert float(X.mean(0).abs().max()) < 0.5


@pytest.mark.parametrize("name", DATASETS)
def test_same_seed_same_points_other_seed_different(name):
    K = 2 if name in TWO_CLASS_ONLY else 4
    X1, y1 = points(name, K=K, seed=7)
    X2, y2 = points(name, K=K, seed=7)
    X3, _ = points(name, K=K, seed=8)
    assert torch.equal(X1, X2) and torch.equal(y1, y2)
    assert not torch.equal(X1, X3)


@pytest.mark.parametrize("seed", [0, 1, 42, 12345])
def test_linear_is_the_tutorials_randn(seed):
    torch.manual_seed(seed)
    X_tut = torch.randn(80, 2)
    y_tut = ((X_tut[:, 0] + X_tut[:, 1]) > 0).long()
    X, y = make_points("linear", 80, 2, 0.0, gen(seed))
    assert torch.equal(X, X_tut) and torch.equal(y, y_tut)
    tr = Trainer(RunConfig(device="cpu", seed=seed, test_fraction=0.0))
    assert torch.equal(tr.data.X_train, X_tut) and torch.equal(tr.data.y_train, y_tut)


def test_noise_jitters_after_labelling():
    X0, y0 = points("linear", noise=0.0, seed=3)
    X1, y1 = points("linear", noise=0.5, seed=3)
    assert torch.equal(y0, y1)  # labels come from the clean points
    d = X1 - X0
    assert 0.35 < float(d.std()) < 0.65
    assert not torch.equal(((X1[:, 0] + X1[:, 1]) > 0).long(), y1)  # some points now sit on the wrong side


# ----- split -----


def test_split_is_deterministic_disjoint_and_complete():
    N = 101
    X = torch.stack([torch.arange(N, dtype=torch.float32), -torch.arange(N, dtype=torch.float32)], 1)
    y = torch.arange(N) % 3
    a = split(X, y, 0.2, seed=5)
    b = split(X, y, 0.2, seed=5)
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    Xtr, ytr, Xte, yte = a
    assert Xte.shape == (20, 2) and Xtr.shape == (81, 2)
    train_ids, test_ids = set(Xtr[:, 0].long().tolist()), set(Xte[:, 0].long().tolist())
    assert not train_ids & test_ids
    assert train_ids | test_ids == set(range(N))
    assert torch.equal(ytr, Xtr[:, 0].long() % 3) and torch.equal(yte, Xte[:, 0].long() % 3)  # rows stay paired
    c = split(X, y, 0.2, seed=6)
    assert not torch.equal(c[2], Xte)


def test_split_fraction_zero_keeps_everything_in_order():
    X, y = points("moons", N=50)
    Xtr, ytr, Xte, yte = split(X, y, 0.0, seed=0)
    assert torch.equal(Xtr, X) and torch.equal(ytr, y)
    assert Xte.shape == (0, 2) and yte.shape == (0,)


def test_split_does_not_shift_the_weights():
    """The split draws from its own stream: the same seed gives the same initial weights at any test fraction."""
    a = Trainer(RunConfig(device="cpu", seed=2, test_fraction=0.0))
    b = Trainer(RunConfig(device="cpu", seed=2, test_fraction=0.5))
    assert all(torch.equal(a.params[k], b.params[k]) for k in a.params)
    assert b.data.X_train.shape[0] == 40 and b.data.X_test.shape[0] == 40


# ----- read_csv -----


def test_read_csv_accepts_header_comments_and_blank_lines(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("x1,x2,label\n# a comment\n\n  1.5, -2 ,0\n\n# another\n-1,2e-1,1\n3,4,2\n   \n")
    X, y = read_csv(p)
    assert X.dtype == torch.float64 and y.dtype == torch.int64  # full precision; the run casts
    assert X.tolist() == [[1.5, -2.0], [-1.0, 0.2], [3.0, 4.0]]
    assert y.tolist() == [0, 1, 2]


def test_read_csv_without_header(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("0,0,1\n1,1,0\n")
    X, y = read_csv(p)
    assert X.tolist() == [[0.0, 0.0], [1.0, 1.0]] and y.tolist() == [1, 0]


def test_read_csv_rejects_a_bad_row_after_data(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("x1,x2,label\n1,2,0\nfoo,bar,1\n")
    with pytest.raises(DataError, match=r"d\.csv:3:"):
        read_csv(p)


def test_read_csv_trains_through_the_trainer(tmp_path):
    p = tmp_path / "d.csv"
    rows = [(i * 0.1, (i % 7) * 0.3, i % 3) for i in range(30)]
    p.write_text("\n".join(f"{a},{b},{c}" for a, b, c in rows) + "\n")
    tr = Trainer(RunConfig(device="cpu", data=str(p), test_fraction=0.2))
    assert tr.data.classes == 3
    assert tr.data.X_train.shape == (24, 2) and tr.data.X_test.shape == (6, 2)
    assert tr.params["W2"].shape == (8, 3)


def test_read_csv_with_a_byte_order_mark(tmp_path):
    p = tmp_path / "d.csv"
    p.write_bytes(b"\xef\xbb\xbf1,2,0\n-1,-2,1\n3,3,0\n")
    X, y = read_csv(p)
    assert y.tolist() == [0, 1, 0]


def test_read_csv_only_the_first_row_may_be_a_header(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("x1,x2,label\n1,two,0\n1,2,0\n-1,-2,1\n")
    with pytest.raises(DataError, match=r"d\.csv:2:"):
        read_csv(p)


def test_generated_dataset_keeps_the_requested_class_count():
    cfg = RunConfig(device="cpu", dataset="blobs", classes=10, samples=6, test_fraction=0.0, seed=3)
    _, y = make_points("blobs", 6, 10, 0.0, gen(3))
    assert int(y.max()) < 9  # this seed happens to miss the top class
    tr = Trainer(cfg)
    assert tr.data.classes == 10


def test_float64_run_keeps_every_digit_of_a_csv(tmp_path):
    """--dtype float64 with --data trains on the file's numbers to float64 precision, not float32's."""
    p = tmp_path / "precise.csv"
    rows = [
        ("0.1234567890123456789", "-1.0000000000000002", 0),
        ("3.3333333333333335", "1e-300", 1),
        ("-0.30000000000000004", "2.718281828459045", 0),
        ("16777217", "-0.1", 1),
    ]
    p.write_text("x1,x2,label\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows))
    exact = torch.tensor([[float(a), float(b)] for a, b, _ in rows], dtype=torch.float64)
    assert not torch.equal(exact.float().double(), exact)  # float32 cannot hold these

    X, _ = read_csv(p)
    assert X.dtype == torch.float64 and torch.equal(X, exact)
    tr64 = Trainer(RunConfig(data=str(p), dtype="float64", test_fraction=0, device="cpu"))
    assert tr64.data.X_train.dtype == torch.float64
    assert torch.equal(tr64.data.X_train, exact)
    assert tr64.data.y_train.tolist() == [0, 1, 0, 1]
    tr32 = Trainer(RunConfig(data=str(p), dtype="float32", test_fraction=0, device="cpu"))
    assert tr32.data.X_train.dtype == torch.float32
    assert torch.equal(tr32.data.X_train, exact.float())  # float32 rounds once, from the full value
    assert not torch.equal(tr32.data.X_train.double(), exact)
