"""A million training points: a CSV of a million rows loads and trains in mini-batches."""

from __future__ import annotations

import numpy as np
import pytest

from ffnn_tui.core.data import read_csv
from ffnn_tui.tui.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def million_csv(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1_000_000, 2))
    y = (X.sum(axis=1) > 0).astype(int)
    path = tmp_path_factory.mktemp("scale") / "million.csv"
    with open(path, "w") as fh:
        fh.write("x1,x2,label\n")
        fh.write("".join(f"{a:.5f},{b:.5f},{c}\n" for (a, b), c in zip(X, y)))
    return path


def test_a_million_row_csv_loads(million_csv):
    X, y = read_csv(million_csv)
    assert X.shape == (1_000_000, 2) and int(y.max()) == 1


def test_a_million_row_csv_trains_headless(million_csv, capsys):
    code = main(
        ["--headless", "--data", str(million_csv), "--epochs", "1", "--batch-size", "8192", "--test-fraction", "0.01"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "steps 121" in out  # ceil(990,000 / 8192) updates in one epoch
