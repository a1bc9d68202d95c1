"""The README's two commands are the ones CI runs."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = 'python -m pip install -e ".[test]" && python -m pytest'
    assert test_command in readme
    assert test_command in ci.splitlines()


def test_readme_documents_every_flag_and_key():
    from ffnn_tui.tui.app import FfnnApp
    from ffnn_tui.tui.flags import build_parser

    readme = (ROOT / "README.md").read_text()
    flags = [o for a in build_parser()._actions for o in a.option_strings if o.startswith("--") and o != "--help"]
    missing = [f for f in flags if f"`{f}" not in readme]
    assert not missing, f"flags missing from the README: {missing}"
    for binding in FfnnApp.BINDINGS:
        key = binding.key_display or binding.key.split(",")[0]
        assert f"`{key}`" in readme, f"key {key} missing from the README"
