"""The shrink workflow in-process: the same step functions the CLI and the Nextflow processes call,
run in order (ld-blocks per chromosome, effects per trait x chromosome, single-trait clustering and
gene tests per trait, joint clustering + multi-trait summaries when there are 2+ traits, plots)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from varflow.errors import VarflowError
from varflow.io.cohort import Cohort
from varflow.io.provenance import Provenance
from varflow.io.tables import read_table
from varflow.shrink import steps
from varflow.shrink.genetest import DEFAULT_REPORT_STATISTIC


def _prov(step: str, params: dict, seed: int) -> Provenance:
    return Provenance.from_cli(f"varflow run shrink ({step})", params, seed)


def run_steps(sumstats: dict[str, Path], ld: dict[str, Path], genes: Path, outdir: Path, *, seed: int = 0,
              quick: bool = False, model: Path | None = None, method: str = "nn",
              avg_block: int = 1000, restarts: int | None = None, report_statistic: str = DEFAULT_REPORT_STATISTIC) -> dict:
    """Run every step; returns headline figures and seconds per stage. Every step runs on the CPU
    (the shipped or given ensemble predicts in numpy; training is ``varflow shrink train``)."""
    if not sumstats:
        raise VarflowError("shrink needs at least one trait's summary statistics")
    if not ld:
        raise VarflowError("shrink needs the LD of at least one chromosome")
    restarts = restarts if restarts is not None else (5 if quick else 25)
    outdir = Path(outdir)
    seconds: dict[str, float] = {}
    figures: dict = {"traits": list(sumstats), "chromosomes": list(ld)}

    t = time.perf_counter()
    block_files = {}
    n_blocks = 0
    for chrom, path in ld.items():
        out_ld = outdir / "ld_blocks" / f"{chrom}.blocks.npz"
        res = steps.ld_blocks_step(path, chrom, outdir / "ld_blocks" / f"{chrom}.blocks.parquet", out_ld,
                                   avg_block=avg_block, provenance=_prov("ld-blocks", {"ld": path}, seed))
        block_files[chrom] = out_ld
        n_blocks += res["n_blocks"]
    seconds["ld_blocks"] = time.perf_counter() - t
    figures["n_blocks"] = n_blocks

    t = time.perf_counter()
    effects: dict[str, list[Path]] = {}
    for trait, path in sumstats.items():
        for chrom, bld in block_files.items():
            out = outdir / "effects" / f"{trait}.{chrom}.parquet"
            steps.effects_step(path, bld, out, method, model, seed,
                               _prov("effects", {"sumstats": path, "chrom": chrom, "method": method}, seed), trait=trait)
            effects.setdefault(trait, []).append(out)
    seconds["effects"] = time.perf_counter() - t
    figures["n_snps"] = int(sum(len(read_table(p)) for p in effects[next(iter(effects))]))

    t = time.perf_counter()
    models = {}
    for trait in sumstats:
        cdir = outdir / "cluster"
        res = steps.cluster_step(effects[trait], cdir / f"{trait}.clusters.parquet", cdir / f"{trait}.model.json",
                                 n_restarts=restarts, seed=seed, provenance=_prov("cluster", {"trait": trait}, seed))
        models[trait] = cdir / f"{trait}.model.json"
        figures[f"k_{trait}"] = res["k"]
    seconds["cluster"] = time.perf_counter() - t

    t = time.perf_counter()
    gene_tests = {}
    for trait in sumstats:
        out = outdir / "gene_tests" / f"{trait}.gene_tests.parquet"
        res = steps.gene_test_step(effects[trait], list(ld.values()), genes, models[trait], out,
                                   report_statistic=report_statistic,
                                   provenance=_prov("gene-test", {"trait": trait, "report_statistic": report_statistic},
                                                    seed))
        gene_tests[trait] = out
        figures[f"genes_q05_{trait}"] = res["n_q05"]
        figures[f"genes_q05_shrunk_{trait}"] = res["n_q05_shrunk"]
        figures[f"genes_q05_raw_{trait}"] = res["n_q05_raw"]
        figures[f"genes_q05_conditional_{trait}"] = res["n_q05_conditional"]
        figures["n_genes"] = res["n_genes"]
    figures["gene_report_statistic"] = report_statistic
    seconds["gene_test"] = time.perf_counter() - t

    joint = None
    if len(sumstats) >= 2:
        t = time.perf_counter()
        cdir = outdir / "cluster"
        res = steps.cluster_step([p for ps in effects.values() for p in ps], cdir / "joint.clusters.parquet", cdir / "joint.model.json",
                                 n_restarts=restarts, seed=seed, provenance=_prov("cluster", {"traits": list(sumstats)}, seed))
        figures["k_joint"] = res["k"]
        seconds["cluster_joint"] = time.perf_counter() - t
        t = time.perf_counter()
        mdir = outdir / "multitrait"
        res = steps.multitrait_step(cdir / "joint.clusters.parquet", cdir / "joint.model.json", genes,
                                    mdir / "genes.parquet", mdir / "cluster_types.parquet",
                                    _prov("multi-trait", {}, seed))
        figures["cluster_types"] = res["types"]
        seconds["multi_trait"] = time.perf_counter() - t
        joint = (cdir / "joint.clusters.parquet", cdir / "joint.model.json", mdir / "genes.parquet")

    t = time.perf_counter()
    all_effects = [p for ps in effects.values() for p in ps]
    if joint is not None:
        made = steps.plots_step(outdir / "plots", all_effects, joint[0], joint[1], list(gene_tests.values()), joint[2])
    else:
        trait = next(iter(sumstats))
        made = steps.plots_step(outdir / "plots", all_effects, outdir / "cluster" / f"{trait}.clusters.parquet",
                                models[trait], list(gene_tests.values()), None)
    seconds["plots"] = time.perf_counter() - t
    figures["plots"] = sorted(made)
    figures["seconds"] = {k: round(v, 2) for k, v in seconds.items()}
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
    """The shrink workflow on a cohort folder (sumstats, ld, gwas_genes; gwas_truth, when present, for
    figures). ``params`` may set ``shrink_model``: a trained ensemble folder (``varflow shrink train``)
    instead of the one shipped in the package. ``device`` is accepted for a uniform signature: every
    shrink step runs on the CPU."""
    params = dict(params or {})
    unknown = set(params) - {"shrink_model"}
    if unknown:
        raise VarflowError(f"shrink: unknown param(s) {', '.join(sorted(unknown))} (known: shrink_model)")
    model = Path(params["shrink_model"]) if params.get("shrink_model") else None
    figures = run_steps(cohort.group("sumstats"), cohort.group("ld"), cohort.path("gwas_genes"), Path(outdir),
                        seed=seed, quick=quick, model=model)
    effects = figures.pop("_effects")
    gene_tests = figures.pop("_gene_tests")
    if "gwas_truth" in cohort.files:
        figures.update(truth_correlations(effects, cohort.path("gwas_truth")))
        for trait, path in gene_tests.items():
            calls = steps.gene_truth_calls(path, effects[trait], cohort.path("gwas_truth"), cohort.path("gwas_genes"))
            figures.update({f"genes_{k}_{trait}": v for k, v in calls.items()})
    return figures
