"""Per-gene and across-gene Pearson correlations."""

from __future__ import annotations

import numpy as np
import pandas as pd


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r of two (n,) arrays; NaN when n < 3 or either is constant."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape[0] < 3:
        return float("nan")
    x, y = x - x.mean(), y - y.mean()
    den = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / den) if den > 1e-12 else float("nan")


def per_gene_pearson(gene: np.ndarray, observed: np.ndarray, predicted: np.ndarray) -> pd.Series:
    """Pearson r between observed and predicted values across individuals, per gene: Series by gene."""
    frame = pd.DataFrame({"gene": gene, "obs": observed, "pred": predicted})
    return frame.groupby("gene", sort=True).apply(lambda d: pearson(d["obs"], d["pred"]), include_groups=False)
