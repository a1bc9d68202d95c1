"""Every key of the dashboard, in footer order: the footer, the help screen and the README list them."""

from __future__ import annotations

from textual.binding import Binding

BINDINGS = [
    Binding("space", "toggle_pause", "Pause", id="pause", tooltip="Pause or resume training"),
    Binding("n", "step", "Step", id="step", tooltip="Take one training step (while paused)"),
    Binding("q", "quit", "Quit", id="quit", tooltip="Quit"),  # early: an 80-column footer cuts the end
    Binding("question_mark", "help", "Help", key_display="?", id="help", tooltip="Keys and legend"),
    Binding("r", "reset", "Reset", id="reset", tooltip="Reset the weights with the same seed"),
    Binding("R", "reseed", "Seed", id="reseed", tooltip="Start over with a new random seed"),
    Binding("plus,equals_sign", "lr(2.0)", "lr×2", key_display="+", id="lr_up", tooltip="Double the learning rate"),
    Binding("minus", "lr(0.5)", "lr÷2", key_display="-", id="lr_down", tooltip="Halve the learning rate"),
    Binding("a", "activation", "Act", id="activation", tooltip="Next activation, live (no reset)"),
    Binding("d", "dataset", "Data", id="dataset", tooltip="Next dataset (starts over)"),
    Binding("g", "gradcheck", "Check", id="gradcheck", tooltip="Compare manual and autograd gradients"),
    Binding("l", "log_scale", "Log", id="log", tooltip="Toggle a log scale on the loss plot"),
    Binding("t", "test_points", "Test", id="test", tooltip="Show or hide the test points"),
    Binding("c", "save", "Save", id="save", tooltip="Save a checkpoint"),
    Binding("e", "export", "Export", id="export", tooltip="Export the weights (.safetensors, .npz or .json)"),
    Binding(
        "x", "x_axis", "X-axis", id="x_axis", tooltip="Loss plot's step axis: all steps, log steps, last 1000 steps"
    ),
    Binding("1", "view('boundary')", "Bound", id="view_boundary", tooltip="View: decision boundary"),
    Binding("2", "view('neurons')", "Neurons", id="view_neurons", tooltip="View: every unit's map over the plane"),
    Binding("3", "view('weights')", "Weights", id="view_weights", tooltip="View: Hinton diagrams of W_k and b_k"),
    Binding(
        "4", "view('health')", "Health", id="view_health", tooltip="View: gradient norms, update ratios, dead units"
    ),
    Binding("5", "view('confusion')", "Confusion", id="view_confusion", tooltip="View: train and test confusion"),
    Binding("6", "view('step')", "Step eq", id="view_step", tooltip="View: the last step, written out"),
    Binding(
        "left_square_bracket",
        "bracket(-1)",
        "Rewind",
        key_display="[",
        id="page_prev",
        tooltip="Rewind one frame (neurons view: previous page of units)",
    ),
    Binding(
        "right_square_bracket",
        "bracket(1)",
        "Fwd",
        key_display="]",
        id="page_next",
        show=False,
        tooltip="Forward one frame, then now (neurons view: next page of units)",
    ),
    Binding("shift+left", "rewind(-1)", "Rewind", id="rewind_back", show=False, tooltip="Rewind one frame"),
    Binding("shift+right", "rewind(1)", "Fwd", id="rewind_fwd", show=False, tooltip="Forward one frame, then now"),
    Binding(
        "ctrl+s",
        "save_points",
        "Save pts",
        id="save_points",
        show=False,
        tooltip="Save the points (train + test) as CSV for --data",
    ),
    Binding("w", "which_weights", "W/∂/Δ", id="which_weights", tooltip="Weights view: weights, gradients, last update"),
    Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
]

PAUSE_LABEL = {True: "Pause", False: "Resume"}
"""The space key's footer label, by whether the run is stepping: it says what the key does now."""
ASCII_LABELS = {"lr_up": "lr*2", "lr_down": "lr/2"}
"""Footer labels for plain terminals (--ascii): binding id -> label."""
