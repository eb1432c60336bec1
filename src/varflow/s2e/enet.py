"""PrediXcan-style elastic-net baseline: per gene, 0/1/2 alt dosages of the window's variants with
MAF > 0.01 (training individuals), l1_ratio 0.5, alpha chosen by validation-individual MSE."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet

L1_RATIO = 0.5


def fit_predict_gene(x: np.ndarray, y: np.ndarray, train: np.ndarray, val: np.ndarray, predict: np.ndarray,
                     *, min_maf: float = 0.01, n_alphas: int = 12) -> tuple[np.ndarray, int, float]:
    """Fit on ``train`` rows, choose alpha on ``val`` rows, predict ``predict`` rows.

    ``x`` (N, M) dosages, ``y`` (N,) target (NaN allowed outside the rows used). Returns
    (predictions (len(predict),), number of variants used, chosen alpha; NaN when none pass the MAF
    filter, in which case the prediction is 0, the training mean of a z-scored target).
    """
    af = x[train].mean(axis=0) / 2.0
    use = np.minimum(af, 1.0 - af) > min_maf
    if not use.any():
        return np.zeros(predict.shape[0]), 0, float("nan")
    x = x[:, use]
    mu, sd = x[train].mean(axis=0), x[train].std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    z = (x - mu) / sd
    yt = y[train]
    alpha_max = np.abs(z[train].T @ (yt - yt.mean())).max() / (train.shape[0] * L1_RATIO)
    alphas = alpha_max * np.logspace(0, -3, n_alphas) if alpha_max > 0 else np.array([1.0])
    best, best_mse = None, np.inf
    model = ElasticNet(l1_ratio=L1_RATIO, warm_start=True, max_iter=5000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for alpha in alphas:  # decreasing alpha with warm starts: one regularisation path
            model.set_params(alpha=alpha)
            model.fit(z[train], yt)
            mse = float(np.mean((model.predict(z[val]) - y[val]) ** 2)) if val.size else 0.0
            if mse < best_mse - 1e-12:
                best, best_mse = (alpha, model.coef_.copy(), float(model.intercept_)), mse
    alpha, coef, intercept = best
    return z[predict] @ coef + intercept, int(use.sum()), float(alpha)
