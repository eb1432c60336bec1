"""LD of one chromosome computed from a reference panel's genotypes, bounded in memory.

A panel is a PLINK 1 fileset (.bed/.bim/.fam, read in SNP chunks with bed-reader) or a VCF/BCF (read
record by record with pysam). Dosages count A1 = the .bim's first allele, or a VCF's ALT (a1 = ALT,
a2 = REF), as ``varflow.io.plink`` does. Per chromosome the step keeps:

* the LD band (``varflow.shrink.ldband``): r between SNPs at most W apart, (J, W+1) float32; LD further
  apart is taken as 0. The gene test reads its R_g and R_b from it.
* the block split of the band (the same rule ``ld-blocks`` applies to a dense matrix) and each block's
  LD, gathered from the band: every block must fit in it (m_b <= W + 1), so the block matrices hold every
  within-block correlation, computed from the genotypes.

Memory: O(n_samples x (W + chunk)) for the genotypes in flight plus the band, never J x J.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from varflow.errors import VarflowError
from varflow.io.contigs import strip_chr
from varflow.shrink.ldband import band_block, band_from_standardised, band_profiles, standardise
from varflow.shrink.ldblocks import BLOCK_RULES, cut_blocks

log = logging.getLogger("varflow")

VCF_SUFFIXES = (".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")
BAND_PER_AVG_BLOCK = 2.5  # W = ceil(2.5 avg_block): the slot rule's blocks stay below ~2.2 avg_block


@dataclass(frozen=True)
class PanelLDConfig:
    """Options of ``varflow shrink ld-panel`` (the only home of their defaults).

    ``avg_block``/``half_width``/``rule`` as ``ld-blocks``; ``band_snps`` W, the largest SNP distance
    whose LD is kept (None: ceil(BAND_PER_AVG_BLOCK x avg_block)); ``min_maf`` drops SNPs whose minor
    allele frequency is below it (monomorphic SNPs are always dropped); ``chunk_snps`` SNPs read at once.
    """

    avg_block: int = 1000
    half_width: int = 200
    rule: str = "slots"
    band_snps: int | None = None
    min_maf: float = 0.0
    chunk_snps: int = 512

    def __post_init__(self) -> None:
        if self.rule not in BLOCK_RULES:
            raise VarflowError(f"block rule must be one of {', '.join(BLOCK_RULES)}, got {self.rule!r}")
        if self.avg_block < 2 or self.chunk_snps < 1 or (self.band_snps is not None and self.band_snps < 1):
            raise VarflowError(f"ld-panel: avg_block >= 2, band_snps >= 1 and chunk_snps >= 1 are needed, got "
                               f"{self.avg_block}, {self.band_snps}, {self.chunk_snps}")
        if not 0.0 <= self.min_maf < 0.5:
            raise VarflowError(f"ld-panel: min_maf must be in [0, 0.5), got {self.min_maf}")

    @property
    def width(self) -> int:
        """W: the band's largest SNP distance."""
        return self.band_snps if self.band_snps is not None else math.ceil(BAND_PER_AVG_BLOCK * self.avg_block)


# ------------------------------------------------------------------------------------------- readers


@dataclass
class GenotypeStream:
    """One chromosome of a panel: ``chunks()`` yields (dosage (n, c) float32 counts of A1, NaN = missing;
    snps DataFrame SNP, POS, A1, A2 of those c SNPs) in file order. ``counts`` gathers what a reader
    skipped (filled while the chunks are read); ``n_hint`` the SNP count when known up front."""

    source: str
    kind: str
    n_samples: int
    n_hint: int | None
    chunks: Callable[[], Iterator[tuple[np.ndarray, pd.DataFrame]]]
    counts: dict = field(default_factory=dict)


def panel_kind(path: Path | str) -> str:
    """"vcf" for .vcf/.vcf.gz/.vcf.bgz/.bcf files, "plink" otherwise (a prefix or a .bed/.bim/.fam)."""
    return "vcf" if str(path).lower().endswith(VCF_SUFFIXES) else "plink"


def open_panel(path: Path | str, chrom: str, chunk_snps: int) -> GenotypeStream:
    """The genotypes of ``chrom`` in panel ``path`` (PLINK prefix/.bed or VCF/BCF), read lazily."""
    return open_vcf_panel(path, chrom, chunk_snps) if panel_kind(path) == "vcf" else \
        open_plink_panel(path, chrom, chunk_snps)


def open_plink_panel(path: Path | str, chrom: str, chunk_snps: int) -> GenotypeStream:
    """PLINK 1 fileset: the .bim rows of ``chrom`` ('chr' prefix ignored), read ``chunk_snps`` at a time."""
    from varflow.io.plink import fam_count, plink_dosage_chunks, plink_prefix, read_bim

    prefix = plink_prefix(path)
    bim = read_bim(prefix)
    rows = np.flatnonzero(bim["CHR"].map(strip_chr).to_numpy() == strip_chr(chrom))
    if rows.size == 0:
        have = ", ".join(dict.fromkeys(bim["CHR"].astype(str))) or "none"
        raise VarflowError(f"{prefix}.bim: no SNPs on chromosome {chrom} (chromosomes: {have})")
    n = fam_count(prefix)
    if n < 2:
        raise VarflowError(f"{prefix}.fam: {n} sample(s); LD needs at least 2")
    snps = bim.iloc[rows][["SNP", "POS", "A1", "A2"]].reset_index(drop=True)
    snps["A1"], snps["A2"] = snps["A1"].str.upper(), snps["A2"].str.upper()

    def chunks() -> Iterator[tuple[np.ndarray, pd.DataFrame]]:
        for lo, dosage in plink_dosage_chunks(prefix, rows, chunk_snps, n, len(bim)):
            yield dosage, snps.iloc[lo:lo + dosage.shape[1]].reset_index(drop=True)

    return GenotypeStream(str(prefix), "plink", n, len(rows), chunks)


def open_vcf_panel(path: Path | str, chrom: str, chunk_snps: int) -> GenotypeStream:
    """VCF/BCF: biallelic records of ``chrom`` (fetched through the index when there is one, else
    filtered while streaming), GT as ALT dosage 0/1/2 (NaN when any allele is missing); SNP = the ID
    column, or chr:pos:ref:alt where it is '.'; A1 = ALT, A2 = REF. Multi-allelic and ALT-less records
    are skipped and counted."""
    import pysam

    from varflow.io.contigs import contig_resolver

    path = Path(path)
    if not path.exists():
        raise VarflowError(f"{path}: VCF not found")
    try:
        vcf = pysam.VariantFile(str(path))
    except (OSError, ValueError) as exc:
        raise VarflowError(f"{path}: cannot open VCF/BCF ({exc})") from None
    n = len(vcf.header.samples)
    indexed = _has_index(vcf)
    contig = contig_resolver(list(vcf.header.contigs))(chrom) if indexed else None
    vcf.close()
    if n < 2:
        raise VarflowError(f"{path}: {n} sample(s) in the VCF header; LD needs at least 2")
    if indexed and contig is None:
        raise VarflowError(f"{path}: no records on chromosome {chrom} (contigs: "
                           f"{', '.join(_vcf_contigs(path)) or 'none'})")
    counts = {"multiallelic": 0}
    stream = GenotypeStream(str(path), "vcf", n, None, lambda: None, counts)

    def chunks() -> Iterator[tuple[np.ndarray, pd.DataFrame]]:
        with pysam.VariantFile(str(path)) as handle:
            records = handle.fetch(contig) if indexed else iter(handle)
            want = strip_chr(chrom)
            buf: list[np.ndarray] = []
            meta: list[tuple[str, int, str, str]] = []
            seen_any = seen_chrom = False
            for rec in records:
                seen_any = True
                if not indexed and strip_chr(rec.chrom) != want:
                    continue
                seen_chrom = True
                if rec.alts is None or len(rec.alts) != 1:
                    counts["multiallelic"] += 1
                    continue
                ref, alt = rec.ref.upper(), rec.alts[0].upper()
                snp = rec.id if rec.id not in (None, ".") else f"{rec.chrom}:{rec.pos}:{ref}:{alt}"
                buf.append(_alt_dosage(rec, n))
                meta.append((snp, int(rec.pos), alt, ref))
                if len(buf) == chunk_snps:
                    yield _vcf_chunk(buf, meta)
                    buf, meta = [], []
            if buf:
                yield _vcf_chunk(buf, meta)
            if not seen_any:
                raise VarflowError(f"{path}: the VCF holds no records")
            if not seen_chrom:
                raise VarflowError(f"{path}: no records on chromosome {chrom} (contigs: "
                                   f"{', '.join(_vcf_contigs(path)) or 'none'})")

    stream.chunks = chunks
    return stream


def _has_index(vcf) -> bool:
    try:
        return vcf.index is not None
    except (AttributeError, ValueError):
        return False


def _vcf_contigs(path: Path) -> list[str]:
    import pysam

    with pysam.VariantFile(str(path)) as handle:
        return list(handle.header.contigs)


def _alt_dosage(rec, n: int) -> np.ndarray:
    """(n,) float32 ALT allele count of each sample's GT; NaN when any of its alleles is missing."""
    out = np.empty(n, dtype=np.float32)
    for s, sample in enumerate(rec.samples.values()):
        alleles = sample.allele_indices
        out[s] = np.nan if not alleles or None in alleles else float(sum(a == 1 for a in alleles))
    return out


def _vcf_chunk(buf: list[np.ndarray], meta: list[tuple]) -> tuple[np.ndarray, pd.DataFrame]:
    return np.stack(buf, axis=1), pd.DataFrame(meta, columns=["SNP", "POS", "A1", "A2"])


# ------------------------------------------------------------------------------------------- compute


@dataclass
class PanelLD:
    """A chromosome's panel LD: ``band`` (J, W+1) float32 (``ldband``), ``snps`` (J rows: SNP, POS, A1,
    A2, FREQ = A1 frequency) of the kept SNPs in panel order, block ranges ``starts``/``ends`` (B,) int64, ``counts`` of
    samples, SNPs read, kept and dropped (with why)."""

    band: np.ndarray
    snps: pd.DataFrame
    starts: np.ndarray
    ends: np.ndarray
    counts: dict

    @property
    def width(self) -> int:
        return self.band.shape[1] - 1

    def blocks(self) -> list[np.ndarray]:
        """Per-block LD (m_b, m_b) float32, from the band (exact: every block fits in it)."""
        return [band_block(self.band, int(s), int(e)) for s, e in zip(self.starts, self.ends)]


def filtered_standardised(stream: GenotypeStream, min_maf: float, kept: list[pd.DataFrame],
                          counts: dict) -> Iterator[np.ndarray]:
    """Standardised dosages (n, c') float64 of each chunk's SNPs that are polymorphic and have minor
    allele frequency >= ``min_maf``; their rows (with FREQ, the A1 frequency) are appended to ``kept``
    and the drops to ``counts``."""
    for dosage, snps in stream.chunks():
        z, freq, sd = standardise(dosage)
        maf = np.minimum(freq, 1 - freq)
        poly = sd > 0
        keep = poly & (maf >= min_maf)
        counts["read"] += len(snps)
        counts["monomorphic"] += int((~poly).sum())
        counts["low_maf"] += int((poly & ~keep).sum())
        kept.append(snps[keep].assign(FREQ=freq[keep]))
        yield z[:, keep]


def compute_panel_ld(path: Path | str, chrom: str, config: PanelLDConfig = PanelLDConfig()) -> PanelLD:
    """Band, kept SNPs and blocks of ``chrom`` from panel ``path``; one pass over the genotypes.

    Raises VarflowError when no SNP is left, positions are unsorted, SNP IDs repeat, or a block is
    longer than the band (W + 1 SNPs; the "deepest" rule can cut such blocks: raise ``band_snps``)."""
    stream = open_panel(path, chrom, config.chunk_snps)
    counts = {"samples": stream.n_samples, "read": 0, "monomorphic": 0, "low_maf": 0}
    kept: list[pd.DataFrame] = []
    band = band_from_standardised(filtered_standardised(stream, config.min_maf, kept, counts), config.width,
                                  capacity=stream.n_hint or 1 << 16)
    counts.update(stream.counts)
    where = stream.source
    if band.shape[0] == 0:
        raise VarflowError(f"{where}: no SNP of chromosome {chrom} is left for LD ({_dropped(counts)})")
    snps = pd.concat(kept, ignore_index=True)
    pos = snps["POS"].to_numpy(np.int64)
    if np.any(np.diff(pos) < 0):
        i = int(np.flatnonzero(np.diff(pos) < 0)[0]) + 1
        raise VarflowError(f"{where}: SNP positions of {chrom} are not sorted ({snps['SNP'].iloc[i]} at {pos[i]} "
                           f"after {pos[i - 1]}); LD order must follow the chromosome")
    dup = snps["SNP"].duplicated().to_numpy()
    if dup.any():
        raise VarflowError(f"{where}: duplicate SNP ID {snps['SNP'].iloc[int(np.flatnonzero(dup)[0])]!r} on {chrom}")
    antidiag, crossing = band_profiles(band)
    starts, ends = cut_blocks(antidiag, crossing, len(snps), config.avg_block, config.half_width, config.rule)
    longest = int((ends - starts).max())
    if longest > config.width + 1:
        raise VarflowError(f"{where}: LD block of {longest} SNPs on {chrom} is longer than the LD band ("
                           f"{config.width + 1} SNPs); give --band-snps {longest - 1} or more, or use --block-rule slots")
    counts.update(kept=int(len(snps)), blocks=int(len(starts)), band_snps=config.width)
    return PanelLD(band, snps, starts, ends, counts)


def _dropped(counts: dict) -> str:
    parts = [f"{counts['read']} SNPs read", f"{counts['monomorphic']} monomorphic",
             f"{counts['low_maf']} below the MAF filter"]
    if counts.get("multiallelic"):
        parts.append(f"{counts['multiallelic']} multi-allelic records skipped")
    return ", ".join(parts)


def describe(path: Path | str, chrom: str, counts: dict) -> str:
    """The step's one log line: samples, SNPs kept and dropped (why), blocks, band."""
    return (f"shrink ld-panel {chrom}: {path} ({panel_kind(path)}), {counts['samples']} samples, "
            f"{counts['kept']} SNPs kept of {_dropped(counts)}; {counts['blocks']} blocks; "
            f"LD band W = {counts['band_snps']} SNPs")


def write_band_ld(path: Path | str, chrom: str, band: np.ndarray, snps: pd.DataFrame,
                  provenance: "Provenance | None" = None) -> Path:  # noqa: F821
    """The banded LD NPZ the gene test reads (``inputs.read_band_ld``): ``ld_layout`` = "band", ``chrom``,
    ``band`` (J, W+1) float32, ``snp``/``a1``/``a2`` (J,) str and ``pos`` (J,) int64."""
    from varflow.io.arrays import write_npz
    from varflow.shrink.inputs import BAND_LAYOUT

    return write_npz(path, {"ld_layout": np.array(BAND_LAYOUT), "chrom": np.array(chrom),
                            "band": band.astype(np.float32, copy=False), "snp": snps["SNP"].to_numpy(str),
                            "pos": snps["POS"].to_numpy(np.int64), "a1": snps["A1"].to_numpy(str),
                            "a2": snps["A2"].to_numpy(str)}, provenance)
