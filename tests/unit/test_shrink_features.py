"""LD blocks and per-SNP features against independent slow computations."""

from __future__ import annotations

import numpy as np
import pytest

from scipy import stats

from varflow.shrink.features import BlockNeighbours, compute_features, n_features
from varflow.shrink.ldblocks import find_blocks, ld_profiles, split_blocks


def _block_ld(sizes, rho=0.9, seed=0):
    """Block-diagonal AR(1)-like LD with random signs: true block boundaries are known."""
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    r = np.zeros((n, n), dtype=np.float32)
    o = 0
    for s in sizes:
        i = np.arange(s)
        sign = rng.choice([-1.0, 1.0], size=s)
        r[o:o + s, o:o + s] = (rho ** np.abs(i[:, None] - i[None, :])) * np.outer(sign, sign)
        o += s
    return r


def test_profiles_match_brute_force():
    r = _block_ld([40, 25, 35], rho=0.8)
    r += np.float32(0.05) * (1 - np.eye(len(r), dtype=np.float32))  # leak LD across blocks too
    antidiag, crossing = ld_profiles(r)
    n = len(r)
    for k in (0, 7, 63, 120, 2 * n - 2):
        expect = sum(float(r[i, k - i]) ** 2 for i in range(max(0, k - n + 1), min(n, k + 1)))
        assert antidiag[k] == pytest.approx(expect, rel=1e-5)
    for m in (0, 1, 40, 64, 99, 100):
        expect = sum(float(r[i, j]) ** 2 for i in range(m) for j in range(m, n))
        assert crossing[m] == pytest.approx(expect, rel=1e-5, abs=1e-6)


def test_blocks_recover_planted_boundaries():
    sizes = [300, 500, 400, 350]
    starts, ends = find_blocks(_block_ld(sizes), avg_block=600)  # floor(1550 / 600) + 1 = 3 breakpoints
    assert list(starts) == [0, 300, 800, 1200] and list(ends) == [300, 800, 1200, 1550]


def test_block_count_rule_and_tiling():
    r = _block_ld([90] * 10, rho=0.7)
    for avg in (100, 250, 1000, 5000):
        starts, ends = find_blocks(r, avg_block=avg)
        assert len(starts) == 900 // avg + 2  # floor(J/avg) + 1 breakpoints between blocks
        assert starts[0] == 0 and ends[-1] == 900 and np.all(starts[1:] == ends[:-1])


def _slow_features(z, r_block, i, top_r):
    """Independent per-SNP computation with plain Python sorting."""
    m = len(z)
    others = sorted((j for j in range(m) if j != i), key=lambda j: (-float(r_block[i, j]), j))[:top_r]
    c = np.sqrt(np.mean(np.asarray(z) ** 2))
    row = [z[i] / c, sum(float(x) ** 2 for x in r_block[i]) - 1.0]
    nb_z = [z[j] / c for j in others] + [0.0] * (top_r - len(others))
    nb_r = [float(r_block[i, j]) for j in others] + [0.0] * (top_r - len(others))
    z2 = sorted(float(x) ** 2 for x in z)
    median = z2[m // 2] if m % 2 else (z2[m // 2 - 1] + z2[m // 2]) / 2
    context = [np.log(sum(z2) / m), np.log(median / stats.chi2(1).median())]
    r64 = r_block.astype(np.float64)
    s2 = max((sum(z2) / m - 1) / float(np.mean((r64 ** 2).sum(axis=1))), 1e-4)
    inf = np.linalg.inv(r64 + np.eye(m) / s2) @ z  # LDpred-inf in z units, by explicit inverse
    return np.array(row + nb_z + nb_r + context + [inf[i] / c, np.log(max((sum(z2) / m - 1) / float(np.mean((r64 ** 2).sum(axis=1))), 1e-2))])


@pytest.mark.parametrize("top_r", [15, 4])
def test_features_against_slow_computation_in_every_block(top_r):
    sizes = [30, 8, 45, 22]  # includes a block smaller than top_r + 1
    r = _block_ld(sizes, rho=0.85, seed=3)
    rng = np.random.default_rng(1)
    n = len(r)
    z = rng.normal(size=n) * rng.uniform(0.5, 4, size=n)
    starts = np.cumsum([0] + sizes[:-1])
    ends = np.cumsum(sizes)
    blocks = split_blocks(r, starts, ends)
    X = compute_features(z, blocks, top_r)
    assert X.shape == (n, n_features(top_r)) == (n, 2 * top_r + 6)
    # precomputed neighbours with the eigen-decomposition (as training reuses them) give the same features
    eig = [BlockNeighbours.of(b, top_r, np.linalg.eigh(b.astype(np.float64))) for b in blocks]
    np.testing.assert_allclose(compute_features(z, eig, top_r), X, rtol=1e-5, atol=1e-6)
    picks = np.concatenate([rng.choice(np.arange(s, e), size=min(4, e - s), replace=False)
                            for s, e in zip(starts, ends)])
    for g in picks:  # SNPs of every block, later blocks included
        b = int(np.searchsorted(ends, g, side="right"))
        s, e = starts[b], ends[b]
        expect = _slow_features(z[s:e], r[s:e, s:e], g - s, top_r)
        np.testing.assert_allclose(X[g], expect, rtol=1e-5, atol=1e-6)
    # Neighbour z come from the SNP's own block, never from block 0
    later = starts[2] + 3
    nb = X[later, 2:2 + top_r]
    own = X[starts[2]:ends[2], 0]
    assert np.all(np.min(np.abs(nb[:, None] - own[None, :]), axis=1) < 1e-6)
    first = X[starts[0]:ends[0], 0]
    assert np.all(np.min(np.abs(nb[:, None] - first[None, :]), axis=1) > 1e-6)

