"""Run whole workflows in-process (sequential, no caching): ``varflow run <workflow>``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from varflow.cli.common import command_line, handles_errors
from varflow.pipelines import available_workflows, run_workflow

app = typer.Typer(help="Run a whole workflow in-process on a cohort folder or a params file "
                       "(a laptop convenience; Nextflow runs the same steps at scale).",
                  no_args_is_help=True)

OVERWRITE_HELP = ("Clear a workflow's folder (only it) first when it holds another run's results (other params or "
                  "inputs, or no run.json); without it such a rerun is refused. A rerun with the same params and "
                  "inputs (e.g. resuming s2e training) needs no --overwrite.")


def _workflow_command(workflow: str):
    @handles_errors
    def command(
        ctx: typer.Context,
        outdir: Optional[Path] = typer.Option(None, "--outdir", help="Results folder: the workflow writes "
                                              "OUTDIR/<workflow>/, as nextflow run --outdir publishes (required "
                                              "with --cohort; default with --params: its outdir)."),
        cohort: Optional[Path] = typer.Option(None, "--cohort", help="A cohort folder (with cohort.yaml)."),
        params: Optional[Path] = typer.Option(None, "--params", help="A Nextflow params file (YAML/JSON, as "
                                              "nextflow -params-file) naming a cohort folder; validated "
                                              "against nextflow_schema.json."),
        seed: Optional[int] = typer.Option(None, "--seed", help="Seed for every random choice "
                                           "[default: the params file's seed, else 0 with --cohort, 42 with --params]."),
        device: Optional[str] = typer.Option(None, "--device", help="auto | cpu | cuda [default: auto; "
                                             "with --params, use_gpu true/false means cuda/cpu]."),
        quick: bool = typer.Option(False, "--quick", help="Tiny model sizes (tests, smoke runs); sizes set in "
                                   "the params file still apply."),
        overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    ) -> None:
        figures = run_workflow(workflow, outdir, cohort=cohort, params=params, seed=seed, device=device,
                               quick=quick, overwrite=overwrite, command=command_line(ctx))
        typer.echo(json.dumps({"workflow": workflow, **figures}, default=str))

    command.__doc__ = f"Run the {workflow} workflow end to end."
    return command


for _name in available_workflows():
    app.command(name=_name)(_workflow_command(_name))


@app.command("all")
@handles_errors
def run_all_command(
    ctx: typer.Context,
    outdir: Path = typer.Option(..., "--outdir", help="Folder for the cohort and every workflow's outputs."),
    cohort: Optional[Path] = typer.Option(None, "--cohort", help="Use this cohort folder instead of simulating one."),
    preset: str = typer.Option("demo", "--preset", help="Cohort size preset when simulating: tiny | demo."),
    seed: int = typer.Option(0, "--seed", help="Seed for every random choice."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
    quick: bool = typer.Option(False, "--quick", help="Tiny model sizes (tests, smoke runs)."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
) -> None:
    """Simulate a cohort (or use --cohort) and run every workflow on it."""
    from varflow.pipelines import run_all

    summary = run_all(outdir, cohort=cohort, preset=preset, seed=seed, device=device, quick=quick,
                      overwrite=overwrite, command=command_line(ctx))
    typer.echo(json.dumps(summary, default=str))
