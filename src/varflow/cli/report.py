"""One self-contained HTML report of a results folder: ``varflow report``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from varflow.cli.common import handles_errors

IS_COMMAND = True


@handles_errors
def command(
    results: Path = typer.Option(Path("results"), "--results", help="Results folder (from varflow demo/run)."),
    out: Optional[Path] = typer.Option(None, "--out", help="HTML file to write (default RESULTS/report.html)."),
) -> None:
    """Write one self-contained HTML report (plots embedded, no network) of a results folder."""
    from varflow.report.build import build_report

    path = build_report(results, out or results / "report.html")
    typer.echo(f"report written to {path}")
