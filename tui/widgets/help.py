"""The help screen: every key, the boundary's glyph legend, and the command that reproduces the run."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from .modal import Modal

HELP = """\
[b]ffnn-tui[/b] - a from-scratch feed-forward network, learning live

  [b]space[/b]  pause / resume          [b]n[/b]  one step (while paused)
  [b]r[/b]      reset weights (same seed) [b]R[/b]  start over with a new seed
  [b]+ / -[/b]  learning rate x2 / /2    [b]a[/b]  next activation (live, no reset)
  [b]d[/b]      next dataset             [b]g[/b]  gradient check (manual vs autograd)
  [b]l[/b]      log-scale loss           [b]t[/b]  show / hide test points
  [b]c[/b]      save a checkpoint        [b]e[/b]  export the weights
  [b]x[/b]      loss x-axis: all / log / last 1000 steps   [b]w[/b]  weights view: W / grad / update
  [b]< / >[/b]  slower / faster: 1, 10, 100, 1000 steps/s, max (slow motion)
  [b]o[/b]      options: a form of every option (live, or starting over)
  [b]1-6[/b]    view: 1 boundary  2 neurons  3 weights  4 health  5 confusion  6 step
  [b]\\[ / ][/b]  rewind a frame back / forward (also shift+left / right; neurons view: page)
  [b]mouse[/b]  on the boundary: click adds a point, right click / shift+click removes the nearest;
         while it is focused 0-9 pick the class (esc: done)   [b]ctrl+s[/b]  save the points
  [b]?[/b]      this help   [b]q[/b]  quit (also ctrl+c)   [b]ctrl+p[/b]  all commands: save as..., theme

Files saved without a path (c, e, screenshots) go to {folder}

Boundary pane: background = predicted class ([b].:[/b] class 0, [b]-=[/b] class 1, ...),
denser glyph = more confident, blank = unsure. Points: [b]o[/b] class 0, [b]x[/b] class 1,
[b]+[/b] 2, [b]*[/b] 3 ...; test points are underlined/reversed.

Reproduce this run:
  {command}

[dim]press any key to close[/dim]"""


class HelpScreen(Modal):
    """Keys, glyph legend and the command that reproduces the run."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Static { width: auto; max-width: 100%; height: auto; padding: 1 2; border: round $accent; background: $surface; }
    """

    def __init__(self, command: str, folder: str = ""):
        super().__init__()
        self.command = command
        self.folder = folder
        """The data folder that c, e and screenshots use without a path."""

    def compose(self) -> ComposeResult:
        yield Static(HELP.format(command=self.command.replace("[", "\\["), folder=self.folder.replace("[", "\\[")))

    def on_key(self, event) -> None:
        event.stop()
        self.dismiss()  # keys that arrive together (a paste, a laggy link) dismiss it once (Modal)
