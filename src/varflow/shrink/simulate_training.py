"""Training data for the shrinkage network: GWAS simulated on real or msprime LD blocks.

For one replicate over blocks with LD R_b (standardised genotypes): a ``p_causal`` fraction of SNPs
gets a true effect beta_j ~ N(0, het_j^s * ldsc_j^w) (het = 2f(1-f), ldsc = within-block LD score),
rescaled so the genetic variance sum_b beta_b' R_b beta_b equals ``h2``; the marginal estimates of a
GWAS of N individuals are beta_hat = R beta + L z / sqrt(N) with L L' = R, z ~ N(0, I), and
SE_j = sqrt((1 - beta_hat_j^2) / N).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from varflow.errors import VarflowError
from varflow.shrink.features import TOP_R, compute_features

P_CAUSAL_GRID = (0.01, 0.05)
H2_GRID = (0.3, 0.7)


def ld_factor(r: np.ndarray) -> np.ndarray:
    """L (m, m) float64 with L L' = R, from the eigen-decomposition (R may be singular: clip at 0)."""
    vals, vecs = np.linalg.eigh(r.astype(np.float64))
    return vecs * np.sqrt(np.clip(vals, 0.0, None))


@dataclass
class SimulatedGwas:
    """One replicate: ``beta_true``, ``beta_hat``, ``se`` (J,) float64 over all blocks in order."""

    beta_true: np.ndarray
    beta_hat: np.ndarray
    se: np.ndarray


def simulate_gwas(blocks: list[np.ndarray], factors: list[np.ndarray], p_causal: float, h2: float,
                  n_gwas: int, rng: np.random.Generator, s: float = 0.0, w: float = 0.0,
                  freq: np.ndarray | None = None) -> SimulatedGwas:
    """Simulate one GWAS over ``blocks`` (list of (m_b, m_b) LD) with their ``factors`` (ld_factor)."""
    sizes = np.array([b.shape[0] for b in blocks])
    n = int(sizes.sum())
    n_causal = max(1, int(round(p_causal * n)))
    var = np.ones(n)
    if s != 0.0:
        if freq is None:
            raise VarflowError("effect model with s != 0 needs allele frequencies")
        var *= np.power(2 * freq * (1 - freq), s)
    if w != 0.0:
        ldsc = np.concatenate([np.einsum("ij,ij->i", b, b) for b in blocks])
        var *= np.power(np.maximum(ldsc, 1.0), w)
    beta = np.zeros(n)
    causal = rng.choice(n, size=n_causal, replace=False)
    beta[causal] = rng.normal(0.0, np.sqrt(var[causal]))
    edges = np.concatenate([[0], np.cumsum(sizes)])
    genetic = sum(float(beta[a:b] @ blk @ beta[a:b]) for a, b, blk in zip(edges[:-1], edges[1:], blocks))
    beta *= np.sqrt(h2 / genetic) if genetic > 0 else 0.0
    beta_hat = np.empty(n)
    for a, b, blk, fac in zip(edges[:-1], edges[1:], blocks, factors):
        beta_hat[a:b] = blk @ beta[a:b] + fac @ rng.standard_normal(b - a) / np.sqrt(n_gwas)
    se = np.sqrt(np.clip(1.0 - beta_hat ** 2, 1e-6, None) / n_gwas)
    return SimulatedGwas(beta, beta_hat, se)


@dataclass
class TrainingSet:
    """Rows = SNP x replicate. ``X`` (n, F) raw features, ``y`` (n,) true effects, ``scale`` (n,) the
    replicate's median SE (the network works on beta / scale), ``replicate`` (n,) int."""

    X: np.ndarray
    y: np.ndarray
    scale: np.ndarray
    replicate: np.ndarray


def simulate_training_set(blocks: list[np.ndarray], n_reps: int, n_gwas: tuple[int, ...], seed: int,
                          p_grid: tuple[float, ...] = P_CAUSAL_GRID, h2_grid: tuple[float, ...] = H2_GRID,
                          s: float = 0.0, w: float = 0.0, freq: np.ndarray | None = None,
                          top_r: int = TOP_R) -> TrainingSet:
    """``n_reps`` replicates for every (p_causal, h2, N) of the grid over the same LD ``blocks``."""
    rng = np.random.default_rng(seed)
    factors = [ld_factor(b) for b in blocks]
    Xs, ys, scales, reps = [], [], [], []
    rep = 0
    for p in p_grid:
        for h2 in h2_grid:
            for n in n_gwas:
                for _ in range(n_reps):
                    sim = simulate_gwas(blocks, factors, p, h2, n, rng, s=s, w=w, freq=freq)
                    X = compute_features(sim.beta_hat, sim.se, blocks, top_r)
                    Xs.append(X)
                    ys.append(sim.beta_true.astype(np.float32))
                    scales.append(np.full(len(X), np.median(sim.se), np.float32))
                    reps.append(np.full(len(X), rep, np.int32))
                    rep += 1
    return TrainingSet(np.concatenate(Xs), np.concatenate(ys), np.concatenate(scales), np.concatenate(reps))


def msprime_ld(n_snps: int, n_individuals: int, seed: int, length_mb: float = 10.0, maf_min: float = 0.05,
               n_hotspots: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LD of a simulated chromosome segment (msprime coalescent with recombination hotspots).

    Hotspots (rate x50 over 10 kb) every ~1 Mb make block-like LD as in human data. Returns ``r``
    (n_snps, n_snps) float32, ``pos`` (n_snps,) int64 1-based and ``freq`` (n_snps,) alt frequency,
    from the common (MAF >= maf_min) biallelic sites, evenly thinned to ``n_snps``.
    """
    import msprime

    length = int(length_mb * 1e6)
    rng = np.random.default_rng(seed)
    ms_seed = seed if 0 < seed < 2**32 - 1 else 1 + seed % (2**32 - 3)  # msprime needs 0 < seed < 2^32
    n_hot = n_hotspots if n_hotspots is not None else max(1, int(length_mb))
    hot = np.sort(rng.uniform(0.05, 0.95, n_hot) * length).astype(int)
    edges = [0]
    rates = []
    for h in hot:
        if h <= edges[-1]:
            continue
        edges += [h, min(h + 10_000, length)]
        rates += [1e-9, 5e-8]
    if edges[-1] < length:
        edges.append(length)
        rates.append(1e-9)
    rate_map = msprime.RateMap(position=edges, rate=rates)
    ts = msprime.sim_ancestry(samples=n_individuals, sequence_length=length, recombination_rate=rate_map,
                              population_size=10_000, ploidy=2, random_seed=ms_seed)
    ts = msprime.sim_mutations(ts, rate=2e-8, random_seed=ms_seed + 1, discrete_genome=True)
    G = ts.genotype_matrix().astype(np.float32)  # (sites, 2 * n_individuals)
    keep = np.array([len(site.mutations) == 1 for site in ts.sites()], dtype=bool)
    positions = ts.tables.sites.position.astype(np.int64) + 1
    dos = G[keep, 0::2] + G[keep, 1::2]
    positions = positions[keep]
    freq = dos.mean(axis=1) / 2
    common = np.minimum(freq, 1 - freq) >= maf_min
    dos, positions, freq = dos[common], positions[common], freq[common]
    if len(freq) < n_snps:
        raise VarflowError(f"msprime gave only {len(freq)} common SNPs; ask for fewer or a longer segment")
    pick = np.linspace(0, len(freq) - 1, n_snps).round().astype(int)
    dos = dos[pick]
    r = np.corrcoef(dos).astype(np.float32)
    np.fill_diagonal(r, 1.0)
    return r, positions[pick], freq[pick]
