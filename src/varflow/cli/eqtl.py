"""``varflow eqtl``: causal eQTL classifier (featurize, labels, search, train, evaluate, predict)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from varflow.cli.common import handles_errors, log, provenance

app = typer.Typer(help="Causal eQTL prediction: feature-weighted CatBoost, leave-one-chromosome-out "
                       "(scEEMS/GEMS method). Steps: featurize -> labels -> [search ->] train -> evaluate -> predict.",
                  no_args_is_help=True)

CONFIG_HELP = "eqtl YAML config (sources, categories, weights, CatBoost, labels); default: packaged simulated-cohort config."
FINEMAP_HELP = ("Fine-mapping table, format told from its columns: varflow's (variant_id, gene_id, pip, cs[, maf]), "
                "a susieR TSV or an eQTL Catalogue credible_sets TSV; GTEx variant ids accepted")
COHORT_HELP = "Cohort folder whose manifest resolves 'cohort:' sources in the config."


def _cohort_file(given: Optional[Path], cohort: Optional[Path], key: str, option: str) -> Path:
    """An input given directly, or else the file the cohort manifest names under ``key``."""
    from varflow.errors import VarflowError
    from varflow.io.cohort import Cohort

    if given is not None:
        return given
    if cohort is None:
        raise VarflowError(f"give {option} or --cohort (a folder whose cohort.yaml names '{key}')")
    return Cohort.load(cohort).path(key)


def _config(config: Optional[Path], cohort: Optional[Path], resolve_files: bool = True,
            extra_scores: Optional[List[str]] = None):
    from varflow.eqtl.config import load_config
    from varflow.io.cohort import Cohort

    return load_config(config, cohort=Cohort.load(cohort) if cohort is not None else None,
                       resolve_files=resolve_files, extra_scores=extra_scores)


@app.command()
@handles_errors
def featurize(
    finemap: Optional[Path] = typer.Option(None, "--finemap",
                                           help=f"{FINEMAP_HELP}; default: the config's 'finemap', else the cohort's."),
    genes: Optional[Path] = typer.Option(None, "--genes",
                                         help="Gene table (gene_id, chrom as 1 or chr1, tss 0-based); "
                                              "default: the cohort's 'genes'."),
    outdir: Path = typer.Option(..., "--outdir", help="Writes features.parquet and contract.json."),
    config: Optional[Path] = typer.Option(None, "--config", help=CONFIG_HELP),
    cohort: Optional[Path] = typer.Option(None, "--cohort", help=COHORT_HELP),
    contract: Optional[Path] = typer.Option(None, "--contract",
                                            help="Reuse a training contract (columns, imputation) for new data."),
    extra_scores: Optional[List[str]] = typer.Option(
        None, "--extra-scores",
        help="[NAME=]FILE: a variant_scores Parquet (variant_id[, gene_id] + score columns, e.g. the s2e "
             "variant effects) added as a deep-learning source, features NAME__<column>; repeat for "
             "several; NAME defaults to extra1, extra2, ..."),
) -> None:
    """Features for every variant-gene pair plus the feature contract."""
    from varflow.eqtl.steps import featurize_step

    cfg = _config(config, cohort, extra_scores=extra_scores)
    finemap = finemap or cfg.finemap or _cohort_file(None, cohort, "finemap", "--finemap")
    genes = _cohort_file(genes, cohort, "genes", "--genes")
    prov = provenance("eqtl featurize", {"finemap": finemap, "genes": genes, "config": config, "contract": contract,
                                         "extra_scores": extra_scores})
    res = featurize_step(finemap, genes, cfg, outdir, contract=contract, provenance=prov)
    typer.echo(json.dumps(res))


@app.command()
@handles_errors
def labels(
    finemap: Optional[Path] = typer.Option(None, "--finemap",
                                           help=f"{FINEMAP_HELP}; default: the config's 'finemap', else the cohort's."),
    outdir: Path = typer.Option(..., "--outdir", help="Writes labels.parquet and folds.txt."),
    config: Optional[Path] = typer.Option(None, "--config", help=CONFIG_HELP),
    cohort: Optional[Path] = typer.Option(None, "--cohort", help="Cohort folder naming 'finemap'."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Negative-sampling seed (default: the config's)."),
) -> None:
    """Train/test positives from PIPs and type-matched negatives with balanced weights."""
    from varflow.eqtl.steps import labels_step

    cfg = _config(config, cohort, resolve_files=False)  # labels need only the label rules and the finemap
    finemap = finemap or cfg.finemap or _cohort_file(None, cohort, "finemap", "--finemap")
    prov = provenance("eqtl labels", {"finemap": finemap, "config": config}, seed)
    typer.echo(json.dumps(labels_step(finemap, cfg, outdir, seed=seed, provenance=prov)))


@app.command()
@handles_errors
def train(
    features: Path = typer.Option(..., "--features", help="features.parquet from featurize."),
    contract: Path = typer.Option(..., "--contract", help="contract.json from featurize."),
    labels_path: Path = typer.Option(..., "--labels", help="labels.parquet from labels."),
    outdir: Path = typer.Option(..., "--outdir", help="Writes models, held-out predictions, importances."),
    config: Optional[Path] = typer.Option(None, "--config", help=CONFIG_HELP),
    chrom: Optional[List[str]] = typer.Option(None, "--chrom", help="Held-out chromosome(s); repeat; default all."),
    device: str = typer.Option("cpu", "--device",
                               help="auto | cpu | cuda. cuda trains only the unweighted model on the GPU "
                                    "(non-deterministic); weighted models stay on the CPU (feature_weights is CPU-only)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="CatBoost seed (default: the config's)."),
    iterations: Optional[int] = typer.Option(None, "--iterations", help="Override catboost.iterations."),
    threads: Optional[int] = typer.Option(None, "--threads", help="Override catboost.thread_count (CPU threads)."),
    weights: Optional[Path] = typer.Option(None, "--weights",
                                           help="weights_<chrom>.json from search (or a {category: weight} JSON): "
                                                "the weighted model uses these instead of the config's categories."),
) -> None:
    """Leave-one-chromosome-out CatBoost folds (weighted and unweighted models)."""
    from varflow.device import resolve_device
    from varflow.eqtl.steps import train_step

    cfg = _config(config, None, resolve_files=False)  # training needs weights + recipe, not source files
    if iterations is not None:
        cfg.catboost["iterations"] = iterations
    if threads is not None:
        cfg.catboost["thread_count"] = threads
    dev = resolve_device(device)
    prov = provenance("eqtl train", {"features": features, "labels": labels_path, "config": config,
                                     "chrom": chrom, "device": dev, "iterations": iterations,
                                     "threads": threads, "weights": weights}, seed)
    res = train_step(features, contract, labels_path, cfg, outdir, chroms=chrom or None, device=dev, seed=seed,
                     weights=weights, provenance=prov)
    typer.echo(json.dumps(res))


@app.command()
@handles_errors
def search(
    features: Path = typer.Option(..., "--features", help="features.parquet from featurize."),
    contract: Path = typer.Option(..., "--contract", help="contract.json from featurize."),
    labels_path: Path = typer.Option(..., "--labels", help="labels.parquet from labels."),
    outdir: Path = typer.Option(..., "--outdir", help="Writes weights_<chrom>.json per fold."),
    config: Optional[Path] = typer.Option(None, "--config", help=CONFIG_HELP + " Its search: section sets the budget."),
    chrom: Optional[List[str]] = typer.Option(None, "--chrom", help="Held-out chromosome(s); repeat; default all."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Optuna and CatBoost seed (default: the config's)."),
    trials: Optional[int] = typer.Option(None, "--trials", help="Override search.trials (Optuna trials per fold)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="Override catboost.thread_count (CPU threads)."),
) -> None:
    """Per-category feature weights for each LOCO fold: a seeded two-objective Optuna search (odd -> even
    and even -> odd training chromosomes of the fold, AUPRC); never sees the held-out chromosome."""
    from dataclasses import replace

    from varflow.eqtl.steps import search_step

    cfg = _config(config, None, resolve_files=False)
    if trials is not None:
        cfg.search = replace(cfg.search, trials=trials)
    if threads is not None:
        cfg.catboost["thread_count"] = threads
    res = search_step(features, contract, labels_path, cfg, outdir, chroms=chrom or None, seed=seed)
    typer.echo(json.dumps(res))


@app.command()
@handles_errors
def evaluate(
    train_dir: List[Path] = typer.Argument(..., help="Train output folder(s) whose held-out folds are pooled; folders "
                                                      "trained with --weights join as the searched model."),
    outdir: Path = typer.Option(..., "--outdir", help="Writes metrics.json, importance.parquet, shap_by_category.parquet, "
                                                      "curves.png, importance_by_category.png."),
    n_boot: int = typer.Option(2000, "--n-boot", help="Paired bootstrap replicates."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
) -> None:
    """Pooled / per-chromosome / SNV-only AUPRC and AUROC, bootstrap CI, importance (PredictionValuesChange
    and held-out SHAP by category), plots."""
    from varflow.eqtl.steps import evaluate_step

    rep = evaluate_step(train_dir, outdir, n_boot=n_boot, seed=seed)
    log.info("evaluate: pooled AUPRC weighted %.3f unweighted %.3f distance-only %.3f",
             rep["pooled"]["weighted"]["auprc"], rep["pooled"]["unweighted"]["auprc"],
             rep["pooled"]["distance_only"]["auprc"])
    typer.echo(json.dumps({"pooled": rep["pooled"], "bootstrap": rep["bootstrap_weighted_minus_unweighted"],
                           "weight_comparison": rep.get("weight_comparison")}, default=float))


@app.command()
@handles_errors
def predict(
    features: Path = typer.Option(..., "--features", help="features.parquet (featurized with the model's contract)."),
    out: Path = typer.Option(..., "--out", help="Output prefix: writes PREFIX.parquet and PREFIX.tsv.gz (+ .tbi)."),
    models: Optional[List[Path]] = typer.Argument(None, help="Train output folder(s) with model_<chrom>_*.cbm."),
    model: Optional[Path] = typer.Option(None, "--model", help="Score every row with this one .cbm instead."),
    contract: Optional[Path] = typer.Option(None, "--contract", help="Feature contract (default: <models>/contract.json)."),
    kind: str = typer.Option("weighted", "--kind", help="weighted | unweighted fold models."),
) -> None:
    """Score variant-gene pairs with the model that held out their chromosome."""
    from varflow.eqtl.steps import predict_step

    prov = provenance("eqtl predict", {"features": features, "models": models, "model": model, "kind": kind})
    pred = predict_step(features, list(models or []), out, kind=kind, model=model, contract=contract,
                        provenance=prov)
    typer.echo(json.dumps({"n_predictions": len(pred), "tsv": f"{out}.tsv.gz"}))
