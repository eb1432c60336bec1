"""Synthetic reference sequence and gene placement.

Sequences are uint8 arrays of base codes 0..3 (A, C, G, T; see ``motifs.BASES``), one per
chromosome, 0-based. Background composition is human-like: GC about 0.41 and CpG depleted the way
methylation-driven deamination depletes it (C->T or G->A at a fraction of CpG dinucleotides).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from varflow.errors import VarflowError
from varflow.simulate.motifs import BASES

_ASCII = np.frombuffer(BASES.encode("ascii"), dtype=np.uint8)


def random_background(length: int, gc: float, cpg_retention: float, rng: np.random.Generator) -> np.ndarray:
    """Random sequence (length,) uint8 with GC fraction about ``gc`` after CpG depletion.

    ``cpg_retention`` is the fraction of CpG dinucleotides left intact (human genome: about 0.2-0.25
    of the count expected from base composition). Each depleted CpG loses its C (C->T) or its G (G->A),
    which lowers GC a little, so the initial draw is enriched to land near ``gc`` afterwards.
    """
    lost = (gc / 2) ** 2 * (1 - cpg_retention)  # fraction of positions that leave GC by deamination
    gc0 = min(gc + lost, 0.95)
    probs = np.array([(1 - gc0) / 2, gc0 / 2, gc0 / 2, (1 - gc0) / 2])
    seq = rng.choice(4, size=length, p=probs).astype(np.uint8)
    cpg = np.flatnonzero((seq[:-1] == 1) & (seq[1:] == 2))
    hit = cpg[rng.random(cpg.size) > cpg_retention]
    on_c = rng.random(hit.size) < 0.5
    seq[hit[on_c]] = 3          # C -> T on the forward strand
    seq[hit[~on_c] + 1] = 0     # G -> A (C -> T on the reverse strand)
    return seq


def place_genes(chrom: str, length: int, n_genes: int, flank: int, spacing: int,
                rng: np.random.Generator, first_index: int = 1) -> pd.DataFrame:
    """Place ``n_genes`` TSSs so each keeps ``flank`` bp on both sides and TSSs are >= ``spacing`` apart.

    Returns the genes table (gene_id, chrom, tss, strand, start, end; 0-based, half-open bodies).
    Raises VarflowError when the genes cannot fit on the chromosome.
    """
    free = length - 2 * flank - (n_genes - 1) * spacing
    if n_genes < 1 or free < 0:
        need = 2 * flank + (n_genes - 1) * spacing
        raise VarflowError(
            f"{n_genes} genes cannot fit on {chrom} ({length} bp): each gene needs a {2 * flank} bp window "
            f"and TSSs {spacing} bp apart, i.e. at least {need} bp; lower --n-genes-per-chrom or raise --scale")
    # Sorted uniform offsets into the slack, plus the fixed spacing: uniform placement under the constraint.
    slack = np.sort(rng.integers(0, free + 1, size=n_genes))
    tss = flank + slack + np.arange(n_genes) * spacing
    strand = np.where(rng.random(n_genes) < 0.5, "+", "-")
    body = rng.integers(2_000, 30_000, size=n_genes)
    start = np.where(strand == "+", tss, np.maximum(tss + 1 - body, 0))
    end = np.where(strand == "+", np.minimum(tss + body, length), tss + 1)
    ids = [f"VFG{first_index + i:05d}" for i in range(n_genes)]
    return pd.DataFrame({"gene_id": ids, "chrom": chrom, "tss": tss.astype(np.int64), "strand": strand,
                         "start": start.astype(np.int64), "end": end.astype(np.int64)})


def codes_to_str(codes: np.ndarray) -> str:
    """Base codes (n,) 0..3 -> 'ACGT' string."""
    return _ASCII[codes].tobytes().decode("ascii")


def write_fasta(path: Path, sequences: dict[str, np.ndarray], width: int = 60) -> None:
    """Write sequences (name -> base codes) as FASTA with ``width``-bp lines, then index it (.fai)."""
    import pysam

    with open(path, "wb") as handle:
        for name, codes in sequences.items():
            handle.write(f">{name}\n".encode("ascii"))
            raw = _ASCII[codes]
            n_full = raw.size // width
            if n_full:
                # Append a newline column to a (lines, width) view: one write per chromosome.
                block = np.hstack([raw[: n_full * width].reshape(n_full, width),
                                   np.full((n_full, 1), ord("\n"), dtype=np.uint8)])
                handle.write(block.tobytes())
            if raw.size % width:
                handle.write(raw[n_full * width:].tobytes() + b"\n")
    pysam.faidx(str(path))
