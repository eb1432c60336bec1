"""Per-SNP features for the shrinkage network, scale-free, computed inside each SNP's own LD block.

Every beta-like input is a marginal z-score z = beta_hat / SE (so nothing depends on the trait's units
or the GWAS sample size), divided by the block's RMS z, c_b = sqrt(mean z^2), so that a block of
z ~ 100 and one of z ~ 2 present the same ranges to the network. The network predicts the joint
effect in z units over the block's effect unit u_b = sqrt(max(s2_b, U2_MIN)), s2_b the block's
per-SNP signal (below), so that every block's targets have a mean square near 1 and sparse and dense,
weak and strong blocks weigh alike in the loss. u_b is itself a feature (column 5+2r), so the
prediction E[zeta / u_b | features] times u_b is exactly E[zeta | features]; times the SNP's SE it is
the effect in the GWAS's units (``varflow.shrink.model``).

Feature layout (F = 2 * top_r + 6 columns; 36 for top_r = 15), in this order:
  0             z / c_b of the SNP
  1             its within-block LD score, sum_j r_ij^2 - 1
  2 .. 1+r      z / c_b of its top-r neighbours ranked by signed r, descending (self excluded)
  2+r .. 1+2r   those neighbours' r values
  2+2r          block signal: log of the block's mean z^2 (= 2 log c_b)
  3+2r          block spread: log of the block's median z^2 over the median of chi2_1 (0.4549)
  4+2r          the block's infinitesimal-model posterior mean of the SNP's joint effect, / c_b
  5+2r          log u_b^2: the block's per-SNP signal s2_b = (mean z^2 - 1) / mean(LD score + 1), floored
Blocks with fewer than top_r + 1 SNPs pad the missing neighbours with z 0 and r 0.

The last four are not in ML-MAGES. The two block statistics tell the network how much signal the
block holds and whether it is spread over many SNPs (median inflated: polygenic) or concentrated in a
few (mean up, median not: sparse): the posterior mean of a z = 2 SNP differs by an order of magnitude
between those, so without them one network cannot be calibrated from sparse to dense and from N = 10k
to 1M. The infinitesimal estimate (LDpred-inf within the block: zeta = (R + I / s2)^-1 z, with the
per-SNP signal s2 = (mean z^2 - 1) / mean(LD score + 1) by moments) sees the whole block, where the
top-r neighbours see 15 SNPs: with a few hundred panel samples, the LD that spreads a strong SNP's
signal reaches far beyond its top 15 neighbours, and only the whole-block solve can remove it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

TOP_R = 15
CHI2_1_MEDIAN = 0.45493642311957283  # scipy.stats.chi2(1).median()


S2_MIN = 1e-4  # floor of the per-SNP signal in z units^2 of the infinitesimal solve: no signal -> ~0
U2_MIN = 1e-2  # floor of the effect unit^2: blocks whose signal is within noise of 0 (|zeta| << 0.1)


def n_features(top_r: int = TOP_R) -> int:
    return 2 * top_r + 6


@dataclass
class BlockNeighbours:
    """A block's LD-only features, computed once and reused for every GWAS on the same LD:
    ``ld_score`` (m,), ``index`` (m, top_r) neighbour SNP indices within the block (-1 = padding),
    ``r`` (m, top_r) their r (0 for padding), ``ld`` the block's LD (m, m) and, when the caller has
    it, its eigen-decomposition ``eig`` (values (m,), vectors (m, m)) for the infinitesimal solve."""

    ld_score: np.ndarray
    index: np.ndarray
    r: np.ndarray
    ld: np.ndarray
    eig: tuple[np.ndarray, np.ndarray] | None = None

    def signal(self, z: np.ndarray) -> float:
        """Per-SNP signal s2 (z units^2, unfloored) by moments: E[z_j^2] = 1 + s2 (LD score_j + 1)."""
        return (float(np.mean(np.square(z, dtype=np.float64))) - 1.0) / float(np.mean(self.ld_score + 1.0))

    def infinitesimal(self, z: np.ndarray) -> np.ndarray:
        """Posterior mean (m,) of the joint effects in z units under zeta ~ N(0, s2 I), z ~ N(R zeta, R):
        (R + I / s2)^-1 z."""
        z = np.asarray(z, dtype=np.float64)
        s2 = max(self.signal(z), S2_MIN)
        if self.eig is not None:
            vals, vecs = self.eig
            return vecs @ ((vecs.T @ z) / (np.clip(vals, 0.0, None) + 1.0 / s2))
        a = self.ld.astype(np.float64)
        a[np.diag_indices_from(a)] += 1.0 / s2
        return linalg.solve(a, z, assume_a="pos")

    @classmethod
    def of(cls, r: np.ndarray, top_r: int = TOP_R, eig: tuple[np.ndarray, np.ndarray] | None = None
           ) -> "BlockNeighbours":
        """From the block's LD ``r`` (m, m). Ties in r go to the lower SNP index (stable order)."""
        m = r.shape[0]
        r64 = r.astype(np.float64, copy=False)
        ld_score = np.einsum("ij,ij->i", r64, r64) - 1.0
        index = np.full((m, top_r), -1, dtype=np.int64)
        rr = np.zeros((m, top_r), dtype=np.float64)
        k = min(top_r, m - 1)
        if k > 0:
            masked = r64.copy()
            np.fill_diagonal(masked, -np.inf)
            index[:, :k] = top_neighbours(masked, k)
            rr[:, :k] = np.take_along_axis(r64, index[:, :k], axis=1)
        return cls(ld_score, index, rr, r, eig)


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


def block_context(z: np.ndarray) -> tuple[float, float]:
    """(log mean z^2, log(median z^2 / median chi2_1)) of one block's z-scores (m,), each floored at
    log 1e-3."""
    z2 = np.square(z, dtype=np.float64)
    return float(np.log(max(z2.mean(), 1e-3))), float(np.log(max(np.median(z2), 1e-3) / CHI2_1_MEDIAN))


def effect_unit(X: np.ndarray) -> np.ndarray:
    """Each row's block effect unit u_b (n,) float64, from its features (n, F): exp(column 5+2r / 2)."""
    return np.exp(0.5 * X[:, -1].astype(np.float64))


def block_features(z: np.ndarray, nb: BlockNeighbours) -> np.ndarray:
    """Features (m, F) float32 of one block's SNPs from their z-scores ``z`` (m,) and the block's
    precomputed neighbours. Neighbour z come from this block's own ``z`` — never another block's."""
    m, top_r = nb.index.shape
    out = np.zeros((m, n_features(top_r)), dtype=np.float32)
    context = block_context(z)
    c = np.exp(0.5 * context[0])
    out[:, 0] = z / c
    out[:, 1] = nb.ld_score
    padded = np.append(np.asarray(z, dtype=np.float64) / c, 0.0)  # index -1 reads the padding 0
    out[:, 2:2 + top_r] = padded[nb.index]
    out[:, 2 + top_r:2 + 2 * top_r] = nb.r
    out[:, 2 + 2 * top_r:4 + 2 * top_r] = context
    out[:, 4 + 2 * top_r] = nb.infinitesimal(z) / c
    out[:, 5 + 2 * top_r] = np.log(max(nb.signal(z), U2_MIN))
    return out


def compute_features(z: np.ndarray, blocks: list[np.ndarray] | list[BlockNeighbours], top_r: int = TOP_R
                     ) -> np.ndarray:
    """Features (J, F) float32 of every SNP of a chromosome.

    ``z`` (J,) marginal z-scores in LD order; ``blocks`` the per-block LD matrices in order (sizes
    summing to J) or their precomputed ``BlockNeighbours`` (training reuses them across GWAS replicates).
    """
    nbs = [b if isinstance(b, BlockNeighbours) else BlockNeighbours.of(b, top_r) for b in blocks]
    sizes = [len(nb.ld_score) for nb in nbs]
    if sum(sizes) != len(z):
        raise ValueError(f"blocks cover {sum(sizes)} SNPs but {len(z)} z-scores were given")
    edges = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    parts = [block_features(z[s:e], nb) for s, e, nb in zip(edges[:-1], edges[1:], nbs)]
    return np.concatenate(parts, axis=0) if parts else np.zeros((0, n_features(top_r)), np.float32)
