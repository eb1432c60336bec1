"""Held-out evaluation of a trained personal model and of the elastic-net dosage baseline.

Per gene: Pearson between observed and predicted deviation across the test individuals (for every
gene with expression, labelled by its gene split: ``train`` genes were seen in training, ``val`` and
``test`` genes never were); across genes: Pearson between the predicted and observed gene mean
(training-individual mean) per gene split and on all genes, for the reference model (the bundle's
reference phase) and for the personal model's mean head.

Model-vs-elastic-net medians are taken over the same genes, with an undefined per-gene r (a constant
prediction: the elastic net kept no variant) counted as 0, since such a prediction carries no signal.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from varflow.s2e.dataset import align_expression, apply_variant_options, compute_labels
from varflow.s2e.enet import fit_predict_gene
from varflow.s2e.inference import predict_grid, predict_reference
from varflow.s2e.metrics import pearson, per_gene_pearson
from varflow.s2e.models import ModelConfig, ReferenceModel, model_from_bundle
from varflow.s2e.store import HaplotypeStore
from varflow.s2e.train import TrainConfig, TrainingData

log = logging.getLogger("varflow")


def restore_variant_options(store: HaplotypeStore, bundle: dict) -> None:
    """Apply the SNV/allele-frequency options the model was trained with (AF on its training individuals)."""
    cfg = TrainConfig.from_dict(bundle["train_config"])
    if cfg.snvs_only or cfg.min_af > 0 or cfg.max_af < 1:
        pos = {s: i for i, s in enumerate(store.samples)}
        train = np.array(sorted(pos[s] for s in bundle["splits"]["individuals"]["train"] if s in pos), dtype=np.int64)
        apply_variant_options(store, train, snvs_only=cfg.snvs_only, min_af=cfg.min_af, max_af=cfg.max_af)


def enet_baseline(store: HaplotypeStore, data: TrainingData, genes: np.ndarray) -> pd.DataFrame:
    """Elastic-net predictions of the test individuals' deviation: rows (gene, sample, enet_pred)."""
    tr, va, te = data.samples["train"], data.samples["val"], data.samples["test"]
    rows = []
    for g in genes:
        x = store.dosages(int(g), np.arange(len(store.samples))).astype(np.float64)
        y = data.labels.dev[g].astype(np.float64)
        pred, n_used, alpha = fit_predict_gene(x, y, tr, va, te)
        rows.append(pd.DataFrame({"gene": g, "sample": te, "enet_pred": pred, "enet_variants": n_used,
                                  "enet_alpha": alpha}))
    return pd.concat(rows, ignore_index=True)


def evaluate_model(store: HaplotypeStore, data: TrainingData, bundle: dict, *, device: str = "cpu",
                   batch_size: int = 32, with_enet: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Returns (per-gene metrics, per-(gene, individual) predictions, summary figures)."""
    restore_variant_options(store, bundle)
    model = model_from_bundle(bundle).to(device)
    amp = bool(bundle["train_config"].get("amp", True))
    genes = np.flatnonzero(data.labels.has_expr)
    test = data.samples["test"]
    pairs = np.stack(np.meshgrid(genes, test, indexing="ij"), axis=-1).reshape(-1, 2)
    _, pred = predict_grid(model, store, genes, test, device=device, batch_size=batch_size, amp=amp)
    pred = pred.reshape(-1)  # genes x test individuals, the order of pairs
    obs = data.labels.dev[pairs[:, 0], pairs[:, 1]]
    preds = pd.DataFrame({"gene": pairs[:, 0], "sample": pairs[:, 1], "observed": obs, "predicted": pred})
    if with_enet:
        preds = preds.merge(enet_baseline(store, data, genes), on=["gene", "sample"], how="left")
    split_of = {store.gene_index[g]: s for s, ids in data.splits["genes"].items() for g in ids
                if g in store.gene_index}
    metrics = pd.DataFrame({"gene": genes})
    metrics["gene_id"] = store.genes["gene_id"].to_numpy()[genes]
    metrics["gene_split"] = [split_of.get(int(g), "none") for g in genes]
    metrics["n_variants"] = [store.n_gene_variants(int(g)) for g in genes]
    metrics["pearson_model"] = per_gene_pearson(preds["gene"], preds["observed"], preds["predicted"]
                                                ).reindex(genes).to_numpy()
    if with_enet:
        metrics["pearson_enet"] = per_gene_pearson(preds["gene"], preds["observed"], preds["enet_pred"]
                                                   ).reindex(genes).to_numpy()
        metrics["enet_variants"] = preds.groupby("gene")["enet_variants"].first().reindex(genes).to_numpy()
    metrics["mean_observed"] = data.labels.mean[genes]
    metrics["mean_predicted"] = _gene_means(model, store, genes, bundle, device, batch_size, amp)
    if "reference_state" in bundle:
        ref_model = ReferenceModel(ModelConfig(**bundle["model_config"]))
        ref_model.load_state_dict(bundle["reference_state"])
        metrics["mean_predicted_reference"] = _gene_means(ref_model.to(device), store, genes, bundle, device,
                                                          batch_size, amp)
    summary = _summary(metrics, with_enet)
    preds.insert(0, "gene_id", store.genes["gene_id"].to_numpy()[preds["gene"]])
    preds.insert(1, "individual", np.asarray(store.samples)[preds["sample"]])
    preds = preds.drop(columns=["gene", "sample"])
    metrics = metrics.drop(columns=["gene"])
    return metrics, preds, summary


def _gene_means(model, store: HaplotypeStore, genes: np.ndarray, bundle: dict, device: str, batch_size: int,
                amp: bool) -> np.ndarray:
    """Predicted gene means in expression units, (len(genes),) float."""
    pred = predict_reference(model, store, genes, device=device, batch_size=batch_size, amp=amp)
    return pred * bundle.get("mean_scale", 1.0) + bundle.get("mean_offset", 0.0)


def _split_figures(metrics: pd.DataFrame, with_enet: bool) -> dict:
    """Per gene split (train | val | test | all): gene count, median per-gene r of model and elastic net
    on the same genes (undefined r as 0) and their ratio, and the across-gene r of predicted means."""
    out: dict = {}
    for split in ("train", "val", "test", "all"):
        m = metrics if split == "all" else metrics[metrics["gene_split"] == split]
        if m.empty:
            continue
        row = {"n_genes": int(len(m)),
               "median_pearson_model": float(np.median(m["pearson_model"].fillna(0.0))),
               "mean_pearson_personal": pearson(m["mean_observed"], m["mean_predicted"])}
        if "mean_predicted_reference" in m:
            row["mean_pearson_reference"] = pearson(m["mean_observed"], m["mean_predicted_reference"])
        if with_enet:
            row["median_pearson_enet"] = float(np.median(m["pearson_enet"].fillna(0.0)))
            row["model_over_enet"] = (row["median_pearson_model"] / row["median_pearson_enet"]
                                      if row["median_pearson_enet"] > 0 else float("nan"))
        out[split] = row
    return out


def _summary(metrics: pd.DataFrame, with_enet: bool) -> dict:
    out: dict = {"n_genes": int(len(metrics))}
    for col in ("pearson_model", "pearson_enet") if with_enet else ("pearson_model",):
        r = metrics[col].to_numpy(dtype=float)
        out[f"median_{col}"] = float(np.nanmedian(r)) if np.isfinite(r).any() else float("nan")
        out[f"quartiles_{col}"] = [float(q) for q in np.nanpercentile(r, [25, 75])] if np.isfinite(r).any() else []
        out[f"n_finite_{col}"] = int(np.isfinite(r).sum())
    for split in ("train", "val", "test"):
        r = metrics.loc[metrics["gene_split"] == split, "pearson_model"].to_numpy(dtype=float)
        if np.isfinite(r).any():
            out[f"median_pearson_model_{split}_genes"] = float(np.nanmedian(r))
    for part in ("test", "all"):
        m = metrics if part == "all" else metrics[metrics["gene_split"] == "test"]
        out[f"across_gene_pearson_mean_{part}"] = pearson(m["mean_observed"], m["mean_predicted"])
    out["by_gene_split"] = _split_figures(metrics, with_enet)
    return out


def write_plots(metrics: pd.DataFrame, outdir: Path) -> list[Path]:
    from varflow.s2e.plots import plot_evaluation

    return plot_evaluation(metrics, outdir)


def labels_for(bundle: dict, store: HaplotypeStore, expression: pd.DataFrame,
               source: str = "expression") -> TrainingData:
    """Training data for a saved model: its splits, labels from its training individuals only."""
    expr, _ = align_expression(expression, store, source)
    pos = {s: i for i, s in enumerate(store.samples)}
    train = np.array(sorted(pos[s] for s in bundle["splits"]["individuals"]["train"] if s in pos), dtype=np.int64)
    return TrainingData.build(store, compute_labels(expr, train), bundle["splits"])
