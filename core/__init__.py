"""The engine: data, the from-scratch network, its gradients, optimizers and the Trainer.

Nothing here imports textual, rich or plotext (tests/core/test_import_hygiene.py checks it).
"""
