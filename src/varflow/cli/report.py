"""One self-contained HTML report of a results folder: ``varflow report``."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from varflow.cli.common import handles_errors

IS_COMMAND = True


@handles_errors
def command(
    results: Path = typer.Option(Path("results"), "--results", help="Results folder (from varflow run/demo or "
                                 "nextflow run --outdir)."),
    out: Optional[Path] = typer.Option(None, "--out", help="HTML file to write (default RESULTS/report.html)."),
    layout: Optional[str] = typer.Option(None, "--layout", help="Assemble RESULTS first from STAGED files: their "
                                         "paths in the results layout, comma-separated, one per STAGED file in "
                                         "order (the VARFLOW_REPORT process)."),
    staged: Optional[List[Path]] = typer.Argument(None, help="Files or folders to link into RESULTS (with --layout)."),
) -> None:
    """Write one self-contained HTML report (plots embedded, no network) of a results folder."""
    from varflow.report.build import assemble_results, build_report

    if layout is not None or staged:
        assemble_results(results, (layout or "").split(","), list(staged or []))
    path = build_report(results, out or results / "report.html")
    typer.echo(f"report written to {path}")
