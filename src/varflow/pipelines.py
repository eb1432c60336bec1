"""The in-process engine: run whole workflows sequentially on one machine, no Nextflow, no caching.

Each workflow package provides ``varflow.<wf>.pipeline`` with ``run_from_cohort``; a workflow is offered
only once that module exists. A user's own data come in as a cohort folder, named directly (``--cohort``)
or by a Nextflow params file (``--params``, checked by ``varflow.params``).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from varflow.errors import VarflowError
from varflow.io.atomic import atomic_path, ensure_writable_dir
from varflow.io.cohort import Cohort
from varflow.io.provenance import Provenance
from varflow.layout import step_path, workflow_dir
from varflow.versions import write_software_versions
from varflow.params import check_cohort, workflow_inputs
from varflow.run_record import RunRecord, check_folder, clear_folder, describe_inputs, recorded

log = logging.getLogger("varflow")

# Order matters for `run all`: s2e runs before eqtl so that its variant effects can feed eqtl.
WORKFLOWS = ("shrink", "s2e", "eqtl")


def available_workflows() -> list[str]:
    return [wf for wf in WORKFLOWS if importlib.util.find_spec(f"varflow.{wf}.pipeline") is not None]


def _pipeline(workflow: str):
    if workflow not in available_workflows():
        raise VarflowError(f"unknown workflow {workflow!r}; available: {', '.join(available_workflows())}")
    return importlib.import_module(f"varflow.{workflow}.pipeline")


@dataclass(frozen=True)
class WorkflowRun:
    """One in-process workflow run, fully decided (cohort, results folder, seed, device, params), nothing
    started. It writes into ``folder``, ``outdir/<workflow>`` (``varflow.layout``), as Nextflow publishes.

    ``cohort`` is a folder path: a run that simulates its cohort plans before the cohort exists.
    ``keep`` are paths that clearing the folder (``--overwrite``) must never touch: the run's inputs.
    """

    workflow: str
    outdir: Path
    cohort: Path
    seed: int
    device: str
    quick: bool
    params: dict[str, Any]
    record: RunRecord
    keep: tuple[Path, ...] = ()

    @property
    def folder(self) -> Path:
        """The workflow's folder in the results folder ``outdir``."""
        return workflow_dir(self.outdir, self.workflow)


def plan_workflow(workflow: str, outdir: Path | None, *, cohort: Path | None = None, params: Path | None = None,
                  seed: int | None = None, device: str | None = None, quick: bool = False,
                  sizes: dict[str, Any] | None = None, command: str | None = None,
                  cohort_simulated: bool = False, preset: str | None = None) -> WorkflowRun:
    """Decide one workflow run on a cohort folder or a params file; validates everything, writes nothing.
    ``outdir`` is the results folder: the workflow writes ``outdir/<workflow>/`` (``varflow.layout``).

    With ``params`` (a Nextflow params file, see ``varflow.params``) the file names the cohort and may
    set ``outdir``, ``seed``, ``use_gpu`` and the workflow's own params; ``outdir``/``seed``/``device``
    given here win over it. ``sizes`` are param overrides (model sizes, epochs, extra eqtl scores) passed
    to a cohort run, e.g. the demo's; ``None`` seed/device mean 0/auto for a cohort run. With
    ``cohort_simulated`` the cohort is made later by the same run (``run_all``, from ``preset`` and the
    seed), so its inputs are checksummed when the workflow starts.
    """
    if (cohort is None) == (params is None):
        raise VarflowError("give exactly one of --cohort DIR or --params FILE")
    _pipeline(workflow)
    if params is not None:
        from varflow.params import resolve_params_run

        run = resolve_params_run(workflow, params, outdir=outdir, seed=seed, device=device)
        loaded, outdir, seed, device, wf_params = run.cohort, run.outdir, run.seed, run.device, run.params
        root, keep = loaded.root, (Path(params),)
    else:
        if outdir is None:
            raise VarflowError("--outdir is required with --cohort")
        loaded = None if cohort_simulated else Cohort.load(cohort)
        root, keep, wf_params = Path(cohort), (), dict(sizes or {})
        if loaded is not None:
            check_cohort(loaded, workflow, eqtl_config=wf_params.get("eqtl_config"))
        seed, device = seed if seed is not None else 0, device or "auto"
    inputs = {} if loaded is None else workflow_inputs(loaded, workflow, wf_params)
    recorded_params = {"cohort": str(root.resolve()), **({"preset": preset} if cohort_simulated else {}),
                       "seed": seed, "device": device, "quick": quick, **wf_params}
    record = RunRecord(workflow=workflow, command=command or Provenance.unknown().command,
                       params=recorded_params, inputs=describe_inputs(inputs), cohort_simulated=cohort_simulated)
    return WorkflowRun(workflow=workflow, outdir=Path(outdir), cohort=root, seed=seed, device=device, quick=quick,
                       params=wf_params, record=record, keep=(root, *keep, *inputs.values()))


def claim_folders(runs: list[WorkflowRun], *, overwrite: bool = False) -> None:
    """Make each run's folder ready: refuse another run's results there (``varflow.run_record``), or with
    ``overwrite`` clear those folders, and only them. Every folder is checked before any is cleared."""
    for run in runs:
        check_folder(run.folder, run.record, overwrite=overwrite, keep=list(run.keep))
    for run in runs:
        if overwrite and run.folder.is_dir():
            clear_folder(run.folder)


def execute(run: WorkflowRun) -> dict[str, Any]:
    """Run a planned (and claimed) workflow into ``run.folder``, recording it in its ``run.json`` and the
    software versions in ``outdir/pipeline_info/``; returns its headline figures + seconds."""
    module = _pipeline(run.workflow)
    cohort = Cohort.load(run.cohort)
    record = run.record
    if record.cohort_simulated:
        record = replace(record, inputs=describe_inputs(workflow_inputs(cohort, run.workflow, run.params)))
    start = time.perf_counter()
    extra = {"params": run.params} if run.params else {}
    with recorded(run.folder, record):
        figures = module.run_from_cohort(cohort, run.folder, seed=run.seed, device=run.device, quick=run.quick,
                                         **extra)
    write_software_versions(run.outdir, f"varflow run {run.workflow}")
    figures = dict(figures or {})
    figures["seconds"] = round(time.perf_counter() - start, 2)
    figures.setdefault("outdir", str(run.folder))
    log.info("%s finished in %.1f s -> %s", run.workflow, figures["seconds"], run.folder)
    return figures


def run_workflow(workflow: str, outdir: Path | None, *, overwrite: bool = False, **options: Any) -> dict[str, Any]:
    """Plan (``plan_workflow``, which takes ``options``), claim its folder and run one workflow; returns
    its headline figures + seconds. Everything is validated before the first step runs."""
    run = plan_workflow(workflow, outdir, **options)
    claim_folders([run], overwrite=overwrite)
    return execute(run)


def demo_sizes() -> dict[str, dict[str, Any]]:
    """Per-workflow size overrides that let ``varflow demo`` finish in minutes on a 2-core laptop."""
    from varflow.s2e.pipeline import DEMO_PARAMS

    return {"s2e": DEMO_PARAMS}


def _run_all_params(workflow: str, outdir: Path, sizes: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """One workflow's param overrides in ``run_all``: its ``sizes``; for eqtl also s2e's variant effects
    as one more deep-learning source (unnamed, as main.nf passes it, so both engines make the same feature
    names, extra1__s2e_*)."""
    wf_params = dict(sizes.get(workflow) or {})
    if workflow == "eqtl" and "s2e" in available_workflows():
        wf_params["eqtl_extra_scores"] = [str(step_path(workflow_dir(outdir, "s2e"), "S2E_VARIANT_EFFECTS")),
                                          *wf_params.get("eqtl_extra_scores", [])]
    return wf_params or None


def run_all(outdir: Path, *, cohort: Path | None = None, preset: str = "demo", seed: int = 0,
            device: str = "auto", quick: bool = False, sizes: dict[str, dict[str, Any]] | None = None,
            overwrite: bool = False, command: str | None = None) -> dict[str, Any]:
    """Simulate a cohort (unless ``cohort`` is given) and run every workflow on it into ``outdir``.

    ``sizes`` maps a workflow to its param overrides (see ``demo_sizes``). s2e's variant-effect table is
    passed to eqtl as ``eqtl_extra_scores`` (a deep-learning feature source). Every workflow folder is
    claimed (``claim_folders``: another run's results refused, or cleared with ``overwrite``) before the
    cohort is simulated.

    Layout: ``outdir/cohort`` (when simulated), ``outdir/<workflow>/`` (each with its ``run.json``) and
    ``outdir/summary.json`` holding the parameters, each workflow's headline figures and seconds.
    """
    sizes = sizes or {}
    simulated = cohort is None
    cohort = outdir / "cohort" if simulated else cohort
    runs = [plan_workflow(wf, outdir, cohort=cohort, seed=seed, device=device, quick=quick,
                          sizes=_run_all_params(wf, outdir, sizes), command=command, cohort_simulated=simulated,
                          preset=preset)
            for wf in available_workflows()]
    claim_folders(runs, overwrite=overwrite)
    ensure_writable_dir(outdir)
    start = time.perf_counter()
    summary: dict[str, Any] = {"params": {"preset": preset, "seed": seed, "device": device, "quick": quick,
                                          **{f"{wf}_sizes": v for wf, v in sizes.items()}}}
    if simulated:
        from varflow.simulate.cohort import SimulationConfig, build_cohort

        log.info("simulating the %s cohort (seed %d) -> %s", preset, seed, cohort)
        sim_start = time.perf_counter()
        build_cohort(SimulationConfig.preset(preset, seed=seed), cohort)
        summary["simulate"] = {"seconds": round(time.perf_counter() - sim_start, 2)}
    summary["params"]["cohort"] = str(cohort)
    for run in runs:
        log.info("running %s", run.workflow)
        summary[run.workflow] = execute(run)
    summary["seconds"] = round(time.perf_counter() - start, 2)
    with atomic_path(outdir / "summary.json", suffix=".json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2, default=str))
    return summary
