"""Elastic-net baseline for effect shrinkage: per LD block, regress beta_hat on the row-normalised LD."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNetCV


def enet_block(beta_hat: np.ndarray, r: np.ndarray, seed: int = 0) -> np.ndarray:
    """Elastic-net effects (m,) of one block: X = R with each row scaled to unit L2 norm, y = beta_hat,
    ElasticNetCV(l1_ratio 0.5, 5-fold, 10 alphas, no intercept); ``seed`` fixes the coordinate order."""
    m = len(beta_hat)
    if m < 10:  # too few rows for 5-fold CV: leave the block unshrunk
        return beta_hat.astype(np.float64).copy()
    X = r.astype(np.float64)
    X = X / np.linalg.norm(X, axis=1, keepdims=True)
    # LD rows are highly collinear: cyclic coordinate descent at sklearn's default tol takes minutes per
    # 1000-SNP block; a precomputed Gram matrix, seeded random coordinate order and tol 1e-3 take seconds.
    model = ElasticNetCV(l1_ratio=0.5, cv=5, alphas=10, fit_intercept=False, precompute=True, max_iter=1000,
                         tol=1e-3, selection="random", random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, beta_hat.astype(np.float64))
    return model.coef_.astype(np.float64)


def enet_effects(beta_hat: np.ndarray, blocks: list[np.ndarray], seed: int = 0) -> np.ndarray:
    """Elastic-net effects (J,) for all blocks in order (``blocks`` LD matrices sizes summing to J)."""
    edges = np.concatenate([[0], np.cumsum([b.shape[0] for b in blocks])])
    out = np.empty(len(beta_hat))
    for a, b, blk in zip(edges[:-1], edges[1:], blocks):
        out[a:b] = enet_block(beta_hat[a:b], blk, seed)
    return out
