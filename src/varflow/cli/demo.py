"""Simulate the demo cohort and run every workflow on it: ``varflow demo``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from varflow.cli.common import handles_errors, log
from varflow.io.atomic import ensure_writable_dir
from varflow.pipelines import available_workflows, run_workflow

IS_COMMAND = True


@handles_errors
def command(
    outdir: Path = typer.Option(Path("results"), "--outdir", help="Folder for the cohort and all results."),
    seed: int = typer.Option(0, "--seed", help="Seed for the simulation and every workflow."),
    preset: str = typer.Option("demo", "--preset", help="Cohort size preset: tiny | demo."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
    quick: bool = typer.Option(False, "--quick", help="Tiny model sizes (smoke run)."),
) -> None:
    """Simulate a cohort with known truth and run every workflow on it, in-process."""
    from varflow.simulate.cohort import SimulationConfig, build_cohort

    ensure_writable_dir(outdir)
    start = time.perf_counter()
    log.info("simulating the %s cohort (seed %d) -> %s", preset, seed, outdir / "cohort")
    build_cohort(SimulationConfig.preset(preset, seed=seed), outdir / "cohort")
    summary = {"cohort": str(outdir / "cohort")}
    for workflow in available_workflows():
        log.info("running %s", workflow)
        summary[workflow] = run_workflow(workflow, outdir / workflow, cohort=outdir / "cohort", seed=seed,
                                         device=device, quick=quick)
    summary["seconds"] = round(time.perf_counter() - start, 1)
    with open(outdir / "summary.json", "w") as handle:
        json.dump(summary, handle, indent=2, default=str)
    typer.echo(f"demo finished in {summary['seconds']} s; results in {outdir}/ (summary: {outdir}/summary.json)")
