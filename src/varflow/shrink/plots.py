"""PNG figures of a shrink run: shrunk vs raw effects along the chromosome, cluster scatter with
covariance ellipses, gene-test QQ plot, stacked per-gene cluster fractions. Every function works
with one trait as well as several (a single-trait run draws what applies and skips the rest)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402

from varflow.io.atomic import atomic_path  # noqa: E402


def _points(ax, x, y, size: float, color: str, label: str) -> None:
    """Uniform markers as a marker-only line: Agg stamps one marker path, several times faster than
    ``scatter`` (per-point paths) for the ~10^4 SNPs of a chromosome. ``size`` in points (diameter)."""
    ax.plot(x, y, ls="", marker="o", ms=size, mew=0, color=color, label=label)


def _save(fig, path: Path) -> Path:
    # tight_layout (legends included) instead of bbox_inches="tight", which draws the figure twice
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def effects_along_chromosome(effects: pd.DataFrame, trait: str, path: Path) -> Path:
    """Raw beta_hat and shrunk effects against position, one panel per chromosome."""
    chroms = list(dict.fromkeys(effects["CHR"]))
    fig, axes = plt.subplots(len(chroms), 1, figsize=(10, 2.4 * len(chroms)), squeeze=False)
    for ax, chrom in zip(axes[:, 0], chroms):
        sub = effects[effects["CHR"] == chrom]
        _points(ax, sub["POS"] / 1e6, sub["BETA"], 1.7, "0.7", "raw beta_hat")
        _points(ax, sub["POS"] / 1e6, sub["BETA_SHRUNK"], 1.7, "C3", "shrunk")
        ax.set_ylabel(f"{chrom}\neffect")
    axes[0, 0].set_title(f"{trait}: raw vs shrunk effects")
    axes[0, 0].legend(loc="upper right", markerscale=3, fontsize=8)
    axes[-1, 0].set_xlabel("position (Mb)")
    return _save(fig, path)


def cluster_scatter(clusters: pd.DataFrame, model: dict, path: Path) -> Path:
    """Clustered SNPs coloured by cluster; 2-sigma covariance ellipses (2+ traits: first two traits;
    one trait: histogram per cluster)."""
    traits = model["traits"]
    cov = np.array(model["cov"])
    lab = clusters["cluster"].to_numpy()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    if len(traits) >= 2:
        x, y = (clusters[f"BETA_SHRUNK_{t}"].to_numpy() for t in traits[:2])
        _points(ax, x[lab < 0], y[lab < 0], 1.4, "0.85", "not clustered")
        for k in range(len(cov)):
            sel = lab == k
            _points(ax, x[sel], y[sel], 2.0, f"C{k % 10}", f"cluster {k}")
            vals, vecs = np.linalg.eigh(cov[k][:2, :2])
            angle = np.degrees(np.arctan2(vecs[1, -1], vecs[0, -1]))
            ax.add_patch(Ellipse((0, 0), 4 * np.sqrt(vals[-1]), 4 * np.sqrt(max(vals[0], 0)), angle=angle,
                                 fill=False, color=f"C{k % 10}", lw=1.5))
        ax.set_xlabel(f"shrunk effect, {traits[0]}")
        ax.set_ylabel(f"shrunk effect, {traits[1]}")
    else:
        x = clusters[f"BETA_SHRUNK_{traits[0]}"].to_numpy()
        for k in range(len(cov)):
            if (lab == k).any():
                ax.hist(x[lab == k], bins=40, alpha=0.6, color=f"C{k % 10}", label=f"cluster {k} (sd {np.sqrt(cov[k][0, 0]):.2g})")
        ax.set_xlabel(f"shrunk effect, {traits[0]}")
        ax.set_ylabel("SNPs")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7, markerscale=2)  # outside: "best" scans every point
    ax.set_title("clusters of shrunk effects")
    return _save(fig, path)


def qq_plot(tests: dict[str, pd.DataFrame], path: Path) -> Path:
    """-log10 observed vs expected p-values of the gene tests, one series per trait."""
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    top = 1.0
    for i, (trait, df) in enumerate(tests.items()):
        p = np.sort(df["P"].dropna().to_numpy())
        if p.size == 0:
            continue
        exp = -np.log10((np.arange(1, p.size + 1) - 0.5) / p.size)
        obs = -np.log10(np.clip(p, 1e-300, 1))
        _points(ax, exp, obs, 2.5, f"C{i}", trait)
        top = max(top, exp.max(), obs.max())
    ax.plot([0, top], [0, top], c="0.5", lw=1)
    ax.set_xlabel("expected -log10 p")
    ax.set_ylabel("observed -log10 p")
    ax.set_title("gene tests")
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def gene_cluster_fractions(summary: pd.DataFrame, path: Path, max_genes: int = 40) -> Path:
    """Stacked bars of each gene's SNP fractions per cluster (the genes with most clustered SNPs)."""
    cols = [c for c in summary.columns if c.startswith("frac_c")]
    df = summary[summary["n_snps"] > 0].copy()
    df["clustered"] = df[cols].sum(axis=1)
    df = df.sort_values("clustered", ascending=False).head(max_genes)
    fig, ax = plt.subplots(figsize=(max(6, 0.25 * len(df)), 4))
    bottom = np.zeros(len(df))
    for k, col in enumerate(cols):
        ax.bar(np.arange(len(df)), df[col], bottom=bottom, color=f"C{k % 10}", label=col.replace("frac_c", "cluster "))
        bottom += df[col].to_numpy()
    ax.set_xticks(np.arange(len(df)), df["gene"], rotation=90, fontsize=6)
    ax.set_ylabel("fraction of the gene's SNPs")
    ax.set_title("per-gene cluster fractions")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7)  # outside the bars; "best" is slow
    return _save(fig, path)
