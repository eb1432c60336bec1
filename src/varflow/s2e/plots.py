"""Evaluation plots (PNG): per-gene Pearson distributions, model vs baseline, gene means."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def plot_evaluation(metrics: pd.DataFrame, outdir: Path) -> list[Path]:
    """Write ``pearson_hist.png``, ``model_vs_enet.png`` (when the baseline ran) and ``gene_means.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    has_enet = "pearson_enet" in metrics.columns
    fig, ax = plt.subplots(figsize=(5, 3.5))
    bins = np.linspace(-1, 1, 21)
    ax.hist(metrics["pearson_model"].dropna(), bins=bins, alpha=0.6, label="personal model")
    if has_enet:
        ax.hist(metrics["pearson_enet"].dropna(), bins=bins, alpha=0.6, label="elastic net")
    ax.set_xlabel("per-gene Pearson r (test individuals)")
    ax.set_ylabel("genes")
    ax.legend()
    fig.tight_layout()
    written.append(outdir / "pearson_hist.png")
    fig.savefig(written[-1], dpi=100)
    plt.close(fig)
    if has_enet:
        fig, ax = plt.subplots(figsize=(4, 4))
        ax.scatter(metrics["pearson_enet"], metrics["pearson_model"], s=10)
        ax.plot([-1, 1], [-1, 1], color="grey", lw=0.8)
        ax.set_xlabel("elastic net r")
        ax.set_ylabel("personal model r")
        fig.tight_layout()
        written.append(outdir / "model_vs_enet.png")
        fig.savefig(written[-1], dpi=100)
        plt.close(fig)
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.scatter(metrics["mean_observed"], metrics["mean_predicted"], s=10)
    ax.set_xlabel("observed gene mean")
    ax.set_ylabel("predicted gene mean")
    fig.tight_layout()
    written.append(outdir / "gene_means.png")
    fig.savefig(written[-1], dpi=100)
    plt.close(fig)
    return written
