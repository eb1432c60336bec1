"""The eqtl workflow in-process: featurize -> labels -> train (all LOCO folds) -> search (per-category
weights inside each fold) -> train with the searched weights -> evaluate -> predict.

Calls the same step functions as ``varflow eqtl <step>``; used by ``varflow run eqtl`` and ``varflow demo``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from varflow.device import resolve_device
from varflow.eqtl import steps
from varflow.eqtl.config import EqtlConfig, config_paths, load_config
from varflow.errors import VarflowError
from varflow.io.cohort import Cohort
from varflow.io.provenance import Provenance
from varflow.io.tables import read_table
from varflow.layout import step_dir, step_path

log = logging.getLogger("varflow")

# quick=True: few, larger-step trees and coarse borders (tests, demo); the defaults stay the published recipe
QUICK_CATBOOST = {"iterations": 80, "learning_rate": 0.1, "border_count": 32}
QUICK_BOOT = 200
QUICK_SEARCH = {"trials": 4, "iterations": 20}


def top_enrichment(pred: pd.DataFrame, truth: pd.DataFrame, top_fraction: float = 0.01) -> dict[str, float]:
    """Share of true causal variant-gene pairs among the top ``top_fraction`` of predictions vs all pairs."""
    is_causal = pd.MultiIndex.from_frame(pred[["variant_id", "gene_id"]]).isin(
        pd.MultiIndex.from_frame(truth[["variant_id", "gene_id"]]))
    k = max(1, int(round(top_fraction * len(pred))))
    top = np.argsort(-pred["pred_probability"].to_numpy(), kind="stable")[:k]
    base = float(is_causal.mean())
    share = float(is_causal[top].mean())
    return {"top_k": k, "causal_share_top": share, "causal_share_all": base,
            "enrichment": share / base if base > 0 else float("nan")}


def _inputs(outdir: Path) -> tuple[Path, Path, Path]:
    """The features, feature contract and labels every training step reads."""
    features, labels = step_path(outdir, "EQTL_FEATURIZE"), step_path(outdir, "EQTL_LABELS")
    return features / steps.FEATURES_NAME, features / steps.CONTRACT_NAME, labels / steps.LABELS_NAME


def train_folds(outdir: Path, config: EqtlConfig, *, device: str, provenance: Provenance) -> dict[str, Any]:
    """One LOCO fold per chromosome of labels/folds.txt, each into its own ``train/<chrom>`` (as
    Nextflow scatters them); returns the folds trained, their folders and {chrom: reason} skipped."""
    folds_file = step_path(outdir, "EQTL_LABELS") / steps.FOLDS_NAME
    chroms = [line.strip() for line in folds_file.read_text().splitlines() if line.strip()]
    folds, dirs, skipped = [], [], {}
    for chrom in chroms:
        folder = step_path(outdir, "EQTL_TRAIN", chrom=chrom)
        res = steps.train_step(*_inputs(outdir), config, folder, chroms=[chrom], device=device,
                               provenance=provenance)
        folds += res["folds"]
        dirs += [folder] if res["folds"] else []
        skipped.update(res["skipped"])
    return {"folds": folds, "dirs": dirs, "skipped": skipped}


def search_and_train(outdir: Path, config: EqtlConfig, folds: list[str], *, device: str,
                     provenance: Provenance) -> dict[str, Any]:
    """Search each fold's weights on its own training chromosomes (``search/weights_<chrom>.json``), then
    train that fold with them into ``train/<chrom>_searched``; returns those folders and the seconds of
    both."""
    inputs = _inputs(outdir)
    start = time.perf_counter()
    steps.search_step(*inputs, config, step_dir(outdir, "EQTL_SEARCH"), chroms=folds)
    seconds_search = time.perf_counter() - start
    dirs = []
    for chrom in folds:
        dirs.append(step_path(outdir, "EQTL_TRAIN_SEARCHED", chrom=chrom))
        steps.train_step(*inputs, config, dirs[-1], chroms=[chrom], device=device,
                         weights=step_path(outdir, "EQTL_SEARCH", chrom=chrom), provenance=provenance)
    return {"dirs": dirs, "seconds_search": round(seconds_search, 1),
            "seconds_train": round(time.perf_counter() - start - seconds_search, 1)}


def run_steps(finemap: Path, genes: Path, config: EqtlConfig, outdir: Path, *, device: str, quick: bool,
              seed: int, evaluate: dict[str, Any] | None = None) -> dict[str, Any]:
    """featurize -> labels -> train -> search + train searched -> evaluate -> predict into ``outdir``;
    ``evaluate`` keyword options of the evaluate step (``n_boot``; quick: ``QUICK_BOOT``, else its default)."""
    outdir = Path(outdir)
    if quick:
        config.catboost.update(QUICK_CATBOOST)
        config.search = replace(config.search, **QUICK_SEARCH)
    config.seed = seed
    device = resolve_device(device)
    prov = Provenance.from_cli("varflow run eqtl", {"finemap": finemap, "genes": genes, "config": config.path,
                                                    "quick": quick, "device": device}, seed)
    steps.featurize_step(finemap, genes, config, step_path(outdir, "EQTL_FEATURIZE"), provenance=prov)
    lab = steps.labels_step(finemap, config, step_path(outdir, "EQTL_LABELS"), provenance=prov)
    train = train_folds(outdir, config, device=device, provenance=prov)
    if not train["folds"]:
        raise VarflowError(f"eqtl: every LOCO fold was skipped ({train['skipped']}); nothing to evaluate")
    searched = search_and_train(outdir, config, train["folds"], device=device, provenance=prov)
    evaluate = {**({"n_boot": QUICK_BOOT} if quick else {}), **(evaluate or {})}
    rep = steps.evaluate_step([*train["dirs"], *searched["dirs"]], step_path(outdir, "EQTL_EVALUATE"), seed=seed,
                              **evaluate)
    predictions = step_path(outdir, "EQTL_PREDICT")
    pred = steps.predict_step(_inputs(outdir)[0], train["dirs"], predictions.with_suffix(""), provenance=prov)
    boot = rep["bootstrap_weighted_minus_unweighted"]
    return {"folds": train["folds"], "skipped_folds": train["skipped"], "train_positives": lab["train_positives"],
            "genes_with_too_few_negatives": f"{lab['genes_with_too_few_negatives']} of {lab['genes']}",
            "test_positives": lab["test_positives"],
            "auprc_weighted": rep["pooled"]["weighted"]["auprc"],
            "auprc_unweighted": rep["pooled"]["unweighted"]["auprc"],
            "auprc_distance_only": rep["pooled"]["distance_only"]["auprc"],
            "auroc_weighted": rep["pooled"]["weighted"]["auroc"],
            "auprc_diff_ci95": [boot["ci_low"], boot["ci_high"]],
            "auprc_searched": rep["weight_comparison"]["models"]["searched"]["auprc"],
            "auprc_searched_minus_unweighted_ci95": [
                rep["weight_comparison"]["bootstrap"]["searched_minus_unweighted"][k] for k in ("ci_low", "ci_high")],
            "seconds_search": searched["seconds_search"], "seconds_train_searched": searched["seconds_train"],
            "n_predictions": len(pred),
            "predictions": str(step_path(outdir, "EQTL_PREDICT", 1)), "_pred": pred}


def run_from_cohort(cohort: Cohort, outdir: Path, *, seed: int = 0, device: str = "auto",
                    quick: bool = False, params: dict[str, Any] | None = None) -> dict:
    """All eqtl steps on a cohort folder (finemap, genes and the files its config names through
    ``cohort:``); adds the top-1% truth enrichment when the cohort has ``causal_variants``.

    ``params`` may set ``eqtl_config``: a YAML config path (unset: the packaged default for simulated
    cohorts), or several (a list or a comma-separated string): one config per cell type, each run on
    its own into ``outdir/<config file base name>/`` (as Nextflow publishes ``eqtl/<cell type>/``) and
    compared in the returned figures (``compare_cell_types``; the report compares the folders); and ``eqtl_extra_scores``: variant-score files (``FILE``, ``NAME=FILE`` or
    ``{name:, path:}``) added as deep-learning sources, e.g. the s2e variant effects in ``run all``;
    and ``eqtl_n_boot``, the evaluation's bootstrap replicates.
    """
    from varflow.params import WORKFLOW_PARAMS, step_options

    params = dict(params or {})
    known = {*WORKFLOW_PARAMS["eqtl"], "eqtl_extra_scores"}
    unknown = set(params) - known
    if unknown:
        raise VarflowError(f"eqtl: unknown param(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
    # every config is read and resolved before the first step runs
    configs = [load_config(path, cohort=cohort, extra_scores=params.get("eqtl_extra_scores"))
               for path in config_paths(params.get("eqtl_config"))]
    evaluate = step_options(params, "eqtl", "evaluate")
    if len(configs) == 1:
        return _run_one(cohort, configs[0], Path(outdir), seed=seed, device=device, quick=quick, evaluate=evaluate)
    # the cell type is the config file's base name, as under Nextflow (meta.cell_type)
    names = [c.path.stem for c in configs]
    if len(set(names)) != len(names):
        raise VarflowError(f"eqtl: several configs share a file name ({', '.join(names)}); each cell type's "
                           "config needs its own (its base name names the cell type and its folder)")
    by_type = {name: _run_one(cohort, c, Path(outdir) / name, seed=seed, device=device, quick=quick, evaluate=evaluate)
               for name, c in zip(names, configs)}
    comparison = compare_cell_types(by_type)
    return {"cell_types": names, "comparison": comparison["rows"], "by_cell_type": by_type}


#: the per-cell-type figures compared side by side (run_steps' headline figures)
COMPARED_FIGURES = ("train_positives", "test_positives", "auprc_unweighted", "auprc_weighted", "auprc_searched",
                    "auroc_weighted", "auprc_distance_only")


def compare_cell_types(by_type: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One row per cell type (config) of its headline figures (``COMPARED_FIGURES``, the top-1% truth
    enrichment when known) and which cell type's model ranks best by each AUPRC."""
    rows = []
    for name, fig in by_type.items():
        row = {"cell_type": name, **{k: fig.get(k) for k in COMPARED_FIGURES}}
        if "top1pct" in fig:
            row["top1pct_enrichment"] = fig["top1pct"]["enrichment"]
        rows.append(row)
    best = {k: max(rows, key=lambda r: r[k])["cell_type"] for k in ("auprc_unweighted", "auprc_weighted",
                                                                   "auprc_searched")}
    return {"rows": rows, "best_by": best}


def _run_one(cohort: Cohort, config: EqtlConfig, outdir: Path, *, seed: int, device: str, quick: bool,
             evaluate: dict[str, Any]) -> dict:
    figures = run_steps(config.finemap or cohort.path("finemap"), cohort.path("genes"), config, outdir, device=device,
                        quick=quick, seed=seed, evaluate=evaluate)
    pred = figures.pop("_pred")
    figures["config_name"] = config.name
    if "causal_variants" in cohort.files:
        truth = read_table(cohort.path("causal_variants"), "causal_variants")
        figures["top1pct"] = top_enrichment(pred, truth, 0.01)
    return figures
