"""Assertions shared by the CLI tests (importable: pytest puts the rootdir conftest's folder on sys.path)."""

from __future__ import annotations


def assert_one_line_error(result, *fragments: str) -> None:
    """A typer CliRunner result that failed with exit code 1 and one ``varflow: error:`` line holding
    every fragment."""
    assert result.exit_code == 1, result.output
    assert result.output.startswith("varflow: error: ") and result.output.count("\n") == 1, result.output
    for fragment in fragments:
        assert fragment in result.output, result.output
