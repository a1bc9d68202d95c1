"""The Textual dashboard, its widgets and the `ffnn-tui` command line."""
