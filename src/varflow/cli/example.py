"""Real-data examples run end to end from public data: ``varflow example <name>``."""

from __future__ import annotations

from pathlib import Path

import typer

from varflow.cli.common import handles_errors
from varflow.shrink.example import DEFAULT_OUTDIR

app = typer.Typer(help="Run a workflow end to end on public data (downloaded once into the cache).",
                  no_args_is_help=True)


@app.callback()
def examples() -> None:
    """Real-data examples."""


@app.command("height")
@handles_errors
def height(
    outdir: Path = typer.Option(DEFAULT_OUTDIR, "--outdir", help="Folder for the cohort, the results and report.html."),
    seed: int = typer.Option(0, "--seed", help="Seed for every random choice."),
) -> None:
    """UKB height chr22 (fastGWA) shrunk with the 1000G EUR chr22 panel's LD; gene tests on fixed windows, not genes."""
    from varflow.shrink.example import run_example, summary_lines

    for line in summary_lines(run_example(outdir, seed)):
        typer.echo(line)
