"""Step 4: pooled held-out metrics, per chromosome and SNV-only; paired bootstrap; importance; plots.

Metrics: AUPRC = average precision (step-wise, as scikit-learn defines it), AUROC. The paired bootstrap
resamples held-out rows (same rows for both models) ``n_boot`` times and reports the 2.5/97.5
percentiles of AUPRC(weighted) - AUPRC(unweighted). The distance-only baseline ranks by closeness to
the TSS (-abs_distance_TSS_log).

Importance per feature category, two ways: PredictionValuesChange (CatBoost's default, from the training
rows; each model's sums to 100) and SHAP on the held-out rows (``shap_<c>.parquet`` of each fold, pooled
over all held-out rows into ``shap_by_category.parquet``), side by side in ``importance_by_category.png``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from varflow.eqtl.schemas import HELDOUT
from varflow.eqtl.train import MODEL_KINDS
from varflow.errors import VarflowError
from varflow.io.atomic import atomic_path, ensure_writable_dir
from varflow.io.tables import read_table

log = logging.getLogger("varflow")

SCORES = {"weighted": "prob_weighted", "unweighted": "prob_unweighted", "distance_only": "neg_distance"}


def average_precision(y: np.ndarray, score: np.ndarray) -> float:
    """AP = sum_k (R_k - R_{k-1}) P_k over distinct score thresholds (ties share one threshold).

    y: (N,) 0/1; score: (N,) float. NaN when y has no positive.
    """
    y = np.asarray(y, dtype=float)
    n_pos = y.sum()
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    s, t = np.asarray(score, dtype=float)[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]   # end of each tie block
    tp = np.cumsum(t)[last]
    precision = tp / (last + 1)
    recall_step = np.diff(np.r_[0.0, tp]) / n_pos
    return float(np.sum(recall_step * precision))


def _auroc(y: np.ndarray, score: np.ndarray) -> float:
    return float(roc_auc_score(y, score)) if 0 < y.sum() < len(y) else float("nan")


def metrics(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """{model: {auprc, auroc}} for the rows of ``frame`` (needs label and SCORES columns)."""
    y = frame["label"].to_numpy()
    return {m: {"auprc": average_precision(y, frame[c].to_numpy()), "auroc": _auroc(y, frame[c].to_numpy())}
            for m, c in SCORES.items()}


def paired_bootstrap(y: np.ndarray, a: np.ndarray, b: np.ndarray, n_boot: int, seed: int) -> dict[str, float]:
    """Bootstrap CI of AP(a) - AP(b) over rows resampled with replacement (paired: same rows for both)."""
    rng = np.random.default_rng(seed)
    n = len(y)
    diffs = np.empty(n_boot)
    for i in range(n_boot):
        idx = rng.integers(0, n, n)
        diffs[i] = average_precision(y[idx], a[idx]) - average_precision(y[idx], b[idx])
    diffs = diffs[np.isfinite(diffs)]
    lo, hi = np.percentile(diffs, [2.5, 97.5]) if diffs.size else (np.nan, np.nan)
    return {"diff": average_precision(y, a) - average_precision(y, b), "ci_low": float(lo), "ci_high": float(hi),
            "n_boot": int(n_boot), "p_le_0": float(np.mean(diffs <= 0)) if diffs.size else float("nan")}


def read_heldout(train_dirs: list[Path]) -> pd.DataFrame:
    """All held-out predictions found in the train output folders (one chromosome per fold file)."""
    held = [read_table(f, HELDOUT) for d in train_dirs for f in sorted(Path(d).glob("heldout_*.parquet"))]
    if not held:
        raise VarflowError(f"no held-out predictions (heldout_*.parquet) in {', '.join(map(str, train_dirs))}")
    chroms = [c for h in held for c in h["chrom"].unique()]
    if len(chroms) != len(set(chroms)):
        raise VarflowError("held-out predictions of the same chromosome appear in more than one fold file")
    held = pd.concat(held, ignore_index=True)
    if held["prob_unweighted"].isna().any():
        raise VarflowError("held-out predictions without an unweighted model (folds trained with searched weights "
                           "fit the weighted model only): evaluate them beside the fixed-weight folds")
    return held


def read_fold_tables(train_dirs: list[Path], prefix: str) -> pd.DataFrame:
    """The per-fold ``<prefix>_<chrom>.parquet`` tables of the train folders, stacked (empty if none)."""
    parts = [read_table(f) for d in train_dirs for f in sorted(Path(d).glob(f"{prefix}_*.parquet"))]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def pool_shap(shap: pd.DataFrame) -> pd.DataFrame:
    """Per-fold category SHAP (columns fold, category, n_rows, mean_abs_shap_<kind>, mean_shap_<kind>)
    plus rows of fold ``pooled``: the means over every held-out row, i.e. the fold means weighted by
    n_rows. Sorted by fold (pooled last) and category."""
    values = [c for c in shap.columns if c.startswith(("mean_abs_shap_", "mean_shap_"))]
    weighted = shap[values].mul(shap["n_rows"], axis=0).assign(category=shap["category"], n_rows=shap["n_rows"])
    sums = weighted.groupby("category").sum()
    pooled = sums[values].div(sums["n_rows"], axis=0).assign(n_rows=sums["n_rows"], fold="pooled").reset_index()
    folds = shap.sort_values(["fold", "category"])
    return pd.concat([folds, pooled], ignore_index=True)[["fold", "category", "n_rows", *values]]


def category_importance(importance: pd.DataFrame, shap: pd.DataFrame) -> pd.DataFrame:
    """One row per category, per model kind: PredictionValuesChange share (%, mean over folds, summed
    over the category's features) next to the pooled held-out SHAP (mean |.| with its share in %, and
    the signed mean). importance: per-fold feature table; shap: ``pool_shap`` output."""
    pvc = (importance.groupby(["fold", "category"])[[f"importance_{k}" for k in MODEL_KINDS]].sum()
           .groupby("category").mean())
    pooled = shap[shap["fold"] == "pooled"].set_index("category")
    out = pd.DataFrame(index=pvc.index.union(pooled.index).rename("category"))
    for kind in MODEL_KINDS:
        out[f"pvc_pct_{kind}"] = pvc[f"importance_{kind}"]
        out[f"mean_abs_shap_{kind}"] = pooled[f"mean_abs_shap_{kind}"]
        out[f"shap_pct_{kind}"] = 100 * out[f"mean_abs_shap_{kind}"] / out[f"mean_abs_shap_{kind}"].sum()
        out[f"mean_shap_{kind}"] = pooled[f"mean_shap_{kind}"]
    return out.sort_values("shap_pct_weighted", ascending=False).reset_index()


def evaluate(heldout: pd.DataFrame, importance: pd.DataFrame, shap: pd.DataFrame | None = None, *,
             n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Pooled, per-chromosome and SNV-only metrics, bootstrap CI, aggregated importance and, given the
    ``pool_shap`` table, importance by category (PredictionValuesChange next to SHAP; a JSON-able dict)."""
    frame = heldout.copy()
    frame["neg_distance"] = -frame["abs_distance_TSS_log"]
    y = frame["label"].to_numpy()
    report: dict[str, Any] = {
        "n_heldout": int(len(frame)), "n_positive": int(y.sum()),
        "chromosomes": sorted(frame["chrom"].unique().tolist()),
        "pooled": metrics(frame),
        "snv_only": metrics(frame[frame["is_SNP"] == 1]),
        "per_chromosome": {c: metrics(g) for c, g in frame.groupby("chrom")},
        "bootstrap_weighted_minus_unweighted": paired_bootstrap(
            y, frame["prob_weighted"].to_numpy(), frame["prob_unweighted"].to_numpy(), n_boot, seed),
    }
    if not importance.empty:
        agg = (importance.groupby(["feature", "category"], as_index=False)
               [["importance_weighted", "importance_unweighted"]].mean()
               .sort_values("importance_weighted", ascending=False))
        report["importance_top"] = agg.head(20).to_dict(orient="records")
        report["importance_by_category"] = (agg.groupby("category")[["importance_weighted",
                                                                      "importance_unweighted"]]
                                            .sum().to_dict(orient="index"))
    if shap is not None and not shap.empty and not importance.empty:
        report["shap_by_category"] = category_importance(importance, shap).to_dict(orient="records")
    return report


def plot_curves(heldout: pd.DataFrame, path: Path) -> Path:
    """PR and ROC curves of the pooled held-out predictions (weighted, unweighted, distance-only) as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    frame = heldout.assign(neg_distance=-heldout["abs_distance_TSS_log"])
    y = frame["label"].to_numpy()
    fig, (ax_pr, ax_roc) = plt.subplots(1, 2, figsize=(10, 4.5))
    for name, col in SCORES.items():
        s = frame[col].to_numpy()
        p, r, _ = precision_recall_curve(y, s)
        ax_pr.step(r, p, where="post", label=f"{name} (AP {average_precision(y, s):.3f})")
        fpr, tpr, _ = roc_curve(y, s)
        ax_roc.plot(fpr, tpr, label=f"{name} (AUC {_auroc(y, s):.3f})")
    ax_pr.set(xlabel="recall", ylabel="precision", title="held-out precision-recall")
    ax_roc.set(xlabel="false positive rate", ylabel="true positive rate", title="held-out ROC")
    ax_roc.plot([0, 1], [0, 1], color="grey", lw=0.5)
    for ax in (ax_pr, ax_roc):
        ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path


def plot_category_importance(table: pd.DataFrame, path: Path) -> Path:
    """Bar plot PNG of ``category_importance``: per model kind, each category's share (%) of
    PredictionValuesChange and of mean |SHAP| on the held-out rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y = np.arange(len(table))
    fig, axes = plt.subplots(1, len(MODEL_KINDS), figsize=(10, 1.2 + 0.45 * len(table)), sharey=True)
    for ax, kind in zip(axes, MODEL_KINDS):
        ax.barh(y - 0.2, table[f"pvc_pct_{kind}"], height=0.4, label="PredictionValuesChange")
        ax.barh(y + 0.2, table[f"shap_pct_{kind}"], height=0.4, label="mean |SHAP|, held-out rows")
        ax.set(xlabel="share of importance (%)", title=f"{kind} model")
    axes[0].set_yticks(y, table["category"])
    axes[0].invert_yaxis()
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path


def evaluate_dirs(train_dirs: list[Path], outdir: Path, *, n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """``evaluate`` on train output folders; writes metrics.json, importance.parquet, curves.png and,
    when the folds have SHAP tables, shap_by_category.parquet and importance_by_category.png."""
    heldout = read_heldout(train_dirs)
    importance = read_fold_tables(train_dirs, "importance")
    shap = read_fold_tables(train_dirs, "shap")
    shap = pool_shap(shap) if not shap.empty else shap
    report = evaluate(heldout, importance, shap, n_boot=n_boot, seed=seed)
    outdir = ensure_writable_dir(Path(outdir))
    with atomic_path(outdir / "metrics.json", suffix=".json") as tmp:
        tmp.write_text(json.dumps(report, indent=1, default=float))
    for name, frame in (("importance", importance), ("shap_by_category", shap)):
        if not frame.empty:
            with atomic_path(outdir / f"{name}.parquet", suffix=".parquet") as tmp:
                frame.to_parquet(tmp, index=False)
    plot_curves(heldout, outdir / "curves.png")
    if "shap_by_category" in report:
        plot_category_importance(pd.DataFrame(report["shap_by_category"]), outdir / "importance_by_category.png")
    return report
