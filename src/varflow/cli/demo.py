"""Simulate the demo cohort, run every workflow on it and write the report: ``varflow demo``."""

from __future__ import annotations

from pathlib import Path

import typer

from varflow.cli.common import command_line, handles_errors
from varflow.cli.run import OVERWRITE_HELP

IS_COMMAND = True


@handles_errors
def command(
    ctx: typer.Context,
    outdir: Path = typer.Option(Path("results"), "--outdir", help="Folder for the cohort and all results."),
    seed: int = typer.Option(0, "--seed", help="Seed for the simulation and every workflow."),
    preset: str = typer.Option("demo", "--preset", help="Cohort size preset: tiny | demo."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
    quick: bool = typer.Option(False, "--quick", help="Tiny model sizes (smoke run)."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
) -> None:
    """Simulate a cohort with known truth, run every workflow on it in-process, write the HTML report."""
    from varflow.pipelines import demo_sizes, run_all
    from varflow.report.build import build_report

    summary = run_all(outdir, preset=preset, seed=seed, device=device, quick=quick,
                      sizes=None if quick else demo_sizes(), overwrite=overwrite, command=command_line(ctx))
    report = build_report(outdir, outdir / "report.html")
    typer.echo(f"demo finished in {summary['seconds']:.0f} s; results in {outdir}/; report: {report}")
