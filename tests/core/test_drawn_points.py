"""Points drawn in the dashboard: the trainer's data changes in place of the run (its device and
dtype), the weights and optimizer state stay, and the points write back as a --data CSV."""

from __future__ import annotations

import torch

from ffnn_tui.core.config import RunConfig
from ffnn_tui.core.data import read_csv, write_csv
from ffnn_tui.core.probes import Extent, cell_centre, place_points
from ffnn_tui.core.trainer import Trainer


def test_an_added_point_trains_at_the_runs_dtype_and_the_weights_and_moments_stay():
    tr = Trainer(RunConfig(device="cpu", dtype="float64", optimizer="adam", lr=0.01, batch_size=16))
    tr.advance(3)
    W1, m = tr.params["W1"].clone(), [t.clone() for t in tr.optimizer.m]
    N = tr.data.X_train.shape[0]
    tr.add_point(0.123456789012345, -1.5, 1)
    assert tr.data.X_train.dtype == torch.float64 and tr.data.X_train.shape == (N + 1, 2)
    assert tr.data.X_train[-1].tolist() == [0.123456789012345, -1.5] and tr.data.y_train[-1] == 1
    assert torch.equal(tr.params["W1"], W1) and all(torch.equal(a, b) for a, b in zip(tr.optimizer.m, m))
    assert tr.Y_train.shape == (N + 1, 2) and tr.steps_per_epoch == -(-(N + 1) // 16)
    tr.advance(10)  # mini-batches over the new set
    assert tr.step_count == 13 and tr.outcome is None


def test_a_class_the_net_has_no_output_for_is_refused():
    tr = Trainer(RunConfig(device="cpu"))
    try:
        tr.add_point(0.0, 0.0, 2)
    except ValueError as e:
        assert "2 classes" in str(e)
    else:
        raise AssertionError("class 2 of a 2-class net was accepted")


def test_remove_takes_the_nearest_point_as_seen_on_the_screen_and_keeps_the_last():
    tr = Trainer(RunConfig(device="cpu", samples=4, test_fraction=0))
    tr._use_train_points(
        type(tr.data)(
            torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 1.0]]),
            torch.tensor([0, 1, 0]),
            tr.data.X_test,
            tr.data.y_test,
            2,
        )
    )
    # (4, 0.6): nearer to (0, 1) in plain distance, nearer to (10, 0) on a plane 100 wide and 1 high
    assert tr.remove_nearest(4.0, 0.6, scale=(100.0, 1.0))
    assert tr.data.X_train.tolist() == [[0.0, 0.0], [10.0, 0.0]]
    assert tr.remove_nearest(0.0, 0.0) and not tr.remove_nearest(10.0, 0.0)
    assert tr.data.X_train.tolist() == [[10.0, 0.0]]


def test_a_reset_keeps_drawn_points_and_a_new_dataset_replaces_them():
    tr = Trainer(RunConfig(device="cpu"))
    tr.add_point(0.5, 0.5, 0)
    N = tr.data.X_train.shape[0]
    tr.reset()
    assert tr.data.X_train.shape[0] == N and tr.step_count == 0
    tr.set_dataset("xor")
    assert not tr.drawn and tr.data.X_train.shape[0] == N - 1


def test_a_cell_centre_lands_in_its_cell():
    ext = Extent(-2.0, 3.0, -1.0, 1.0)
    for col, row in [(0, 0), (7, 3), (19, 7)]:
        x, y = cell_centre(ext, 20, 8, col, row)
        assert place_points(torch.tensor([[x, y]]), ext, 20, 8) == [(row, col)]


def test_written_points_read_back_exactly(tmp_path):
    tr = Trainer(RunConfig(device="cpu", dtype="float64", test_fraction=0.25))
    tr.add_point(1 / 3, -2 / 7, 1)
    n = write_csv(tmp_path / "p.csv", tr.data, "drawn\nin a test")
    X, y = read_csv(tmp_path / "p.csv")
    assert n == 81 and X.shape == (81, 2)
    assert torch.equal(X, torch.cat([tr.data.X_train, tr.data.X_test]))
    assert torch.equal(y, torch.cat([tr.data.y_train, tr.data.y_test]))
    assert (tmp_path / "p.csv").read_text().startswith("# drawn\n# in a test\nx1,x2,label\n")


def test_with_features_a_drawn_point_is_featurized_for_the_linear_model():
    tr = Trainer(RunConfig(device="cpu", hidden=(), features=("x1", "x2", "x1^2", "x2^2")))
    tr.add_point(2.0, -3.0, 1)
    assert tr.F_train.shape == (tr.data.X_train.shape[0], 4)
    assert tr.F_train[-1].tolist() == [2.0, -3.0, 4.0, 9.0]
    tr.advance(2)
    assert tr.step_count == 2 and tr.outcome is None


def test_a_points_edit_trains_on_the_saved_training_rows_and_keeps_the_weights_and_moments(tmp_path):
    from ffnn_tui.core.run import RunLoop

    drawn = Trainer(RunConfig(device="cpu", optimizer="adam", lr=0.01))
    drawn.advance(3)
    drawn.add_point(0.5, -0.25, 1)
    write_csv(tmp_path / "p.csv", drawn.data)
    replay = Trainer(RunConfig(device="cpu", optimizer="adam", lr=0.01, at=(f"3:points={tmp_path / 'p.csv'}",)))
    with RunLoop(replay) as run:
        run.advance(3)
        W1, m = replay.params["W1"].clone(), [t.clone() for t in replay.optimizer.m]
        assert run.can_step  # applies the edit due at step 3
    assert torch.equal(replay.data.X_train, drawn.data.X_train) and torch.equal(replay.data.X_test, drawn.data.X_test)
    assert torch.equal(replay.params["W1"], W1) and all(torch.equal(a, b) for a, b in zip(replay.optimizer.m, m))
    assert replay.step_count == 3 and replay.run_id == 1  # the same run goes on


def test_a_drawing_is_recorded_at_its_step_and_named_by_the_save_only_while_it_is_the_current_one():
    from ffnn_tui.core.run import RunLoop

    run = RunLoop(Trainer(RunConfig(device="cpu")))
    run.step_once()
    run.tr.add_point(0.5, 0.5, 1)
    run.drew()
    run.drew()  # more clicks before the next step: the same drawing
    assert "drawn points not saved yet (step 1): ctrl+s" in run.command_line()
    run.name_drawing("/tmp/a.csv")
    assert run.command_line().endswith("--at 1:points=/tmp/a.csv")
    run.step_once()
    run.drew()  # a second drawing, at step 2
    assert run.replays_from("/tmp/a.csv") == 1  # saving it over a.csv would break the first edit
    run.edit({"lr": 0.5})
    run.name_drawing("/tmp/b.csv")
    assert run.command_line().endswith("--at 1:points=/tmp/a.csv --at 2:points=/tmp/b.csv --at 2:lr=0.5")
    run.edit({"seed": 0})  # a start over: the drawn set is gone, a later save names nothing
    run.name_drawing("/tmp/c.csv")
    assert "c.csv" not in run.command_line()


def test_a_points_file_not_saved_from_the_run_is_one_line_exit_2(tmp_path, capsys):
    from ffnn_tui.tui.cli import main

    (tmp_path / "other.csv").write_text("x1,x2,label\n0,0,0\n1,1,1\n")
    assert (
        main(
            ["--headless", "--quiet", "--device", "cpu", "--epochs", "4", "--at", f"2:points={tmp_path / 'other.csv'}"]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert "not this run's" in err and "\n" not in err
