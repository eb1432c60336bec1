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
from pathlib import Path
from typing import Any

from varflow.errors import VarflowError
from varflow.io.atomic import atomic_path, ensure_writable_dir
from varflow.io.cohort import Cohort

log = logging.getLogger("varflow")

# Order matters for `run all`: s2e runs before eqtl so that its variant effects can feed eqtl.
WORKFLOWS = ("shrink", "s2e", "eqtl")


def available_workflows() -> list[str]:
    return [wf for wf in WORKFLOWS if importlib.util.find_spec(f"varflow.{wf}.pipeline") is not None]


def _pipeline(workflow: str):
    if workflow not in available_workflows():
        raise VarflowError(f"unknown workflow {workflow!r}; available: {', '.join(available_workflows())}")
    return importlib.import_module(f"varflow.{workflow}.pipeline")


def run_workflow(workflow: str, outdir: Path | None, *, cohort: Path | None = None, params: Path | None = None,
                 seed: int | None = None, device: str | None = None, quick: bool = False,
                 sizes: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one workflow on a cohort folder or a params file; returns its headline figures + seconds.

    With ``params`` (a Nextflow params file, see ``varflow.params``) the file names the cohort and may
    set ``outdir``, ``seed``, ``use_gpu`` and the workflow's own params; ``outdir``/``seed``/``device``
    given here win over it. Everything is validated before the first step runs.
    ``sizes`` are param overrides (model sizes, epochs, extra eqtl scores) passed to a cohort run, e.g.
    the demo's; ``None`` seed/device mean 0/auto for a cohort run.
    """
    if (cohort is None) == (params is None):
        raise VarflowError("give exactly one of --cohort DIR or --params FILE")
    module = _pipeline(workflow)
    if params is not None:
        from varflow.params import resolve_params_run

        run = resolve_params_run(workflow, params, outdir=outdir, seed=seed, device=device)
        loaded, outdir, seed, device, wf_params = run.cohort, run.outdir, run.seed, run.device, run.params
    else:
        if outdir is None:
            raise VarflowError("--outdir is required with --cohort")
        loaded, seed, device = Cohort.load(cohort), seed if seed is not None else 0, device or "auto"
        wf_params = dict(sizes or {})
    ensure_writable_dir(outdir)
    start = time.perf_counter()
    extra = {"params": wf_params} if wf_params else {}
    figures = module.run_from_cohort(loaded, outdir, seed=seed, device=device, quick=quick, **extra)
    figures = dict(figures or {})
    figures["seconds"] = round(time.perf_counter() - start, 2)
    figures.setdefault("outdir", str(outdir))
    log.info("%s finished in %.1f s -> %s", workflow, figures["seconds"], outdir)
    return figures


def demo_sizes() -> dict[str, dict[str, Any]]:
    """Per-workflow size overrides that let ``varflow demo`` finish in minutes on a 2-core laptop."""
    from varflow.s2e.pipeline import DEMO_PARAMS

    return {"s2e": DEMO_PARAMS}


def run_all(outdir: Path, *, cohort: Path | None = None, preset: str = "demo", seed: int = 0,
            device: str = "auto", quick: bool = False, sizes: dict[str, dict[str, Any]] | None = None
            ) -> dict[str, Any]:
    """Simulate a cohort (unless ``cohort`` is given) and run every workflow on it into ``outdir``.

    ``sizes`` maps a workflow to its param overrides (see ``demo_sizes``). When s2e ran, its
    variant-effect table is passed to eqtl as ``eqtl_extra_scores`` (a deep-learning feature source).

    Layout: ``outdir/cohort`` (when simulated), ``outdir/<workflow>/`` and ``outdir/summary.json``
    holding the parameters, each workflow's headline figures and seconds.
    """
    ensure_writable_dir(outdir)
    start = time.perf_counter()
    sizes = sizes or {}
    summary: dict[str, Any] = {"params": {"preset": preset, "seed": seed, "device": device, "quick": quick,
                                          **{f"{wf}_sizes": v for wf, v in sizes.items()}}}
    if cohort is None:
        from varflow.simulate.cohort import SimulationConfig, build_cohort

        cohort = outdir / "cohort"
        log.info("simulating the %s cohort (seed %d) -> %s", preset, seed, cohort)
        sim_start = time.perf_counter()
        build_cohort(SimulationConfig.preset(preset, seed=seed), cohort)
        summary["simulate"] = {"seconds": round(time.perf_counter() - sim_start, 2)}
    summary["params"]["cohort"] = str(cohort)
    for workflow in available_workflows():
        log.info("running %s", workflow)
        wf_params = dict(sizes.get(workflow) or {})
        if workflow == "eqtl" and summary.get("s2e", {}).get("variant_scores"):
            # s2e's variant effects join eqtl's features as one more deep-learning source; unnamed, as
            # main.nf passes it, so both engines make the same feature names (extra1__s2e_*)
            wf_params["eqtl_extra_scores"] = [summary["s2e"]["variant_scores"],
                                              *wf_params.get("eqtl_extra_scores", [])]
        summary[workflow] = run_workflow(workflow, outdir / workflow, cohort=cohort, seed=seed, device=device,
                                         quick=quick, sizes=wf_params or None)
    summary["seconds"] = round(time.perf_counter() - start, 2)
    with atomic_path(outdir / "summary.json", suffix=".json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2, default=str))
    return summary
