"""The health pane: per layer, how big the gradient is (a log-scale bar), how big the last update is
against the 1e-3 rule of thumb, and how many units are dead (relu) or saturated (tanh, sigmoid).

`W1 ‖g‖ 3.2e-02 [#######.......]  Δ/p 1.1e-03 ~guide  dead 2/8 (25%)` on one line where the
width allows, else two lines per layer.
"""

from __future__ import annotations

import math
from typing import Any

from rich.text import Text
from textual import events

from ...core.inside import LayerHealth
from .neurons import fit_lines
from .view_pane import ViewPane

LOG_LO, LOG_HI = -8.0, 2.0
"""The gradient-norm bar spans 1e-8 .. 1e2 on a log10 scale."""
VANISHING, EXPLODING = 1e-6, 1e1
"""Gradient norms below / above these are coloured as a problem."""
GUIDE = 1e-3
"""The rule-of-thumb ‖update‖ / ‖param‖."""
MARKERS = {-2: "≪guide", -1: "<guide", 0: "~guide", 1: ">guide", 2: "≫guide"}
"""By decades away from GUIDE (rounded, clipped to ±2)."""
BAR_MIN, BAR_MAX = 8, 20
"""Width of the bar's inside."""


def _e(v: float) -> str:
    return f"{v:.1e}" if math.isfinite(v) else "   -   "


def grad_bar(g: float, inner: int) -> Text:
    """`[####......]`: filled to log10(g) between LOG_LO and LOG_HI; blank inside when g is unknown."""
    if not math.isfinite(g):
        return Text("[" + " " * inner + "]", style="dim")
    pos = 0.0 if g <= 0 else min(1.0, max(0.0, (math.log10(g) - LOG_LO) / (LOG_HI - LOG_LO)))
    filled = round(pos * inner)
    colour = "yellow" if g < VANISHING else "red" if g > EXPLODING else "green"
    bar = Text("[")
    bar.append("#" * filled, style=colour)
    bar.append("." * (inner - filled), style="dim")
    bar.append("]")
    return bar


def guide_marker(ratio: float) -> tuple[str, str]:
    """Marker text and its colour for ‖Δ‖/‖p‖ against GUIDE."""
    if not math.isfinite(ratio) or ratio <= 0:
        return "", "dim"
    d = max(-2, min(2, round(math.log10(ratio / GUIDE))))
    return MARKERS[d], ("green" if d == 0 else "yellow" if abs(d) == 1 else "red")


def bad_units_text(h: LayerHealth, short: bool = False) -> Text:
    """`dead 2/8 (25%)` ('sat' for saturated); empty for the output layer."""
    if not h.problem:
        return Text()
    if not h.rows:
        return Text(f"{'dead' if h.problem == 'dead' else 'sat'} -", style="dim")
    n = len(h.bad_units)
    word = "dead" if h.problem == "dead" else "sat"
    pct = "" if short else f" ({h.bad_fraction:.0%})"
    return Text(f"{word} {n}/{h.units}{pct}", style="bold red" if n else "green")


def layer_lines(h: LayerHealth, width: int) -> list[Text]:
    head = Text(f"{h.name} ", style="bold")
    head.append(f"‖g‖ {_e(h.grad_norm)} ")
    marker, colour = guide_marker(h.update_ratio)
    ratio = Text(f"Δ/p {_e(h.update_ratio)}")
    if marker:
        ratio.append(" " + marker, style=colour)
    bad = bad_units_text(h)
    tail = Text("  ").join([t for t in (ratio, bad) if t.plain])
    one_line = width - head.cell_len - 2 - 2 - tail.cell_len  # room for the bar's inside
    if one_line >= BAR_MIN:
        return [head + grad_bar(h.grad_norm, min(BAR_MAX, one_line)) + Text("  ") + tail]
    inner = max(1, min(BAR_MAX, width - head.cell_len - 2))
    second = Text("  ") + tail
    if second.cell_len > width:
        second = Text("  ") + Text("  ").join([t for t in (ratio, bad_units_text(h, short=True)) if t.plain])
    return [head + grad_bar(h.grad_norm, inner), second]


def health_text(
    layers: tuple[LayerHealth, ...], width: int, height: int | None = None, show_units: bool = True
) -> Text:
    """One block per layer; with show_units, the dead/saturated unit labels (`h1[2,5]`) after it."""
    if not layers:
        return Text("no layers", style="dim")
    legend = "  ‖g‖ bar 1e-8..1e2, Δ/p guide 1e-3"
    head = f"layer health, {layers[0].rows} rows"
    lines = [Text(head + (legend if len(head) + len(legend) <= width else ""), style="dim")]
    for h in layers:
        lines += layer_lines(h, width)
        if show_units and h.bad_units:
            lines.append(Text(f"  {h.problem}: h{h.layer}[{','.join(map(str, h.bad_units))}]", style="red"))
    return fit_lines(lines, width, height)


class HealthPane(ViewPane):
    """Gradient norms, update ratios and dead or saturated units, per layer."""

    DEFAULT_CSS = "HealthPane { width: 1fr; height: auto; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("waiting for the first snapshot...", **kwargs)
        self._layers: tuple[LayerHealth, ...] | None = None

    def show(self, layers: tuple[LayerHealth, ...]) -> None:
        self._layers = layers
        self._draw()

    def on_resize(self, event: events.Resize) -> None:
        self._draw()

    def _draw(self) -> None:
        if self._layers is not None:
            self.update(health_text(self._layers, self.content_size.width or 56))
