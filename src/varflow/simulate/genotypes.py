"""Coalescent genotypes: msprime ancestry + mutations under a human-like model, one run per chromosome."""

from __future__ import annotations

from dataclasses import dataclass

import msprime
import numpy as np


@dataclass
class Haplotypes:
    """Bi-allelic segregating sites of one chromosome.

    ``positions``: (n_sites,) int64, 0-based, strictly increasing.
    ``haplotypes``: (n_sites, 2 * n_individuals) uint8, 0 = ancestral (REF), 1 = derived (ALT);
    columns 2i and 2i+1 are the two haplotypes of individual i (the phase written to the VCF).
    """

    positions: np.ndarray
    haplotypes: np.ndarray

    @property
    def alt_freq(self) -> np.ndarray:
        """ALT allele frequency per site, (n_sites,) float64."""
        return self.haplotypes.mean(axis=1, dtype=np.float64)

    @property
    def maf(self) -> np.ndarray:
        af = self.alt_freq
        return np.minimum(af, 1 - af)

    def dosage(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """ALT dosage (n_individuals, len(rows)) float64 in {0, 1, 2}."""
        h = self.haplotypes[rows]
        return (h[:, 0::2] + h[:, 1::2]).T.astype(np.float64)

    def subset(self, keep: np.ndarray) -> "Haplotypes":
        return Haplotypes(self.positions[keep], self.haplotypes[keep])


def simulate_haplotypes(n_individuals: int, length: int, seed: int, *, population_size: float = 1e4,
                        recombination_rate: float = 1e-8, mutation_rate: float = 1.25e-8) -> Haplotypes:
    """Simulate one chromosome of ``length`` bp for ``n_individuals`` diploids (Hudson coalescent).

    Sites hit by more than one mutation are collapsed to derived-vs-ancestral, and sites that end
    up monomorphic are dropped, so every returned site is bi-allelic and segregating.
    """
    seeds = np.random.default_rng(seed).integers(1, 2**31 - 1, size=2)
    ts = msprime.sim_ancestry(samples=n_individuals, population_size=population_size,
                              recombination_rate=recombination_rate, sequence_length=length,
                              ploidy=2, random_seed=int(seeds[0]))
    ts = msprime.sim_mutations(ts, rate=mutation_rate, random_seed=int(seeds[1]), discrete_genome=True)
    positions = ts.tables.sites.position.astype(np.int64)
    haplotypes = (ts.genotype_matrix() > 0).astype(np.uint8)
    count = haplotypes.sum(axis=1)
    keep = (count > 0) & (count < haplotypes.shape[1])
    return Haplotypes(positions[keep], haplotypes[keep])
