"""One module per pane: status line, shapes table, loss plot, decision boundary."""
