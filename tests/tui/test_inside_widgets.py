"""The inside-the-network renderers, as plain text: labels, glyphs by sign and size, notes, widths.

Most inputs are dataclasses built here by hand (known values, known glyphs); a few come from
core.inside on a real network to check the two fit together.
"""

from __future__ import annotations

import math

import pytest
import torch
from rich.cells import cell_len
from textual.app import App

from ffnn_tui.core import inside
from ffnn_tui.core.inside import Confusion, LayerHealth, LayerMaps, Matrix, NeuronMaps, UnitMap
from ffnn_tui.core.network import init_params
from ffnn_tui.tui.widgets import neurons, step, weights
from ffnn_tui.tui.widgets.confusion import ConfusionPane, confusion_text
from ffnn_tui.tui.widgets.health import HealthPane, health_text
from ffnn_tui.tui.widgets.neurons import NeuronsPane, neurons_text
from ffnn_tui.tui.widgets.weights import WeightsPane, cursor_label, value_at, weights_text

WIDTHS = (120, 56, 36)


def lines_of(text) -> list[str]:
    return text.plain.split("\n")


def assert_fits(text, width: int, height: int | None = None) -> None:
    lines = lines_of(text)
    assert all(cell_len(line) <= width for line in lines), [line for line in lines if cell_len(line) > width]
    if height is not None:
        assert len(lines) <= height


def tutorial_net(hidden=(8,), classes=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    p = init_params([2, *hidden, classes], "he", g, torch.float64, torch.device("cpu"))
    for name, t in p.items():
        if name.startswith("b"):
            t.copy_(0.3 * torch.randn(t.shape, generator=g, dtype=torch.float64))
    return p


def one_unit_maps(values, label="h1[0]") -> NeuronMaps:
    """One hidden layer holding one unit with the given rows of values (scale = max |value|)."""
    scale = max(abs(v) for row in values for v in row if math.isfinite(v))
    u = UnitMap(label, 1, 0, tuple(tuple(r) for r in values), scale)
    layer = LayerMaps(1, False, "tanh", 1, 0, (u,), 0, scale)
    return NeuronMaps((layer,), (-1, 1, -1, 1), len(values[0]), len(values))


# ---------------------------------------------------------------- neurons


def test_glyph_sets_for_the_two_signs_share_nothing():
    assert not set(neurons.POS_GLYPHS) & set(neurons.NEG_GLYPHS)
    assert " " not in neurons.POS_GLYPHS + neurons.NEG_GLYPHS
    assert not set(weights.POS_GLYPHS) & set(weights.NEG_GLYPHS)
    assert not set(weights.ASCII_POS) & set(weights.ASCII_NEG)


def test_a_ramp_of_values_reads_by_sign_and_size_without_colour():
    row = [-1.0, -0.5, -0.2, 0.0, 0.2, 0.5, 1.0]
    tile_row = lines_of(neurons_text(one_unit_maps([row]), 56))[2]
    P, N = neurons.POS_GLYPHS, neurons.NEG_GLYPHS
    assert tile_row == N[5] + N[2] + N[0] + " " + P[0] + P[2] + P[5]  # level round(|v| * 6), glyph level - 1
    flipped = lines_of(neurons_text(one_unit_maps([[-v for v in row]]), 56))[2]
    assert flipped != tile_row and flipped == tile_row.translate(str.maketrans(N + P, P + N))


def test_colour_tells_the_signs_apart_too():
    text = neurons_text(one_unit_maps([[-1.0, 1.0]]), 56)
    styles = {text.plain[s.start : s.end]: s.style for s in text.spans}
    neg, pos = styles[neurons.NEG_GLYPHS[-1]], styles[neurons.POS_GLYPHS[-1]]
    assert neg.color != pos.color
    assert neg.color.triplet.blue > neg.color.triplet.red and pos.color.triplet.red > pos.color.triplet.blue


def test_nan_shows_as_its_own_glyph():
    plain = neurons_text(one_unit_maps([[math.nan, 1.0]]), 56).plain
    assert neurons.BAD_GLYPH + neurons.POS_GLYPHS[-1] in plain


def test_real_maps_have_layer_headings_labels_and_the_left_out_count():
    p = tutorial_net(hidden=(32, 4), classes=3)
    m = inside.neuron_maps(p, "relu", (-2, 2, -2, 2), 10, 5, max_units=8)
    plain = neurons_text(m, 56).plain
    assert "layer 1: 32 units (relu), showing 0-7" in plain
    assert "layer 2: 4 units (relu)" in plain and "output: 3 units (softmax)" in plain
    assert "… 24 more (key ] pages)" in plain
    for label in [f"h1[{j}]" for j in range(8)] + [f"h2[{j}]" for j in range(4)] + ["out[0]", "out[2]"]:
        assert label in plain
    assert "h1[8]" not in plain
    assert plain.index("layer 1") < plain.index("layer 2") < plain.index("output")


@pytest.mark.parametrize("width,across", [(56, 5), (36, 3), (20, 1)])
def test_tiles_across_follow_the_width(width, across):
    p = tutorial_net(hidden=(8,))
    m = inside.neuron_maps(p, "tanh", (-2, 2, -2, 2), 10, 5, max_units=8)
    text = neurons_text(m, width)
    assert_fits(text, width)
    label_line = lines_of(text)[1]
    assert label_line.split() == [f"h1[{j}]" for j in range(across)]


def test_height_is_respected_and_says_there_is_more():
    p = tutorial_net(hidden=(8,))
    m = inside.neuron_maps(p, "relu", (-2, 2, -2, 2), 10, 5)
    text = neurons_text(m, 56, height=8)
    assert_fits(text, 56, 8)
    assert "more" in lines_of(text)[-1]


def test_a_dead_unit_is_marked_in_its_label():
    p = tutorial_net(hidden=(8,))
    p["b1"][3] = -1e3
    m = inside.neuron_maps(p, "relu", (-2, 2, -2, 2), 10, 5)
    plain = neurons_text(m, 56, dead={"h1[3]"}).plain
    assert "h1[3]" + neurons.DEAD_MARK in plain and "h1[2]" + neurons.DEAD_MARK not in plain


def test_the_dead_mark_survives_a_narrow_tile():
    maps = one_unit_maps([[1.0, -1.0, 0.5, 0.2, 0.1]], label="h12[345]")
    assert lines_of(neurons_text(maps, 56, dead={"h12[345]"}))[1].rstrip() == "h12[" + neurons.DEAD_MARK


# ---------------------------------------------------------------- weights


def test_the_tutorial_net_shows_every_entry_with_its_shape():
    p = tutorial_net()
    ms = inside.weight_matrices(p, max_cols=weights.max_cols_for(56))
    lines = lines_of(weights_text(ms, 56))
    assert (
        lines[0].startswith("W1 (2, 8)")
        and any(l.startswith("b1 (8,)") for l in lines)
        and any(l.startswith("W2 (8, 2)") for l in lines)
    )
    assert "pooled" not in "\n".join(lines)
    w1_rows = lines[1:3]
    glyphs = set(weights.POS_GLYPHS + weights.NEG_GLYPHS)
    for r, line in enumerate(w1_rows):
        cells = line.split(" ")
        assert len(cells) == 8
        for c, g in enumerate(cells):  # sign by glyph set, one cell per entry
            v = float(p["W1"][r, c])
            expect = weights.NEG_GLYPHS if v < 0 else weights.POS_GLYPHS
            assert g in expect and g in glyphs, (r, c, v, g)


def test_hinton_glyph_grows_with_magnitude():
    m = Matrix("W1", "params", (1, 5), ((0.25, 0.5, 1.0, -0.5, -1.0),), False, (0, 1), (0, 1, 2, 3, 4, 5), 1.0)
    row = lines_of(weights_text((m,), 56))[1]
    P, N = weights.POS_GLYPHS, weights.NEG_GLYPHS
    assert row == " ".join([P[0], P[1], P[3], N[1], N[3]])
    ascii_row = lines_of(weights_text((m,), 56, ascii=True))[1]
    assert ascii_row == " ".join(
        [weights.ASCII_POS[0], weights.ASCII_POS[1], weights.ASCII_POS[3], weights.ASCII_NEG[1], weights.ASCII_NEG[3]]
    )


def test_the_legend_names_each_glyph_set_by_sign_small_to_large():
    for ascii, pos, neg in (
        (False, weights.POS_GLYPHS, weights.NEG_GLYPHS),
        (True, weights.ASCII_POS, weights.ASCII_NEG),
    ):
        text = weights.legend(ascii)
        assert text.plain.startswith(f"{pos} >0  {neg} <0  size")
        assert text.plain.isascii() == ascii
        colours = {str(s.style.color) for s in text.spans if not isinstance(s.style, str) and s.style.color}
        assert len(colours) >= 2 * len(pos) - 1  # every glyph in its own shade of the sign's colour
        assert_fits(text, 36)


def test_a_pooled_matrix_says_so_and_fits():
    p = {"W1": torch.randn(64, 100, dtype=torch.float64), "b1": torch.randn(100, dtype=torch.float64)}
    for width in WIDTHS:
        ms = inside.weight_matrices(p, max_rows=12, max_cols=weights.max_cols_for(width))
        text = weights_text(ms, width)
        assert_fits(text, width)
        plain = text.plain
        assert "W1 (64, 100)" in plain and f"pooled 64x100 → 12x{weights.max_cols_for(width)}" in plain
        assert "b1 (100,)" in plain


def test_value_at_and_the_cursor_line():
    p = tutorial_net()
    ms = inside.weight_matrices(p)
    assert value_at(ms, 0, 1, 3) == pytest.approx(float(p["W1"][1, 3]))
    assert value_at(ms, 1, 0, 5) == pytest.approx(float(p["b1"][5]))
    assert cursor_label(ms, 0, 1, 3) == f"W1[1,3] = {float(p['W1'][1, 3]):.4g}"
    assert cursor_label(ms, 1, 0, 5) == f"b1[5] = {float(p['b1'][5]):.4g}"
    text = weights_text(ms, 56, cursor=(0, 1, 3))
    assert lines_of(text)[0] == cursor_label(ms, 0, 1, 3)
    assert any(s.style.reverse for s in text.spans if not isinstance(s.style, str))
    big = inside.weight_matrices({"W1": torch.ones(40, 30), "b1": torch.ones(30)}, max_rows=10, max_cols=6)
    assert cursor_label(big, 0, 1, 2) == "W1[4:8,10:15] mean = 1"


def test_gradients_and_updates_are_titled_as_such_and_none_yet_says_so():
    p = tutorial_net()
    g = inside.weight_matrices(p, "grads", grads={k: -v for k, v in p.items()})
    assert lines_of(weights_text(g, 56))[0].startswith("∂W1 (2, 8)")
    assert "no values yet" in weights_text(inside.weight_matrices(p, "grads"), 56).plain


# ---------------------------------------------------------------- health


def layer(name="W1", k=1, units=8, g=3.2e-2, ratio=1.1e-3, problem="dead", bad=(2, 5), rows=100) -> LayerHealth:
    frac = len(bad) / units if problem else math.nan
    return LayerHealth(k, name, units, g, ratio, problem, bad, frac, rows)


def bar_of(line: str) -> str:
    return line[line.index("[") + 1 : line.index("]")]


def test_health_line_reads_like_the_example():
    line = lines_of(health_text((layer(),), 100))[1]
    assert line.startswith("W1 ‖g‖ 3.2e-02 [")
    assert "Δ/p 1.1e-03 ~guide" in line and line.endswith("dead 2/8 (25%)")
    assert "dead: h1[2,5]" in health_text((layer(),), 100).plain


@pytest.mark.parametrize("g,fraction", [(1e-8, 0.0), (1e-3, 0.5), (1e2, 1.0), (1e-11, 0.0), (1e5, 1.0)])
def test_gradient_bar_is_log_scaled(g, fraction):
    bar = bar_of(lines_of(health_text((layer(g=g),), 100))[1])
    assert bar.count("#") == round(fraction * len(bar)) and set(bar) <= {"#", "."}


@pytest.mark.parametrize(
    "ratio,marker",
    [(1e-3, "~guide"), (2e-3, "~guide"), (2e-4, "<guide"), (1e-5, "≪guide"), (2e-2, ">guide"), (5.0, "≫guide")],
)
def test_update_ratio_marker_against_the_guide(ratio, marker):
    assert marker in health_text((layer(ratio=ratio),), 100).plain


def test_saturated_output_and_unknown_values():
    plain = health_text(
        (layer(problem="saturated", bad=(1,), units=4), layer("W2", 2, 2, math.nan, math.nan, "", ())), 100
    ).plain
    assert "sat 1/4 (25%)" in plain and "saturated: h1[1]" in plain
    w2 = [l for l in plain.split("\n") if l.startswith("W2")][0]
    assert "dead" not in w2 and "sat" not in w2 and "‖g‖    -" in w2


@pytest.mark.parametrize("width", WIDTHS)
def test_health_fits_the_width_and_keeps_the_numbers(width):
    text = health_text(
        (layer(), layer("W2", 2, 32, 5e-7, 2e-6, "dead", tuple(range(12))), layer("W3", 3, 2, 1.0, 0.3, "", ())), width
    )
    assert_fits(text, width)
    plain = text.plain
    for s in ("W1 ‖g‖ 3.2e-02", "W2 ‖g‖ 5.0e-07", "W3 ‖g‖ 1.0e+00", "Δ/p 1.1e-03", "dead 2/8", "dead 12/32"):
        assert s in plain, s


# ---------------------------------------------------------------- confusion


def conf(counts) -> Confusion:
    rows = [sum(r) for r in counts]
    per = tuple(counts[t][t] / n if n else math.nan for t, n in enumerate(rows))
    N = sum(rows)
    return Confusion(tuple(map(tuple, counts)), per, N, sum(counts[k][k] for k in range(len(counts))) / N)


TRAIN = conf([[50, 3, 0], [7, 40, 1], [0, 0, 0]])
TEST = conf([[12, 1, 0], [2, 9, 0], [0, 0, 0]])


def test_train_and_test_side_by_side_at_half_screen():
    lines = lines_of(confusion_text(TRAIN, TEST, 56))
    assert "train acc 89%  n=101" in lines[0] and "test acc 88%" in lines[0]
    assert lines[1].split() == ["t\\p", "0", "1", "2", "acc", "t\\p", "0", "1", "2", "acc"]
    assert lines[2].split() == ["0", "50", "3", "0", "94%", "0", "12", "1", "0", "92%"]
    assert lines[4].split() == ["2", "0", "0", "0", "-", "2", "0", "0", "0", "-"]  # no rows of class 2
    assert_fits(confusion_text(TRAIN, TEST, 56), 56)


def test_narrow_stacks_the_two_blocks():
    text = confusion_text(TRAIN, TEST, 36)
    assert_fits(text, 36)
    lines = lines_of(text)
    assert lines[0].startswith("train") and not any("test" in l for l in lines[:5])
    assert any(l.startswith("test") for l in lines[5:])


def test_real_confusion_renders_its_counts():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 4, (200,), generator=g)
    c = inside.confusion(torch.randn(200, 4, generator=g), y, 4)
    lines = lines_of(confusion_text(c, None, 56))
    for t in range(4):
        assert [int(v) for v in lines[2 + t].split()[1:5]] == list(c.counts[t])


# ---------------------------------------------------------------- the widgets in an app


class Panes(App):
    def compose(self):
        yield NeuronsPane(id="n")
        yield WeightsPane(id="w")
        yield HealthPane(id="h")
        yield ConfusionPane(id="c")


async def test_each_pane_shows_its_data():
    p = tutorial_net()
    X = torch.randn(50, 2, dtype=torch.float64)
    app = Panes()
    async with app.run_test(size=(56, 80)) as pilot:
        app.query_one(NeuronsPane).show(inside.neuron_maps(p, "relu", (-2, 2, -2, 2), 10, 4), dead={"h1[0]"})
        app.query_one(WeightsPane).show(inside.weight_matrices(p), cursor=(0, 0, 0))
        app.query_one(HealthPane).show(inside.layer_health(p, "relu", X))
        app.query_one(ConfusionPane).show(TRAIN, TEST)
        await pilot.pause()
        assert "h1[0]" + neurons.DEAD_MARK in str(app.query_one(NeuronsPane).render())
        shown = str(app.query_one(WeightsPane).render())
        assert "W1 (2, 8)" in shown and weights.legend().plain in shown and "W1[0,0] =" in shown
        assert "W1 ‖g‖" in str(app.query_one(HealthPane).render())
        assert "train acc" in str(app.query_one(ConfusionPane).render())


# ---------------------------------------------------------------- the step, written out


def _stepped_rows(*argv: str):
    from ffnn_tui.core import probes
    from ffnn_tui.tui.cli import build_trainer

    tr = build_trainer(["--device", "cpu", *argv])
    tr.step()
    before = {k: v.clone() for k, v in tr.params.items()}
    tr.step()
    return probes.step_rows(tr, before)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_each_value_column_has_the_right_heading(optimizer):
    """‖lhs‖ over rows whose number is their left-hand side's norm; the update rows, whose number is
    the change they made, under ‖ΔW‖; the moments (velocity, m, v) under ‖lhs‖ again."""
    rows = _stepped_rows("--optimizer", optimizer, "--weight-decay", "0.01")
    lines = lines_of(step.step_text(rows, 2, 78))
    heading = ""
    for line in lines:
        words = line.split()
        if line.startswith(("step 2", "-- ")):
            heading = words[-1]
            assert heading in ("‖lhs‖", "‖ΔW‖"), line
        elif " -= " in line:
            assert heading == "‖ΔW‖", line
        elif words and words[0][0] in "zhldmv" and "=" in line and not line.startswith("loss"):
            assert heading == "‖lhs‖", line
    assert any(l.startswith("-- update") and l.endswith("‖ΔW‖") for l in lines)
    if optimizer != "sgd":
        assert any(l.startswith("-- moments") for l in lines)


@pytest.mark.parametrize("width", [78, 51, 36])
def test_the_step_fits_its_width_and_keeps_the_result_shapes(width):
    """120x36 gives the step view 78 columns (whole products where they fit), 80x24 gives 51 (every
    result's shape still shown); narrower drops shapes before the numbers."""
    rows = _stepped_rows("--dataset", "spiral", "--classes", "3", "--hidden", "16,16", "--samples", "300")
    text = step.step_text(rows, 2, width)
    assert_fits(text, width)
    plain = text.plain
    if width >= 51:
        for r in rows:
            result = r.shapes.rsplit("-> ", 1)[-1]
            assert any(l.startswith(r.text) and result in l for l in plain.split("\n")), r.text
    if width == 78:
        assert "(16, 240) @ (240, 3) -> (16, 3)" in plain
    for r in rows:  # every number is on screen, whatever the width
        if r.label and r.label != "loss":
            assert f"{r.value:.4g}" in plain


def test_combining_marks_do_not_shift_the_columns():
    rows = _stepped_rows("--optimizer", "adam")
    lines = lines_of(step.step_text(rows, 2, 78))
    starts = {cell_len(l[: l.rindex(" ") + 1]) for l in lines if l.startswith(("W1 -= ", "z1 = ", "dW1 = "))}
    assert len(starts) == 1  # the numbers of m̂/v̂ rows start in the same terminal column as the others
