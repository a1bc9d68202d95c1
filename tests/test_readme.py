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


def test_ci_lint_runs_every_static_check_and_fails_with_any():
    """`.ci/run` ends with `.ci/lint`, which stops at the first failing check (set -e): ruff, mypy
    (strict on core, see pyproject.toml), import-linter; each tool comes from the test extra."""
    lint = (ROOT / ".ci" / "lint").read_text().splitlines()
    assert "set -euo pipefail" in lint
    for check in (
        "ruff check core tui tests bench",
        "ruff format --check core tui tests bench",
        "MYPYPATH=build/lint mypy -p ffnn_tui.core -p ffnn_tui.tui",
        "PYTHONPATH=build/lint lint-imports",
    ):
        assert check in lint, f".ci/lint does not run {check!r}"
    assert ".ci/lint" in (ROOT / ".ci" / "run").read_text().splitlines()
    pyproject = (ROOT / "pyproject.toml").read_text()
    for tool in ("ruff>=", "mypy>=", "import-linter>="):
        assert f'"{tool}' in pyproject, f"{tool.rstrip('>=')} is not installed by the test extra"
