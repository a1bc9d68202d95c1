"""The options screen (`o`): every run option in a form. Each field is checked as its flag is,
with the flag's one-line message; before applying, the form says which changes keep the weights
and which start the run over. It dismisses with the changes ({option: typed value}), or None."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static, Switch

from ...core.config import CHOICES, SPEEDS, ConfigError, RunConfig, _format, validate
from ...core.schedule import LIVE, START_OVER, edited, parse_value
from .modal import Modal

FIELDS: tuple[tuple[str, str], ...] = (
    ("dataset", "dataset"),
    ("samples", "samples"),
    ("noise", "noise"),
    ("classes", "classes"),
    ("test_fraction", "test fraction"),
    ("hidden", "hidden layers"),
    ("activation", "activation"),
    ("init", "init"),
    ("features", "input features"),
    ("optimizer", "optimizer"),
    ("lr", "learning rate"),
    ("weight_decay", "weight decay (L2)"),
    ("l1", "L1"),
    ("batch_size", "batch size (0 = full)"),
    ("backprop", "autograd (off: manual)"),
    ("seed", "seed"),
    ("epochs", "epochs (0 = no end)"),
    ("speed", "speed (steps/s)"),
)
"""(option, label) in the form's order; `speed` is the dashboard's pace, not an edit of the run."""
SWITCHES = {"backprop": ("manual", "autograd")}
"""Two-valued options shown as a Switch: (off, on)."""


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


class OptionsScreen(Modal):
    """A form of every run option; enter or Apply applies, escape cancels."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+a", "apply", "Apply", priority=True),
    ]  # before the Input's own ctrl+a (home)
    DEFAULT_CSS = """
    OptionsScreen { align: center middle; }
    OptionsScreen > Vertical { width: 100; max-width: 100%; height: auto; max-height: 100%; padding: 0 1;
                               border: round $accent; background: $surface; }
    OptionsScreen Grid { grid-size: 4; grid-columns: 22 1fr 22 1fr; grid-rows: 1; grid-gutter: 1 1; height: auto; }
    OptionsScreen Grid > Label { width: 100%; text-align: right; }
    OptionsScreen Switch { height: 1; width: 8; border: none; padding: 0; }
    OptionsScreen #verdict { height: auto; margin: 1 0 0 0; }
    OptionsScreen #buttons { height: auto; align-horizontal: right; }
    OptionsScreen Button { margin: 0 0 0 2; min-width: 10; }
    """

    def __init__(self, cfg: RunConfig):
        super().__init__()
        self.cfg = cfg
        """The run's options now (the latest snapshot's)."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("[b]Options[/b]  live ones keep the weights; the others start the run over")
            with Grid():
                for name, label in FIELDS:
                    yield Label(label)
                    yield self._field(name)
            yield Static("", id="verdict")
            with Horizontal(id="buttons"):
                yield Button("Apply", id="apply", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
            yield Label("[dim]enter or ctrl+a applies, escape cancels; edits are recorded as --at STEP:key=value[/dim]")

    def _field(self, name: str):
        value = getattr(self.cfg, name)
        if name in SWITCHES:
            return Switch(value == SWITCHES[name][1], id=name, animate=False)
        if name in CHOICES or name == "speed":
            choices = SPEEDS if name == "speed" else CHOICES[name]
            return Select([(c, c) for c in choices], value=value, allow_blank=False, id=name, compact=True)
        return Input(_format(value), id=name, compact=True, select_on_focus=True)

    def on_mount(self) -> None:
        if not self.query("#lr"):  # the app ended while the form was being built (`o` and ctrl+c in one burst)
            return
        self.query_one("#lr", Input).focus()
        self._judge()

    # ----- reading and judging the form -----
    def _raw(self, name: str):
        widget = self.query_one(f"#{name}")
        if isinstance(widget, Switch):
            return SWITCHES[name][1 if widget.value else 0]
        assert isinstance(widget, (Input, Select))
        return widget.value

    def changes(self) -> dict:
        """{option: typed value} for each field that differs from the run's option now (speed
        included); raises ConfigError with the flag's one-line message for a bad field or mix."""
        changes = {}
        for name, _ in FIELDS:
            raw = self._raw(name)
            if isinstance(raw, str) and name not in CHOICES and name not in SWITCHES and name != "speed":
                try:
                    value = parse_value(name, raw.strip())
                except ConfigError:
                    raise
                except ValueError:
                    kind = "an integer" if isinstance(getattr(self.cfg, name), int) else "a number"
                    raise ConfigError(f"{flag(name)} {raw.strip()!r}: expected {kind}") from None
            else:
                value = raw
            if value != getattr(self.cfg, name):
                changes[name] = value
        run = {k: v for k, v in changes.items() if k != "speed"}
        if run:
            validate(edited(self.cfg, run))  # the flags' own checks, on the options as they would be
        return changes

    def verdict(self, changes: dict) -> str:
        """What applying would do: which changes keep the weights, which start over."""
        live = [k for k in changes if k in LIVE or k == "speed"]
        over = [k for k in changes if k in START_OVER]
        if not changes:
            return "[dim]nothing changed yet[/dim]"
        lines = []
        if live:
            lines.append(f"[green]live, the weights stay:[/green] {', '.join(live)}")
        if over:
            lines.append(f"[b yellow]starts over[/b yellow] (new data or weights, step 0): {', '.join(over)}")
        return "\n".join(lines)

    def _judge(self) -> dict | None:
        """Show the verdict or the first error; the changes when they can be applied."""
        verdict = self.query_one("#verdict", Static)
        try:
            changes = self.changes()
        except ConfigError as e:
            verdict.update(f"[b red]{_escape(str(e))}[/b red]")
            return None
        verdict.update(self.verdict(changes))
        return changes

    def on_input_changed(self, event: Input.Changed) -> None:
        self._judge()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._judge()

    def on_switch_changed(self, event: Switch.Changed) -> None:
        self._judge()

    # ----- applying -----
    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_apply()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "apply":
            self.action_apply()
        else:
            self.action_cancel()

    def action_apply(self) -> None:
        changes = self._judge()
        if changes is not None:  # a bad field keeps the form open, its message shown
            self.dismiss(changes)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _escape(text: str) -> str:
    return text.replace("[", "\\[")
