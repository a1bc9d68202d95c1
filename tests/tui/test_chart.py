"""The text chart behind the loss pane (tui/widgets/chart.py): braille curves, frame, ticks, lines
and labels, cell by cell. Geometry: y tick labels, the frame's left side, the plot's columns, the
frame's right side; the frame's top, the plot's rows, the frame's bottom, the x tick labels, the x label."""

from __future__ import annotations

from ffnn_tui.tui.widgets.chart import BRAILLE, Chart, Label, Series, cells


def lines(chart: Chart, width: int, height: int, ascii: bool = False) -> list[str]:
    out = ["".join(chars for chars, _ in row) for row in cells(chart, width, height, ascii).runs()]
    assert len(out) == height and all(len(line) == width for line in out)
    return out


def dots(line: str) -> list[int]:
    """The braille dot bits of each cell of a line (0 for any other character)."""
    return [ord(c) - 0x2800 if 0x2800 <= ord(c) <= 0x28FF else 0 for c in line]


def test_a_rising_line_runs_corner_to_corner_in_braille():
    chart = Chart((0, 1), (0, 1), (Series((0.0, 1.0), (0.0, 1.0), "cyan", BRAILLE),), yticks=((0, "0"), (1, "1")))
    out = lines(chart, 11, 8)  # labels 1 column wide: an 8 x 4 plot in columns 2..9, rows 1..4
    plot = [line[2:10] for line in out[1:5]]
    assert out[0] == " ┌────────┐" and out[5] == " └────────┘"
    assert dots(plot[3])[0] & 0x40 and dots(plot[0])[-1] & 0x08  # bottom-left and top-right dots
    for r, row in enumerate(plot):  # 16 x 16 dots, a diagonal: each row of cells lit in its own two columns
        assert [c for c, bits in enumerate(dots(row)) if bits] == [6 - 2 * r, 7 - 2 * r], (r, row)
    assert out[1][:2] == "1┤" and out[4][:2] == "0┤" and out[2][:2] == " │"


def test_every_dot_between_two_points_is_drawn():
    chart = Chart((0, 1), (0, 1), (Series((0.0, 1.0), (0.5, 0.5), "cyan"),))
    out = lines(chart, 12, 7)  # no y ticks: a 10 x 3 plot
    assert sum(bin(b).count("1") for line in out[1:4] for b in dots(line)) == 20  # 20 dot columns, one dot each


def test_markers_ticks_vertical_lines_and_labels():
    chart = Chart(
        (0, 10),
        (0, 1),
        (Series((0.0, 10.0), (1.0, 1.0), "dark_orange", "·"),),
        xticks=((0, "0"), (5, "5"), (10, "10")),
        xlabel="step",
        vlines=((5, "bright_black"),),
        labels=(Label("lr 0.1", 5, 1, "bright_black"), Label("step 3", 3, -1, "bright_white")),
    )
    out = lines(chart, 13, 9)  # an 11 x 5 plot in columns 1..11, rows 1..5
    assert out[1][1:12] == "·" * 11  # a marker on every cell of its line, over the vertical line
    assert out[2][1:12] == "  lr 0.1   "  # centred on x = 5, the plot's middle column (as marker_labels places it)
    assert out[3][6] == out[4][6] == "│"  # the vertical line at x = 5
    assert out[5][1:12] == "step 3     "  # a negative row counts from the bottom
    assert out[6] == "└" + "┬" + "─" * 4 + "┬" + "─" * 4 + "┬┘"
    assert out[7].split() == ["0", "5", "10"] and out[8].strip() == "step"


def test_ascii_frames_and_a_chart_too_small_is_blank():
    chart = Chart((0, 1), (0, 1), (Series((0.0, 1.0), (0.0, 1.0), "", "*"),), yticks=((0, "0"), (1, "1")))
    out = lines(chart, 11, 8, ascii=True)
    assert all(line.isascii() for line in out) and out[0] == " +--------+" and out[1][:2] == "1+"
    assert "".join(out).count("*") == 8  # one marker a column
    assert lines(chart, 3, 3) == ["   "] * 3
    assert cells(chart, 0, 0).runs() == []


def test_x_tick_labels_that_would_touch_are_left_out():
    chart = Chart((0, 1000), (0, 1), xticks=tuple((v, str(v)) for v in range(0, 1001, 100)))
    out = lines(chart, 14, 6)
    assert out[4] == " 0 300 600    "  # each label centred on its tick unless it would touch the last one
    assert out[3].count("┬") == 11  # every tick keeps its mark
