"""GWAS simulation: a large coalescent sample, K traits with planted cross-trait effect patterns,
per-trait summary statistics, and the exact per-chromosome LD of the written genotypes.

Scales (all "standardised"): genotypes are centred and scaled to unit variance in the sample (ddof 0),
traits likewise; ``beta_<trait>`` in the truth table are effects of standardised genotypes on a trait of
total variance about 1, with genetic variance exactly ``h2`` in the sample. Marginal BETA of SNP j is
then r(x_j, y) and E[BETA] = R @ beta_true (R the LD correlation matrix), SE = sqrt((1 - BETA^2)/(N - 2)).

Seeds: every random stream is derived from (seed, purpose, chromosome) through numpy's SeedSequence,
so a chromosome's genotypes do not depend on which other chromosomes are simulated, and the GWAS
sample is independent of any other msprime run made with the same seed.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import msprime
import numpy as np
import pandas as pd

from varflow.errors import VarflowError
from varflow.io.arrays import write_npz
from varflow.io.genome import ReferenceGenome
from varflow.io.provenance import Provenance
from varflow.io.schemas import SCHEMAS
from varflow.io.tables import write_table

_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
# For each REF base (A, C, G, T): its transition partner, then its two transversions.
_TRANSITION = {ord("A"): ord("G"), ord("G"): ord("A"), ord("C"): ord("T"), ord("T"): ord("C")}
# Human SNVs are about two transitions per transversion.
_TRANSITION_PROB = 2.0 / 3.0


@dataclass
class GwasConfig:
    """Options of the GWAS simulation.

    n_individuals: diploid sample size N of the GWAS (separate from the eQTL cohort).
    n_traits: K traits, named trait1..traitK.
    h2: SNP heritability per trait (one value for all, or one per trait), in [0, 1).
    n_causal: number of causal SNPs genome-wide; None = round(causal_fraction * number of SNPs), >= 1.
    shared_fraction: fraction of causal SNPs that affect every trait; the rest affect exactly one
        trait, spread evenly over the traits ("specific").
    shared_effect_corr: correlation across traits of a shared SNP's effects (1 = same effect).
    ne, mutation_rate, recombination_rate: constant-size coalescent of human scale (per bp per
        generation), which gives human-like LD decay over tens of kb.
    maf_min: SNPs with minor allele frequency below this are not written.
    max_snps_per_chrom: a uniformly random subset of at most this many SNPs is kept per chromosome
        (the LD matrix is dense, J^2 float32); None keeps all.
    gene_flank: bp added on both sides of each gene body for its SNP range.
    """

    n_individuals: int = 2500
    n_traits: int = 2
    h2: float | tuple[float, ...] = 0.3
    n_causal: int | None = None
    causal_fraction: float = 0.01
    shared_fraction: float = 0.5
    shared_effect_corr: float = 0.8
    ne: float = 10_000.0
    mutation_rate: float = 1.25e-8
    recombination_rate: float = 1e-8
    maf_min: float = 0.01
    max_snps_per_chrom: int | None = 3000
    gene_flank: int = 10_000

    @property
    def traits(self) -> list[str]:
        return [f"trait{k + 1}" for k in range(self.n_traits)]

    def heritabilities(self) -> np.ndarray:
        """h2 per trait, (K,) float."""
        h2 = np.atleast_1d(np.asarray(self.h2, dtype=float))
        if h2.size == 1:
            h2 = np.repeat(h2, self.n_traits)
        if h2.size != self.n_traits:
            raise VarflowError(f"gwas: h2 gives {h2.size} values for {self.n_traits} traits")
        return h2

    def check(self) -> None:
        """Raise VarflowError naming the first option that cannot work."""
        if self.n_individuals < 10:
            raise VarflowError(f"gwas: n_individuals must be >= 10, got {self.n_individuals}")
        if self.n_traits < 1:
            raise VarflowError(f"gwas: n_traits must be >= 1, got {self.n_traits}")
        h2 = self.heritabilities()
        if ((h2 < 0) | (h2 >= 1)).any():
            raise VarflowError(f"gwas: h2 must lie in [0, 1), got {self.h2}")
        if self.n_causal is not None and self.n_causal < 1:
            raise VarflowError(f"gwas: n_causal must be >= 1, got {self.n_causal}")
        if not 0 < self.causal_fraction <= 1:
            raise VarflowError(f"gwas: causal_fraction must lie in (0, 1], got {self.causal_fraction}")
        if not 0 <= self.shared_fraction <= 1:
            raise VarflowError(f"gwas: shared_fraction must lie in [0, 1], got {self.shared_fraction}")
        if not -1 / max(self.n_traits - 1, 1) <= self.shared_effect_corr <= 1:
            raise VarflowError(
                f"gwas: shared_effect_corr {self.shared_effect_corr} gives no valid covariance for "
                f"{self.n_traits} traits")
        if not 0 <= self.maf_min < 0.5:
            raise VarflowError(f"gwas: maf_min must lie in [0, 0.5), got {self.maf_min}")
        for name in ("ne", "mutation_rate", "recombination_rate"):
            if getattr(self, name) <= 0:
                raise VarflowError(f"gwas: {name} must be > 0, got {getattr(self, name)}")
        if self.max_snps_per_chrom is not None and self.max_snps_per_chrom < 1:
            raise VarflowError(f"gwas: max_snps_per_chrom must be >= 1, got {self.max_snps_per_chrom}")
        if self.gene_flank < 0:
            raise VarflowError(f"gwas: gene_flank must be >= 0, got {self.gene_flank}")


@dataclass
class GwasGenotypes:
    """Written SNPs of one chromosome, in LD order (increasing position).

    pos (J,) int64 1-based; ref, alt (J,) str single bases; dosage (n_individuals, J) int8 ALT counts.
    """

    chrom: str
    pos: np.ndarray
    ref: np.ndarray
    alt: np.ndarray
    dosage: np.ndarray

    @property
    def snp(self) -> np.ndarray:
        """Variant ids ``chrom:pos:ref:alt`` (J,) str."""
        return np.char.add(np.char.add(np.char.add(f"{self.chrom}:", self.pos.astype(str)),
                                       np.char.add(":", self.ref)), np.char.add(":", self.alt))

    def standardised(self) -> np.ndarray:
        """(n, J) float64: each column centred and scaled to unit variance (ddof 0)."""
        g = self.dosage.astype(np.float64)
        g -= g.mean(axis=0)
        g /= g.std(axis=0)
        return g


def _rng(seed: int, purpose: str, chrom: str = "") -> np.random.Generator:
    """Generator for one named random stream, independent of every other (seed, purpose, chrom)."""
    key = [int(seed) & 0xFFFFFFFF, zlib.crc32(b"varflow.gwas"), zlib.crc32(purpose.encode()),
           zlib.crc32(chrom.encode())]
    return np.random.default_rng(np.random.SeedSequence(key))


def simulate_chromosome(config: GwasConfig, chrom: str, length: int, reference: ReferenceGenome,
                        seed: int) -> GwasGenotypes:
    """Coalescent sample of one chromosome: biallelic SNVs with MAF >= maf_min, REF from the FASTA.

    Sites hit by more than one mutation are dropped (they would be multi-allelic), as are sites whose
    reference base is not A/C/G/T. The ancestral allele is taken as REF, so ALT = derived allele.
    """
    rng = _rng(seed, "genotypes", chrom)
    anc_seed, mut_seed = (int(s) for s in rng.integers(1, 2**31 - 1, size=2))
    ts = msprime.sim_ancestry(samples=config.n_individuals, ploidy=2, population_size=config.ne,
                              recombination_rate=config.recombination_rate, sequence_length=length,
                              random_seed=anc_seed)
    ts = msprime.sim_mutations(ts, rate=config.mutation_rate, random_seed=mut_seed, discrete_genome=True)
    n_mut = np.bincount(ts.tables.mutations.site, minlength=ts.num_sites)
    pos0 = ts.tables.sites.position.astype(np.int64)
    seq = reference.fetch_codes(chrom, 0, length)
    ref_codes = seq[pos0]
    keep = (n_mut == 1) & np.isin(ref_codes, _BASES)
    dosage = _kept_dosage(ts, keep)
    alt_freq = dosage.mean(axis=0, dtype=np.float64) / 2
    common = np.minimum(alt_freq, 1 - alt_freq) >= max(config.maf_min, 1e-12)
    rows = np.flatnonzero(common)
    if config.max_snps_per_chrom is not None and rows.size > config.max_snps_per_chrom:
        rows = np.sort(_rng(seed, "thin", chrom).choice(rows, config.max_snps_per_chrom, replace=False))
    pos0, ref_codes = pos0[keep][rows], ref_codes[keep][rows]
    alt_codes = _draw_alt(ref_codes, _rng(seed, "alt", chrom))
    return GwasGenotypes(chrom=chrom, pos=pos0 + 1, ref=ref_codes.view("S1").astype(str),
                         alt=alt_codes.view("S1").astype(str), dosage=np.ascontiguousarray(dosage[:, rows]))


def _kept_dosage(ts, keep: np.ndarray) -> np.ndarray:
    """Derived-allele dosage (N, keep.sum()) int8 of the kept sites, filled one site at a time.

    Cheaper in memory than the full (sites, 2N) int32 genotype matrix, at the same speed.
    """
    dosage = np.empty((ts.num_individuals, int(keep.sum())), dtype=np.int8)
    column = 0
    for variant in ts.variants(copy=False):
        if keep[variant.site.id]:
            haps = variant.genotypes  # (2N,): individual i owns sample nodes 2i and 2i + 1
            dosage[:, column] = haps[0::2] + haps[1::2]
            column += 1
    return dosage


def _draw_alt(ref_codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """ALT base per REF base (uint8 codes): a transition with probability 2/3, else a random transversion."""
    transition = np.array([_TRANSITION[int(b)] for b in _BASES], dtype=np.uint8)
    idx = np.searchsorted(_BASES, ref_codes)
    ts_alt = transition[idx]
    # the two transversion partners of a base are the bases that are neither it nor its transition
    others = np.array([[c for c in _BASES if c != b and c != _TRANSITION[int(b)]] for b in _BASES],
                      dtype=np.uint8)
    tv_alt = others[idx, rng.integers(0, 2, size=idx.size)]
    return np.where(rng.random(idx.size) < _TRANSITION_PROB, ts_alt, tv_alt).astype(np.uint8)


def effect_patterns(config: GwasConfig, n_snps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Causal SNPs and unscaled effects with the configured cross-trait patterns.

    Returns beta (n_snps, K) float64 (zero for non-causal SNPs) and pattern (n_snps,) int:
    -1 = not causal, 0 = shared by all traits (effects ~ N(0, (1 - rho) I + rho 11^T)),
    k = 1..K = specific to trait k (effect ~ N(0, 1) on trait k only).
    """
    K = config.n_traits
    n_causal = config.n_causal if config.n_causal is not None else round(config.causal_fraction * n_snps)
    n_causal = int(min(max(n_causal, 1), n_snps))
    rng = _rng(seed, "effects")
    causal = rng.choice(n_snps, size=n_causal, replace=False)
    n_shared = int(round(config.shared_fraction * n_causal))
    pattern = np.full(n_snps, -1, dtype=np.int64)
    pattern[causal[:n_shared]] = 0
    # specific SNPs take the traits in turn, so every trait gets within one of the same count
    pattern[causal[n_shared:]] = 1 + np.arange(n_causal - n_shared) % K
    rho = config.shared_effect_corr
    cov = (1 - rho) * np.eye(K) + rho * np.ones((K, K))
    beta = np.zeros((n_snps, K))
    beta[causal[:n_shared]] = rng.multivariate_normal(np.zeros(K), cov, size=n_shared, method="eigh")
    spec = causal[n_shared:]
    beta[spec, pattern[spec] - 1] = rng.standard_normal(spec.size)
    return beta, pattern


def simulate_traits(config: GwasConfig, genotypes: list[GwasGenotypes], seed: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Effects scaled to h2 and phenotypes.

    Returns beta (J_total, K) standardised effects in the concatenated LD order of ``genotypes``,
    pattern (J_total,) as in :func:`effect_patterns`, and y (N, K) = G_std @ beta + noise with
    noise ~ N(0, 1 - h2); the genetic part has sample variance exactly h2 per trait.
    """
    h2 = config.heritabilities()
    sizes = [g.dosage.shape[1] for g in genotypes]
    beta, pattern = effect_patterns(config, int(sum(sizes)), seed)
    genetic = np.zeros((config.n_individuals, config.n_traits))
    for g, lo in zip(genotypes, np.cumsum([0, *sizes[:-1]])):
        block = beta[lo:lo + g.dosage.shape[1]]
        if block.any():
            genetic += g.standardised() @ block
    var_g = genetic.var(axis=0)
    missing = [t for t, v, h in zip(config.traits, var_g, h2) if v <= 0 and h > 0]
    if missing:
        raise VarflowError(f"gwas: {', '.join(missing)} got no causal SNP (h2 > 0 needs at least one); "
                           "raise n_causal or causal_fraction")
    # a trait with h2 = 0 keeps zero effects
    scale = np.where(var_g > 0, np.sqrt(h2 / np.where(var_g > 0, var_g, 1.0)), 0.0)
    beta *= scale
    genetic *= scale
    noise = _rng(seed, "noise").standard_normal((config.n_individuals, config.n_traits))
    y = genetic + noise * np.sqrt(1.0 - h2)
    return beta, pattern, y


def marginal_sumstats(g_std: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Marginal regression of each standardised trait on each standardised SNP.

    g_std (N, J) standardised genotypes, y (N, K) traits (standardised here). Returns BETA and SE,
    each (J, K): BETA = correlation, SE = sqrt((1 - BETA^2) / (N - 2)), the exact OLS standard error.
    """
    n = g_std.shape[0]
    ys = (y - y.mean(axis=0)) / y.std(axis=0)
    beta = g_std.T @ ys / n
    se = np.sqrt(np.maximum(1.0 - beta**2, 0.0) / (n - 2))
    return beta, se


def ld_matrix(g_std: np.ndarray) -> np.ndarray:
    """Correlation matrix (J, J) float32 of standardised genotypes (N, J); diagonal exactly 1."""
    r = g_std.T @ g_std / g_std.shape[0]
    np.fill_diagonal(r, 1.0)
    return np.clip(r, -1.0, 1.0).astype(np.float32)


def gene_ranges(genes: pd.DataFrame, positions: dict[str, np.ndarray], chrom_lengths: dict[str, int],
                flank: int) -> pd.DataFrame:
    """gwas_genes table: gene body +- flank in 1-based inclusive bp and its SNP index range.

    ``genes`` has schema genes (0-based half-open start/end); ``positions`` maps chrom -> (J,) 1-based
    increasing SNP positions in LD order. SNP_START:SNP_END is the half-open index range of the SNPs
    within [START, END]; a gene with no SNP gets SNP_START == SNP_END.
    """
    unknown = sorted(set(genes["chrom"]) - set(chrom_lengths))
    if unknown:
        raise VarflowError(f"gwas: genes on chromosome(s) {', '.join(unknown)} that the GWAS does not simulate")
    lengths = genes["chrom"].map(chrom_lengths).to_numpy(dtype=np.int64)
    start = np.maximum(genes["start"].to_numpy(dtype=np.int64) + 1 - flank, 1)
    end = np.minimum(genes["end"].to_numpy(dtype=np.int64) + flank, lengths)
    snp_start = np.zeros(len(genes), dtype=np.int64)
    snp_end = np.zeros(len(genes), dtype=np.int64)
    chroms = genes["chrom"].to_numpy()
    for chrom in np.unique(chroms):
        rows = chroms == chrom
        pos = positions.get(chrom, np.zeros(0, dtype=np.int64))
        snp_start[rows] = np.searchsorted(pos, start[rows], side="left")
        snp_end[rows] = np.searchsorted(pos, end[rows], side="right")
    return pd.DataFrame({"gene": genes["gene_id"].astype(str).to_numpy(), "CHR": chroms.astype(str),
                         "START": start, "END": end, "SNP_START": snp_start, "SNP_END": snp_end})


def simulate_gwas(config: GwasConfig, chrom_lengths: dict[str, int], genes: pd.DataFrame,
                  reference: ReferenceGenome, seed: int, outdir: Path, *,
                  provenance: Provenance | None = None) -> dict:
    """Simulate the GWAS and write it under ``outdir``; return the manifest entries (relative paths).

    Writes gwas/<trait>.sumstats.parquet, gwas/ld_<chrom>.npz, gwas/genes.parquet, gwas/truth.parquet.
    """
    config.check()
    outdir = Path(outdir)
    prov = provenance or Provenance.from_cli("varflow simulate cohort (gwas)", asdict(config), seed)
    chroms = list(chrom_lengths)
    if not chroms:
        raise VarflowError("gwas: no chromosomes to simulate")
    genotypes = [simulate_chromosome(config, c, int(chrom_lengths[c]), reference, seed) for c in chroms]
    empty = [g.chrom for g in genotypes if g.dosage.shape[1] == 0]
    if len(empty) == len(genotypes):
        raise VarflowError(f"gwas: no SNP with MAF >= {config.maf_min} on any chromosome; "
                           "make the chromosomes longer or the sample larger")
    beta_true, _, y = simulate_traits(config, genotypes, seed)
    n = config.n_individuals
    traits = config.traits

    manifest: dict = {"sumstats": {}, "ld": {}}
    stats: list[tuple[np.ndarray, np.ndarray]] = []
    for g in genotypes:
        g_std = g.standardised()
        stats.append(marginal_sumstats(g_std, y))
        rel = f"gwas/ld_{g.chrom}.npz"
        write_npz(outdir / rel, {"r": ld_matrix(g_std), "snp": g.snp, "pos": g.pos.astype(np.int64),
                                 "a1": g.alt, "a2": g.ref}, prov)
        manifest["ld"][g.chrom] = rel

    snp_cols = {
        "CHR": np.concatenate([np.full(g.pos.size, g.chrom, dtype=object) for g in genotypes]),
        "SNP": np.concatenate([g.snp for g in genotypes]).astype(object),
        "POS": np.concatenate([g.pos for g in genotypes]).astype(np.int64),
    }
    alleles = {"A1": np.concatenate([g.alt for g in genotypes]).astype(object),
               "A2": np.concatenate([g.ref for g in genotypes]).astype(object)}
    beta_hat = np.concatenate([b for b, _ in stats])
    se_hat = np.concatenate([s for _, s in stats])
    for k, trait in enumerate(traits):
        table = pd.DataFrame({**snp_cols, **alleles, "BETA": beta_hat[:, k], "SE": se_hat[:, k],
                              "N": np.full(beta_hat.shape[0], n, dtype=np.int64)})
        rel = f"gwas/{trait}.sumstats.parquet"
        write_table(table, outdir / rel, SCHEMAS["sumstats"], prov)
        manifest["sumstats"][trait] = rel

    truth = pd.DataFrame({**snp_cols, **{f"beta_{t}": beta_true[:, k] for k, t in enumerate(traits)}})
    write_table(truth, outdir / "gwas/truth.parquet", SCHEMAS["gwas_truth"], prov)
    manifest["gwas_truth"] = "gwas/truth.parquet"

    table = gene_ranges(genes, {g.chrom: g.pos for g in genotypes}, chrom_lengths, config.gene_flank)
    write_table(table, outdir / "gwas/genes.parquet", SCHEMAS["gwas_genes"], prov)
    manifest["gwas_genes"] = "gwas/genes.parquet"
    return manifest
