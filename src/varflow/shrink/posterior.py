"""Shrunk effects as the posterior mean of each LD block under the network's SNP-specific prior.

Within a block of m SNPs with LD R (m, m), marginal z-scores follow z ~ N(R zeta, R) given the joint
effects zeta (z units). Under the prior zeta_j ~ N(0, d_j), d_j the network's prior variance of SNP j,
the posterior mean is

    E[zeta | z] = (R + D^-1)^-1 z = D^1/2 (D^1/2 R D^1/2 + I)^-1 D^1/2 z,

computed in the second form (a Cholesky solve of a matrix with eigenvalues >= 1, stable for d_j -> 0
and for rank-deficient panel LD). This is where the whole block's LD enters: the network decides how
much prior weight each SNP deserves from its local features, the solve shares each association signal
among the SNPs that tag it and removes what neighbours explain, and the result is calibrated as a
Bayesian posterior mean is (benchmarks/shrink_accuracy.py measures the slopes).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg


def _whitened(r: np.ndarray, prior_var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(D^1/2 (m,), D^1/2 R D^1/2 + I (m, m)) in float64: the well-conditioned form both maps use."""
    s = np.sqrt(np.clip(np.asarray(prior_var, np.float64), 0.0, None))
    a = s[:, None] * r.astype(np.float64) * s[None, :]
    a[np.diag_indices_from(a)] += 1.0
    return s, a


def block_posterior_mean(z: np.ndarray, r: np.ndarray, prior_var: np.ndarray) -> np.ndarray:
    """Posterior-mean joint effects (m,) float64 in z units of one block: ``z`` (m,) marginal z-scores,
    ``r`` (m, m) the block's LD, ``prior_var`` (m,) >= 0 prior variances in z units^2."""
    s, a = _whitened(r, prior_var)
    return s * linalg.solve(a, s * np.asarray(z, np.float64), assume_a="pos", check_finite=False)


def posterior_operator(r: np.ndarray, prior_var: np.ndarray) -> np.ndarray:
    """The block's linear map A (m, m) from z to the posterior mean, A = (R + D^-1)^-1 = D^1/2 (D^1/2 R
    D^1/2 + I)^-1 D^1/2 (symmetric; float64). The gene test's conditional null needs it whole; the
    inverse goes through the Cholesky factor (LAPACK potrf + potri: half the work of a general inverse)."""
    s, a = _whitened(r, prior_var)
    factor, info = linalg.lapack.dpotrf(a, lower=True)
    if info == 0:
        inv, info = linalg.lapack.dpotri(factor, lower=True)
    if info != 0:  # not numerically positive definite (cannot happen for eigenvalues >= 1 but NaN input)
        raise ValueError(f"posterior operator: Cholesky failed (LAPACK info {info})")
    inv = np.tril(inv) + np.tril(inv, -1).T  # potri fills one triangle
    return s[:, None] * inv * s[None, :]


def posterior_means(z: np.ndarray, blocks: list[np.ndarray], prior_var: np.ndarray) -> np.ndarray:
    """Posterior-mean joint effects (J,) in z units of every block in order (``blocks`` LD matrices
    with sizes summing to J; ``z``, ``prior_var`` (J,))."""
    edges = np.concatenate([[0], np.cumsum([b.shape[0] for b in blocks])]).astype(int)
    out = np.empty(len(z))
    for a, b, blk in zip(edges[:-1], edges[1:], blocks):
        out[a:b] = block_posterior_mean(z[a:b], blk, prior_var[a:b])
    return out
