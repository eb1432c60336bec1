"""Training data for the shrinkage network: GWAS simulated on LD segments from a real reference panel
and from msprime, over a grid of architectures and sample sizes.

One replicate on a segment of J SNPs split into LD blocks R_b (standardised genotypes): a ``p_causal``
fraction of SNPs gets a true effect beta_j ~ N(0, het_j^s) (het = 2 f (1 - f); s = 0: every causal SNP
alike in standardised units, s = -0.25: rarer SNPs larger, as in the method), rescaled so that the
segment's genetic variance sum_b beta_b' R_b beta_b equals ``h2``; the marginal estimates of a GWAS
of N individuals are beta_hat = R beta + L e / sqrt(N) with L L' = R, e ~ N(0, I), and
SE_j = sqrt((1 - beta_hat_j^2) / N). The network's target is the true effect in z units, beta_j / SE_j,
over the block's effect unit u_b (``varflow.shrink.features``).

The grid spans the non-centrality a user's data can have: per-causal-SNP N h2 / (p J) from ~0.03
(undetectable) to ~10^4 (z ~ 100), sparse (0.1% causal) to dense (10%).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from varflow.errors import VarflowError
from varflow.shrink.features import TOP_R, BlockNeighbours, effect_unit, compute_features


@dataclass(frozen=True)
class TrainingGrid:
    """Every combination is simulated ``n_reps`` times on every LD segment. ``h2`` is the heritability
    of one segment (a few thousand SNPs: from a small share of a polygenic trait to a chromosome that
    holds a large share). ``snp_fraction`` of each replicate's SNPs become training rows: the rows of
    one GWAS are strongly dependent, so more replicates with fewer rows each cover the grid better
    for the same training cost."""

    n_gwas: tuple[int, ...] = (10_000, 30_000, 100_000, 300_000, 1_000_000)
    h2: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1, 0.3)
    p_causal: tuple[float, ...] = (0.001, 0.005, 0.02, 0.1)
    s: tuple[float, ...] = (0.0, -0.25)
    n_reps: int = 1
    snp_fraction: float = 0.25

    def cells(self) -> list[tuple[int, float, float, float]]:
        return [(n, h2, p, s) for n in self.n_gwas for h2 in self.h2 for p in self.p_causal for s in self.s]


def ld_factor(r: np.ndarray, eig: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """L (m, m) float64 with L L' = R, from the eigen-decomposition (R may be singular: clip at 0)."""
    vals, vecs = eig if eig is not None else np.linalg.eigh(r.astype(np.float64))
    return vecs * np.sqrt(np.clip(vals, 0.0, None))


@dataclass
class LdSegment:
    """A stretch of one chromosome's LD cut into blocks: ``blocks`` [(m_b, m_b)] in order, ``freq``
    (J,) allele frequencies, ``name``; factors and neighbours are computed once per segment."""

    blocks: list[np.ndarray]
    freq: np.ndarray
    name: str
    top_r: int = TOP_R
    factors: list[np.ndarray] = field(init=False)
    neighbours: list[BlockNeighbours] = field(init=False)

    def __post_init__(self) -> None:
        if sum(b.shape[0] for b in self.blocks) != len(self.freq):
            raise VarflowError(f"LD segment {self.name}: blocks and allele frequencies differ in length")
        eigs = [np.linalg.eigh(b.astype(np.float64)) for b in self.blocks]
        self.factors = [ld_factor(b, e) for b, e in zip(self.blocks, eigs)]
        self.neighbours = [BlockNeighbours.of(b, self.top_r, e) for b, e in zip(self.blocks, eigs)]

    @property
    def n_snps(self) -> int:
        return len(self.freq)


@dataclass
class SimulatedGwas:
    """One replicate: ``beta_true``, ``beta_hat``, ``se`` (J,) float64 over all blocks in order."""

    beta_true: np.ndarray
    beta_hat: np.ndarray
    se: np.ndarray

    @property
    def z(self) -> np.ndarray:
        return self.beta_hat / self.se


def simulate_gwas(segment: LdSegment, p_causal: float, h2: float, n_gwas: int, rng: np.random.Generator,
                  s: float = 0.0) -> SimulatedGwas:
    """Simulate one GWAS of ``n_gwas`` individuals on ``segment`` (``h2`` = 0: a null trait)."""
    blocks = segment.blocks
    n = segment.n_snps
    beta = np.zeros(n)
    if h2 > 0:
        n_causal = max(1, int(round(p_causal * n)))
        causal = rng.choice(n, size=n_causal, replace=False)
        het = 2 * segment.freq[causal] * (1 - segment.freq[causal])
        beta[causal] = rng.normal(0.0, np.sqrt(np.power(het, s)))
    edges = np.concatenate([[0], np.cumsum([b.shape[0] for b in blocks])])
    genetic = sum(float(beta[a:b] @ blk @ beta[a:b]) for a, b, blk in zip(edges[:-1], edges[1:], blocks))
    beta *= np.sqrt(h2 / genetic) if genetic > 0 else 0.0
    beta_hat = np.empty(n)
    for a, b, blk, fac in zip(edges[:-1], edges[1:], blocks, segment.factors):
        beta_hat[a:b] = blk @ beta[a:b] + fac @ rng.standard_normal(b - a) / np.sqrt(n_gwas)
    se = np.sqrt(np.clip(1.0 - beta_hat ** 2, 1e-6, None) / n_gwas)
    return SimulatedGwas(beta, beta_hat, se)


@dataclass
class TrainingSet:
    """Rows = SNP x replicate. ``X`` (n, F) features, ``y`` (n,) true effects in the features' units
    (beta / SE / u_b, u_b the block's effect unit), ``replicate`` (n,) int."""

    X: np.ndarray
    y: np.ndarray
    replicate: np.ndarray


def simulate_training_set(segments: list[LdSegment], grid: TrainingGrid, seed: int) -> TrainingSet:
    """``grid.n_reps`` replicates of every grid cell on every segment, one seeded stream."""
    rng = np.random.default_rng(seed)
    Xs, ys, reps = [], [], []
    rep = 0
    for segment in segments:
        for n, h2, p, s in grid.cells():
            for _ in range(grid.n_reps):
                sim = simulate_gwas(segment, p, h2, n, rng, s=s)
                keep = rng.random(segment.n_snps) < grid.snp_fraction
                X = compute_features(sim.z, segment.neighbours, segment.top_r)[keep]
                Xs.append(X)
                ys.append((sim.beta_true / sim.se)[keep] / effect_unit(X))
                reps.append(np.full(int(keep.sum()), rep, np.int32))
                rep += 1
    return TrainingSet(np.concatenate(Xs), np.concatenate(ys).astype(np.float32), np.concatenate(reps))


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
