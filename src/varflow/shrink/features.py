"""Per-SNP features for the shrinkage network, computed inside each SNP's own LD block.

Feature layout (F = 2 * top_r + 3 columns; 33 for top_r = 15), in this order:
  0            beta_hat of the SNP
  1            its SE
  2            its within-block LD score, sum_j r_ij^2 - 1
  3 .. 3+r-1   beta_hat of its top-r neighbours ranked by signed r, descending (self excluded)
  3+r .. 2r+2  those neighbours' r values
Blocks with fewer than top_r + 1 SNPs pad the missing neighbours with beta 0 and r 0.
"""

from __future__ import annotations

import numpy as np

TOP_R = 15


def n_features(top_r: int = TOP_R) -> int:
    return 2 * top_r + 3


def block_features(beta: np.ndarray, se: np.ndarray, r: np.ndarray, top_r: int = TOP_R) -> np.ndarray:
    """Features of the m SNPs of one block.

    ``beta``, ``se`` (m,) on the block's SNPs in LD order; ``r`` (m, m) that block's LD.
    Returns (m, 2 * top_r + 3) float32. Neighbours are taken from this block's own ``beta`` — never
    from another block's. Ties in r are broken by the lower SNP index (stable sort).
    """
    m = len(beta)
    out = np.zeros((m, n_features(top_r)), dtype=np.float32)
    out[:, 0] = beta
    out[:, 1] = se
    r64 = r.astype(np.float64, copy=False)
    out[:, 2] = np.einsum("ij,ij->i", r64, r64) - 1.0
    k = min(top_r, m - 1)
    if k > 0:
        masked = r64.copy()
        np.fill_diagonal(masked, -np.inf)
        order = top_neighbours(masked, k)
        out[:, 3:3 + k] = beta[order]
        out[:, 3 + top_r:3 + top_r + k] = np.take_along_axis(r64, order, axis=1)
    return out


def top_neighbours(masked: np.ndarray, k: int, spare: int = 8) -> np.ndarray:
    """Column indices (m, k) of each row's k largest values, descending, ties to the lower index —
    the same as a stable full argsort of -masked, in O(m^2) instead of O(m^2 log m).

    Partition out k + spare candidates per row, order them by (value desc, index asc); a row is exact
    when its k-th value is strictly above the smallest candidate (no excluded value can tie with it);
    the rare other rows fall back to the full stable sort.
    """
    m = masked.shape[1]
    n_cand = k + spare
    if n_cand >= m:
        return np.argsort(-masked, axis=1, kind="stable")[:, :k]
    cand = np.argpartition(-masked, n_cand - 1, axis=1)[:, :n_cand]
    vals = np.take_along_axis(masked, cand, axis=1)
    order = np.lexsort((cand, -vals), axis=1)
    cand = np.take_along_axis(cand, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    ambiguous = vals[:, k - 1] <= vals[:, -1]
    top = cand[:, :k]
    if ambiguous.any():
        top[ambiguous] = np.argsort(-masked[ambiguous], axis=1, kind="stable")[:, :k]
    return top


def compute_features(beta: np.ndarray, se: np.ndarray, blocks: list[np.ndarray], top_r: int = TOP_R
                     ) -> np.ndarray:
    """Features of every SNP of a chromosome.

    ``beta``, ``se`` (J,) in LD order; ``blocks`` the per-block LD matrices in order, sizes summing to J.
    Returns (J, 2 * top_r + 3) float32.
    """
    sizes = [b.shape[0] for b in blocks]
    if sum(sizes) != len(beta):
        raise ValueError(f"blocks cover {sum(sizes)} SNPs but {len(beta)} betas were given")
    edges = np.concatenate([[0], np.cumsum(sizes)])
    parts = [block_features(beta[s:e], se[s:e], blk, top_r) for s, e, blk in zip(edges[:-1], edges[1:], blocks)]
    return np.concatenate(parts, axis=0) if parts else np.zeros((0, n_features(top_r)), np.float32)
