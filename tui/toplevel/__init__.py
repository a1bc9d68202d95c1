"""ffnn_tui: `core` (the math and the training) and `tui` (the command line and the dashboard)."""
