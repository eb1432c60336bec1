"""The shrink workflow without Nextflow: the same step functions the CLI and the Nextflow processes
call, in the same dependency order (ld-blocks per chromosome, effects per trait x chromosome,
single-trait clustering and gene tests per trait, joint clustering + multi-trait summaries when there
are 2+ traits, plots), independent tasks side by side in worker processes."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from varflow.errors import VarflowError
from varflow.io.cohort import Cohort
from varflow.io.provenance import Provenance
from varflow.io.tables import read_table
from varflow.layout import step_path
from varflow.shrink import steps
from varflow.shrink.genetest import DEFAULT_REPORT_STATISTIC
from varflow.shrink.inputs import read_genes
from varflow.shrink.panel_ld import PanelLDConfig


def _prov(step: str, params: dict, seed: int) -> Provenance:
    return Provenance.from_cli(f"varflow run shrink ({step})", params, seed)


# The SNP-matching counts of each effects task kept in the figures (``inputs.match_to_ld``'s counts).
MATCH_COUNTS = ("sumstats", "not_in_ld", "by_position", "matched", "flipped", "by_frequency", "ambiguous",
               "mismatched")
MAX_WORKERS = 4  # processes for side-by-side tasks; each holds one chromosome's dense LD (~250 MB at 7,800 SNPs)
_BLAS_LIMIT = None  # a worker's threadpool limit, kept alive for the worker's life


def _one_blas_thread() -> None:
    """Pool initializer: each worker process uses one BLAS thread (the workers are the parallelism)."""
    global _BLAS_LIMIT
    _BLAS_LIMIT = threadpool_limits(1)


def worker_count() -> int:
    """Processes for side-by-side tasks: the CPUs this process may use, at most ``MAX_WORKERS``."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


class _Inline:
    """The executor interface run in this process: one CPU, or no ``fork`` start method."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        done: Future = Future()
        done.set_result(fn(*args, **kwargs))
        return done

    def __enter__(self) -> "_Inline":
        return self

    def __exit__(self, *exc) -> None:
        return None


def _executor(workers: int):
    if workers < 2 or "fork" not in mp.get_all_start_methods():
        return _Inline()
    return ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"), initializer=_one_blas_thread)


def _timed(fn, /, *args, **kwargs) -> tuple[Any, float]:
    t = time.perf_counter()
    return fn(*args, **kwargs), time.perf_counter() - t


def _trait_tests(trait: str, effects: list[Path], ld: list[Path], genes: Path, outdir: Path, seed: int,
                 cluster: dict[str, Any], gene_test: dict[str, Any]) -> dict:
    """One trait's single-trait clustering, then its gene tests (they need its mixture's eps); ``cluster``
    and ``gene_test`` the steps' keyword options."""
    model = step_path(outdir, "SHRINK_CLUSTER", 1, trait=trait)
    clustered, t_cluster = _timed(steps.cluster_step, effects, step_path(outdir, "SHRINK_CLUSTER", trait=trait), model,
                                  seed=seed, provenance=_prov("cluster", {"trait": trait, **cluster}, seed), **cluster)
    out = step_path(outdir, "SHRINK_GENE_TEST", trait=trait)
    tested, t_genes = _timed(steps.gene_test_step, effects, ld, genes, model, out,
                             provenance=_prov("gene-test", {"trait": trait, **gene_test}, seed), **gene_test)
    return {"k": clustered["k"], "model": model, "gene_tests": out, "genes": tested,
            "seconds": {"cluster": t_cluster, "gene_test": t_genes}}


def _joint(effects: list[Path], traits: list[str], genes: Path, outdir: Path, seed: int, cluster: dict[str, Any]) -> dict:
    """Joint clustering of every trait's effects, then the multi-trait summaries and cluster types."""
    clusters, mixture = (step_path(outdir, "SHRINK_CLUSTER_JOINT", i) for i in (0, 1))
    genes_out, types_out = (step_path(outdir, "SHRINK_MULTI_TRAIT", i) for i in (0, 1))
    clustered, t_cluster = _timed(steps.cluster_step, effects, clusters, mixture,
                                  seed=seed, provenance=_prov("cluster", {"traits": traits, **cluster}, seed), **cluster)
    typed, t_multi = _timed(steps.multitrait_step, clusters, mixture, genes, genes_out, types_out,
                            _prov("multi-trait", {}, seed))
    return {"k": clustered["k"], "types": typed["types"], "paths": (clusters, mixture, genes_out),
            "seconds": {"cluster_joint": t_cluster, "multi_trait": t_multi}}


#: The steps whose options a params file may set (``varflow.params.STEP_OPTIONS``).
OPTION_STEPS = ("ld-blocks", "ld-panel", "effects", "cluster", "gene-test")
#: quick=True: fewer clustering restarts (tests, demo); a set ``shrink_restarts`` wins.
QUICK_CLUSTER = {"n_restarts": 5}


def run_steps(sumstats: dict[str, Path], ld: dict[str, Path], genes: Path, outdir: Path, *, seed: int = 0,
              quick: bool = False, model: Path | None = None, options: dict[str, dict[str, Any]] | None = None,
              workers: int | None = None, ld_panel: dict[str, Path] | None = None) -> dict:
    """Run every step; returns headline figures, the SNP-matching counts per trait x chromosome
    (``matching``), seconds per step (summed over its tasks) and wall seconds per phase. Every step
    runs on the CPU (the shipped or given ensemble predicts in numpy; training is ``varflow shrink
    train``). As under Nextflow, independent tasks run side by side:
    effects per trait x chromosome, then per trait its clustering + gene tests, beside the joint
    clustering + multi-trait summaries; ``workers`` processes (default ``worker_count()``), each with
    one BLAS thread. The tables equal a one-process run's with one BLAS thread, value for value.
    ``ld`` names precomputed LD per chromosome (ld-blocks), ``ld_panel`` a reference panel per chromosome
    (PLINK prefix or VCF/BCF; ld-panel computes its blocks and banded LD, which the gene tests read).
    ``options`` maps a step (ld-blocks, ld-panel, effects, cluster, gene-test) to keyword options of its
    step function (``varflow.params.step_options``); those not given keep the step's defaults."""
    ld_panel = dict(ld_panel or {})
    if not sumstats:
        raise VarflowError("shrink needs at least one trait's summary statistics")
    if not ld and not ld_panel:
        raise VarflowError("shrink needs the LD of at least one chromosome (ld or ld_panel)")
    both = sorted(set(ld) & set(ld_panel))
    if both:
        raise VarflowError(f"shrink: chromosome(s) {', '.join(both)} have both precomputed LD (ld) and a panel "
                           "(ld_panel); name each chromosome once")
    read_genes(genes)  # a bad gene table fails now, not after effects and clustering
    opts = {step: dict((options or {}).get(step) or {}) for step in OPTION_STEPS}
    cluster = {**(QUICK_CLUSTER if quick else {}), **opts["cluster"]}
    report_statistic = opts["gene-test"].get("report_statistic", DEFAULT_REPORT_STATISTIC)
    config = PanelLDConfig(**opts["ld-panel"])  # a bad option fails before any step
    workers = worker_count() if workers is None else workers
    outdir = Path(outdir)
    seconds: dict[str, float] = {}
    wall: dict[str, float] = {}
    figures: dict = {"traits": list(sumstats), "chromosomes": [*ld, *ld_panel]}

    t = time.perf_counter()
    block_files = {}
    n_blocks = 0
    for chrom, path in ld.items():
        out_ld = step_path(outdir, "SHRINK_LD_BLOCKS", 1, chrom=chrom)
        res = steps.ld_blocks_step(path, chrom, step_path(outdir, "SHRINK_LD_BLOCKS", chrom=chrom), out_ld,
                                   provenance=_prov("ld-blocks", {"ld": path, **opts["ld-blocks"]}, seed),
                                   **opts["ld-blocks"])
        block_files[chrom] = out_ld
        n_blocks += res["n_blocks"]
    seconds["ld_blocks"] = wall["ld_blocks"] = time.perf_counter() - t
    t = time.perf_counter()
    gene_ld = list(ld.values())
    for chrom, path in ld_panel.items():
        table, out_ld, band = (step_path(outdir, "SHRINK_LD_PANEL", i, chrom=chrom) for i in range(3))
        res = steps.ld_panel_step(path, chrom, table, out_ld, band, config,
                                  provenance=_prov("ld-panel", {"panel": path, "chrom": chrom,
                                                                "band_snps": config.width}, seed))
        block_files[chrom] = out_ld
        gene_ld.append(band)
        n_blocks += res["n_blocks"]
    if ld_panel:
        seconds["ld_panel"] = wall["ld_panel"] = time.perf_counter() - t
    figures["n_blocks"] = n_blocks

    with _executor(workers) as pool:
        t = time.perf_counter()
        effects: dict[str, list[Path]] = {}
        pending = []
        for trait, path in sumstats.items():
            for chrom, bld in block_files.items():
                out = step_path(outdir, "SHRINK_EFFECTS", trait=trait, chrom=chrom)
                pending.append(pool.submit(_timed, steps.effects_step, path, bld, out, model=model, seed=seed,
                                           provenance=_prov("effects", {"sumstats": path, "chrom": chrom,
                                                                        **opts["effects"]}, seed),
                                           trait=trait, **opts["effects"]))
                effects.setdefault(trait, []).append(out)
        seconds["effects"] = sum(f.result()[1] for f in pending)
        figures["matching"] = {f"{res['trait']}.{res['chrom']}": {k: res[k] for k in MATCH_COUNTS if k in res}
                               for res in (f.result()[0] for f in pending)}
        wall["effects"] = time.perf_counter() - t
        figures["n_snps"] = int(sum(len(read_table(p)) for p in effects[next(iter(effects))]))

        t = time.perf_counter()
        joint_task = None
        if len(sumstats) >= 2:  # the joint clustering is the shortest task: it fills the gaps of the others
            joint_task = pool.submit(_joint, [p for ps in effects.values() for p in ps], list(sumstats), genes,
                                     outdir, seed, cluster)
        trait_tasks = {trait: pool.submit(_trait_tests, trait, effects[trait], gene_ld, genes, outdir, seed,
                                          cluster, opts["gene-test"]) for trait in sumstats}
        per_trait = {trait: task.result() for trait, task in trait_tasks.items()}
        joint = joint_task.result() if joint_task is not None else None
        wall["cluster_and_gene_tests"] = time.perf_counter() - t

    models, gene_tests = {}, {}
    for trait, res in per_trait.items():
        models[trait], gene_tests[trait] = res["model"], res["gene_tests"]
        figures[f"k_{trait}"] = res["k"]
        figures[f"genes_q05_{trait}"] = res["genes"]["n_q05"]
        figures[f"genes_q05_shrunk_{trait}"] = res["genes"]["n_q05_shrunk"]
        figures[f"genes_q05_raw_{trait}"] = res["genes"]["n_q05_raw"]
        figures[f"genes_q05_conditional_{trait}"] = res["genes"]["n_q05_conditional"]
        figures["n_genes"] = res["genes"]["n_genes"]
        for step, s in res["seconds"].items():
            seconds[step] = seconds.get(step, 0.0) + s
    figures["gene_report_statistic"] = report_statistic
    if joint is not None:
        figures["k_joint"] = joint["k"]
        figures["cluster_types"] = joint["types"]
        seconds.update(joint["seconds"])

    t = time.perf_counter()
    all_effects = [p for ps in effects.values() for p in ps]
    if joint is not None:
        clusters, mixture, multitrait = joint["paths"]
        made = steps.plots_step(step_path(outdir, "SHRINK_PLOTS"), all_effects, clusters, mixture,
                                list(gene_tests.values()), multitrait)
    else:
        trait = next(iter(sumstats))
        made = steps.plots_step(step_path(outdir, "SHRINK_PLOTS"), all_effects,
                                step_path(outdir, "SHRINK_CLUSTER", trait=trait), models[trait],
                                list(gene_tests.values()), None)
    seconds["plots"] = wall["plots"] = time.perf_counter() - t
    figures["plots"] = sorted(made)
    figures["seconds"] = {k: round(v, 2) for k, v in seconds.items()}
    figures["wall_seconds"] = {k: round(v, 2) for k, v in wall.items()}
    figures["workers"] = workers
    figures["_effects"] = effects
    figures["_gene_tests"] = gene_tests
    return figures


def truth_correlations(effects: dict[str, list[Path]], truth: Path) -> dict:
    """Pearson correlation of shrunk and raw effects with the simulator's true effects, per trait."""
    tru = read_table(truth, "gwas_truth").set_index("SNP")
    out = {}
    for trait, paths in effects.items():
        eff = steps.read_effects(paths)
        b = tru[f"beta_{trait}"].reindex(eff["SNP"]).to_numpy()
        ok = ~np.isnan(b)
        out[f"corr_shrunk_{trait}"] = round(float(np.corrcoef(eff["BETA_SHRUNK"][ok], b[ok])[0, 1]), 4)
        out[f"corr_raw_{trait}"] = round(float(np.corrcoef(eff["BETA"][ok], b[ok])[0, 1]), 4)
    return out


def run_from_cohort(cohort: Cohort, outdir: Path, *, seed: int = 0, device: str = "auto", quick: bool = False,
                    params: dict[str, Any] | None = None) -> dict:
    """The shrink workflow on a cohort folder (sumstats, ld and/or ld_panel, gwas_genes; gwas_truth, when
    present, for figures). ``params`` may set ``shrink_model``: a trained ensemble folder (``varflow shrink train``)
    instead of the one shipped in the package, and the step options of ``varflow.params.STEP_OPTIONS``
    (``shrink_avg_block``, ``shrink_method``, ``shrink_restarts``, ``shrink_report_statistic``, ...).
    ``device`` is accepted for a uniform signature: every shrink step runs on the CPU."""
    from varflow.params import WORKFLOW_PARAMS, step_options

    params = dict(params or {})
    unknown = set(params) - set(WORKFLOW_PARAMS["shrink"])
    if unknown:
        raise VarflowError(f"shrink: unknown param(s) {', '.join(sorted(unknown))} "
                           f"(known: {', '.join(WORKFLOW_PARAMS['shrink'])})")
    model = Path(params["shrink_model"]) if params.get("shrink_model") else None
    options = {step: step_options(params, "shrink", step) for step in OPTION_STEPS}
    ld = cohort.group("ld") if "ld" in cohort.files else {}
    panels = cohort.group("ld_panel") if "ld_panel" in cohort.files else {}
    figures = run_steps(cohort.group("sumstats"), ld, cohort.path("gwas_genes"), Path(outdir),
                        seed=seed, quick=quick, model=model, options=options, ld_panel=panels)
    effects = figures.pop("_effects")
    gene_tests = figures.pop("_gene_tests")
    if "gwas_truth" in cohort.files:
        figures.update(truth_correlations(effects, cohort.path("gwas_truth")))
        for trait, path in gene_tests.items():
            calls = steps.gene_truth_calls(path, effects[trait], cohort.path("gwas_truth"), cohort.path("gwas_genes"))
            figures.update({f"genes_{k}_{trait}": v for k, v in calls.items()})
    return figures
