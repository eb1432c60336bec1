"""Regulatory elements around each TSS and the motif instances planted in them.

Every gene gets a promoter (400 bp straddling the TSS) and a few enhancers inside its cis window.
Elements hold motif instances written into the reference sequence. Two kinds of instance:

- *designed*: for genes chosen to have cis-eQTLs, an existing segregating SNV is picked and an
  instance is written over it so that the ALT allele breaks the instance (REF completes it) or
  creates it (REF is the one mismatching base). The variant is causal because of this, not by label.
- *background*: further instances placed where no segregating site falls, so they carry no variation.

Which variants are causal is decided afterwards by scanning the sequence (``expression.py``), so
chance hits of variants on motifs count too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from varflow.simulate.genome import random_background
from varflow.simulate.motifs import MOTIFS, Motif

PROMOTER_UP, PROMOTER_DOWN = 300, 100  # bp upstream / downstream of the TSS


@dataclass
class RegulatoryLayout:
    """Elements and planted instances of one chromosome.

    ``elements``: element_id, chrom, start, end (0-based half-open), gene_id, kind (promoter|enhancer),
    strength (multiplier of motif activity, promoter 1.0).
    ``instances``: chrom, start, end, motif, strand, gene_id, element_id, designed (bool).
    ``designed_alt``: {site position: ALT base code} for designed causal SNVs.
    """

    elements: pd.DataFrame
    instances: pd.DataFrame
    designed_alt: dict[int, int]


class _Occupancy:
    """Boolean masks over a chromosome: element bodies and instance bodies may not overlap."""

    def __init__(self, length: int):
        self.element = np.zeros(length, dtype=bool)
        self.instance = np.zeros(length, dtype=bool)

    def element_free(self, start: int, end: int, pad: int = 50) -> bool:
        lo, hi = max(start - pad, 0), min(end + pad, self.element.size)
        return start >= 0 and end <= self.element.size and not self.element[lo:hi].any()


def _orient(site: np.ndarray, strand: str) -> np.ndarray:
    """Genome codes of a forward-strand site written on ``strand`` (reverse complement for '-')."""
    return site if strand == "+" else (3 - site[::-1]).astype(np.uint8)


def design_chromosome(chrom: str, seq: np.ndarray, genes: pd.DataFrame, site_pos: np.ndarray,
                      site_maf: np.ndarray, rng: np.random.Generator, *, regulatory_reach: int,
                      null_fraction: float, causal_counts: tuple[float, ...], min_causal_maf: float,
                      break_fraction: float, motifs: tuple[Motif, ...] = MOTIFS) -> RegulatoryLayout:
    """Lay out elements, plant motif instances into ``seq`` (modified in place), pick designed causal SNVs.

    ``site_pos`` (n_sites,) 0-based positions of the segregating sites, ``site_maf`` their MAF in
    the expression cohort. Enhancer centres lie 2,000 to ``regulatory_reach`` - 1,500 bp from the TSS
    and designed causal variants within ``regulatory_reach`` - 1,000 bp of it. ``causal_counts[i]`` is the probability that a non-null gene gets i + 1
    designed causal variants.
    """
    length = seq.size
    occ = _Occupancy(length)
    has_site = np.zeros(length, dtype=bool)
    has_site[site_pos] = True
    elements: list[dict] = []
    instances: list[dict] = []
    designed_alt: dict[int, int] = {}

    def add_element(gene_id: str, start: int, end: int, kind: str, strength: float) -> dict:
        el = {"element_id": f"{gene_id}_{kind[0]}{len([e for e in elements if e['gene_id'] == gene_id])}",
              "chrom": chrom, "start": int(start), "end": int(end), "gene_id": gene_id, "kind": kind,
              "strength": float(strength)}
        elements.append(el)
        occ.element[start:end] = True
        return el

    def write_instance(el: dict, motif: Motif, start: int, codes: np.ndarray, strand: str, designed: bool):
        seq[start:start + len(motif)] = codes
        occ.instance[start:start + len(motif)] = True
        instances.append({"chrom": chrom, "start": int(start), "end": int(start + len(motif)),
                          "motif": motif.name, "strand": strand, "gene_id": el["gene_id"],
                          "element_id": el["element_id"], "designed": designed})

    # 1. Promoters (CpG-island-like: GC-rich, CpG mostly retained) and enhancers.
    for gene in genes.itertuples(index=False):
        tss = int(gene.tss)
        if gene.strand == "+":
            prom = add_element(gene.gene_id, tss - PROMOTER_UP, tss + PROMOTER_DOWN, "promoter", 1.0)
        else:
            prom = add_element(gene.gene_id, tss - PROMOTER_DOWN + 1, tss + PROMOTER_UP + 1, "promoter", 1.0)
        seq[prom["start"]:prom["end"]] = random_background(prom["end"] - prom["start"], gc=0.62,
                                                           cpg_retention=0.8, rng=rng)
        for _ in range(int(rng.integers(2, 5))):
            for _attempt in range(30):
                size = int(rng.integers(300, 700))
                centre = tss + int(rng.choice([-1, 1]) * rng.integers(2_000, max(regulatory_reach - 1_500, 2_001)))
                start = centre - size // 2
                if occ.element_free(start, start + size):
                    add_element(gene.gene_id, start, start + size, "enhancer", rng.uniform(0.3, 0.9))
                    break

    # 2. Designed causal SNVs: an instance written over a common segregating site.
    n_genes = len(genes)
    is_causal_gene = rng.random(n_genes) >= null_fraction
    # Sites with a neighbour within 15 bp are skipped so one instance holds one variant.
    gap_before = np.diff(site_pos, prepend=-10**9)
    gap_after = np.diff(site_pos, append=10**12)
    isolated = (gap_before > 15) & (gap_after > 15)
    for gi, gene in enumerate(genes.itertuples(index=False)):
        if not is_causal_gene[gi]:
            continue
        n_causal = int(rng.choice(len(causal_counts), p=np.asarray(causal_counts) / sum(causal_counts))) + 1
        tss = int(gene.tss)
        near = (np.abs(site_pos - tss) <= regulatory_reach - 1_000) & (site_maf >= min_causal_maf) & isolated
        candidates = rng.permutation(np.flatnonzero(near))
        placed = 0
        for idx in candidates:
            if placed == n_causal:
                break
            pos = int(site_pos[idx])
            if occ.instance[max(pos - 15, 0):pos + 15].any():
                continue
            owner = next((e for e in elements if e["start"] <= pos < e["end"]), None)
            if owner is None:
                size = int(rng.integers(300, 600))
                start = pos - int(rng.integers(100, size - 100))
                if not occ.element_free(start, start + size):
                    continue
                owner = add_element(gene.gene_id, start, start + size, "enhancer", rng.uniform(0.5, 1.0))
            elif owner["gene_id"] != gene.gene_id:
                continue
            motif = motifs[int(rng.integers(len(motifs)))]
            k = len(motif)
            strand = "+" if rng.random() < 0.5 else "-"
            j = int(rng.choice(motif.fixed_positions))  # motif position the variant hits
            offset = j if strand == "+" else k - 1 - j  # its offset on the genome
            start = pos - offset
            if start < owner["start"] or start + k > owner["end"]:
                continue
            codes = _orient(motif.sample_site(rng), strand)
            required = int(codes[offset])
            write_instance(owner, motif, start, codes, strand, designed=True)
            if rng.random() < break_fraction:
                # REF completes the site; any other base at a fixed position breaks it.
                alt = (required + int(rng.integers(1, 4))) % 4
            else:
                # REF is a mismatching base; ALT restores the consensus and creates the site.
                seq[pos] = (required + int(rng.integers(1, 4))) % 4
                alt = required
            designed_alt[pos] = alt
            placed += 1

    # 3. Background instances, placed where no segregating site can touch them.
    for el in elements:
        n_inst = int(rng.integers(2, 7)) if el["kind"] == "promoter" else int(rng.integers(1, 5))
        for _ in range(n_inst):
            motif = motifs[int(rng.integers(len(motifs)))]
            k = len(motif)
            if el["end"] - el["start"] <= k:
                continue
            for _attempt in range(20):
                start = int(rng.integers(el["start"], el["end"] - k + 1))
                if not (has_site[start:start + k].any() or occ.instance[start:start + k].any()):
                    strand = "+" if rng.random() < 0.5 else "-"
                    write_instance(el, motif, start, _orient(motif.sample_site(rng), strand), strand, False)
                    break

    el_df = pd.DataFrame(elements, columns=["element_id", "chrom", "start", "end", "gene_id", "kind", "strength"])
    inst_df = pd.DataFrame(instances, columns=["chrom", "start", "end", "motif", "strand", "gene_id",
                                               "element_id", "designed"])
    return RegulatoryLayout(el_df.sort_values("start", ignore_index=True),
                            inst_df.sort_values("start", ignore_index=True), designed_alt)
