"""What the neurons view adds to each snapshot, in milliseconds (median of many interleaved rounds).

    python bench/neuron_view.py [--samples 300] [--rounds 400] [--pane 56x30] [--profile]

Builds the training process's SnapshotMaker for a 2-16-16-3 net on the 3-class spiral (issue #9's
budget: the neurons view at 120x36, whose pane is 56x30 cells, adds under 2 ms per snapshot), takes a
few steps, then times, round after round and interleaved so that the machine's noise hits all alike:

  none     SnapshotMaker.make with no view shown (status, loss curve, shapes only)
  neurons  the same with the neurons view shown (its maps and its dead/saturated marks)
  pickle   pickling the neurons' part of the snapshot (it crosses the pipe to the app)

and prints each median, `neurons - none` (the snapshot's added cost) and that plus the pickle.
--profile prints cProfile's top entries for the neurons view's probe instead.
A benchmark, not a test: run it on a quiet machine; it is never part of the suite.
"""

from __future__ import annotations

import argparse
import cProfile
import pickle
import pstats
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=300, help="points of the spiral (train + test)")
    ap.add_argument("--hidden", default="16,16")
    ap.add_argument("--rounds", type=int, default=400)
    ap.add_argument("--pane", default="56x30", help="the view pane's content size in cells (120x36: 56x30)")
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args()

    from ffnn_tui.tui.cli import build_trainer
    from ffnn_tui.tui.engine.protocol import ShowViews
    from ffnn_tui.tui.engine.snapshot import SnapshotMaker

    argv = ["--device", "cpu", "--dataset", "spiral", "--classes", "3", "--hidden", a.hidden]
    tr = build_trainer([*argv, "--samples", str(a.samples)])
    tr.claim_threads(drawing=True)  # as the training process does while the UI draws
    for _ in range(5):
        tr.step()
    cols, rows = (int(v) for v in a.pane.split("x"))
    maker = SnapshotMaker()
    none, neurons = ShowViews((), cols, rows), ShowViews(("neurons",), cols, rows)

    def make(views: ShowViews):
        maker.views = views
        return maker.make(tr, "RUNNING")

    if a.profile:
        make(neurons)  # the run's extent and point sample
        maker.views = neurons
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(a.rounds):
            dict(maker.view_data(tr, None))
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        return

    for _ in range(20):  # warm up
        make(none), make(neurons)
    times: dict[str, list[float]] = {"none": [], "neurons": [], "pickle": []}
    for _ in range(a.rounds):
        for name, views in (("none", none), ("neurons", neurons)):
            t0 = time.perf_counter_ns()
            s = make(views)
            times[name].append((time.perf_counter_ns() - t0) / 1e6)
        t0 = time.perf_counter_ns()
        pickle.dumps((s.neurons, s.dead))
        times["pickle"].append((time.perf_counter_ns() - t0) / 1e6)
    med = {k: statistics.median(v) for k, v in times.items()}
    n = s.neurons
    tiles = sum(len(layer.units) for layer in n.layers)
    print(
        f"2-{a.hidden.replace(',', '-')}-3 spiral, {tr.data.X_train.shape[0]} training rows, pane {cols}x{rows}: "
        f"{tiles} tiles of {n.cols}x{n.rows} cells, {len(pickle.dumps((n, s.dead))):,} bytes pickled"
    )
    for k in ("none", "neurons", "pickle"):
        print(f"  {k:8} median {med[k]:7.3f} ms")
    added = med["neurons"] - med["none"]
    print(f"  neurons view adds {added:.3f} ms per snapshot, {added + med['pickle']:.3f} ms with the pickle")


if __name__ == "__main__":
    main()
