"""The haplotype store: per gene window, the reference bases, the variant records and, per haplotype,
the allele carried, built in ONE pass over the VCF per chromosome (``varflow s2e prepare``).

One NPZ shard per chromosome, arrays (G genes, M gene-variant rows, V variants, N samples):

=================  ==============  ==========================================================
``samples``        (N,) str        VCF sample names (haplotype h of sample i is column 2*i + h)
``window``         () int64        window length L in bp
``gene_id``        (G,) str        gene ids; ``chrom`` () str the chromosome (gene-table spelling)
``tss``            (G,) int64      TSS, 0-based; ``minus`` (G,) bool minus strand
``ext_start``      (G,) int64      genomic start of the gene's extended reference region
``ext_len``        (G,) int64      its length; ``tss_rel`` (G,) int64 TSS index within it
``buf_ptr``        (G+1,) int64    gene g's buffer is ``buf[buf_ptr[g]:buf_ptr[g+1]]``
``buf``            (B,) uint8      per gene: extended reference codes, then its variants' alt codes
``gv_ptr``         (G+1,) int64    gene g's variant rows are ``gv_ptr[g]:gv_ptr[g+1]``
``gv_var``         (M,) int64      variant index of each gene-variant row (sorted by position)
``gv_start``       (M,) int64      REF start relative to ``ext_start``
``gv_alt_off``     (M,) int64      alt offset within the gene's buffer
``var_pos``        (V,) int64      POS (1-based, as in the VCF); ``var_ref``/``var_alt`` (V,) str
``var_rlen``       (V,) int64      REF length; ``var_alen`` (V,) int64 ALT length
``var_record``     (V,) int64      index of the source VCF record (split multi-allelic records share it)
``hap_bits``       (V, ceil(2N/8)) uint8  ``np.packbits`` of the (V, 2N) alt-allele indicator
=================  ==============  ==========================================================

Multi-allelic records are split into one biallelic variant per ALT (a haplotype carries at most one);
symbolic/star alleles are dropped and counted; REF is checked against the FASTA (mismatching records
dropped, an error above ``max_ref_mismatch``); missing genotypes read as reference and are counted.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pysam

from varflow.errors import VarflowError
from varflow.io.arrays import read_npz, write_npz
from varflow.io.contigs import normalise_chrom_names
from varflow.io.genome import ReferenceGenome
from varflow.io.provenance import Provenance
from varflow.io.vcf import open_vcf, vcf_contig_names
from varflow.s2e.haplotypes import (Copies, apply_copies, haplotype_copies, left_offset, resolve_overlaps,
                                    reverse_complement, reverse_copies)

log = logging.getLogger("varflow")

_VALID_ALLELE = set("ACGTN")


@dataclass
class PrepareStats:
    """Counts reported by ``prepare`` for one chromosome."""

    chrom: str
    n_genes: int = 0
    n_genes_clipped: int = 0       # window runs off a chromosome end (padded with N)
    n_records: int = 0             # VCF records overlapping some window
    n_variants: int = 0            # biallelic variants stored (after splitting and dropping)
    n_multiallelic: int = 0        # records with more than one ALT (split)
    n_overlapping: int = 0         # records whose REF span overlaps an earlier record's span
    n_hap_conflicts: int = 0       # haplotypes carrying two overlapping alt alleles (one is skipped)
    n_ref_mismatch: int = 0        # records whose REF disagrees with the FASTA (dropped)
    n_symbolic: int = 0            # symbolic / star / non-ACGTN alt alleles (dropped)
    n_missing_gt: int = 0          # missing allele calls read as reference
    n_unphased_het: int = 0        # heterozygous calls without phase (only with allow_unphased)

    def to_dict(self) -> dict:
        return asdict(self)


def record_lines(path: Path, contig: str, bcf: bool) -> Iterator[str]:
    """The VCF text lines of ``contig``'s records: read from the tabix index of a bgzipped VCF, or, for a
    BCF (``bcf``: binary, a .csi index), decoded by pysam into the same text."""
    if bcf:
        with pysam.VariantFile(str(path)) as vcf:
            for record in vcf.fetch(contig):
                yield str(record)
        return
    tabix = pysam.TabixFile(str(path))
    try:
        yield from tabix.fetch(contig)
    finally:
        tabix.close()


def _gene_windows(genes: pd.DataFrame, window: int) -> tuple[np.ndarray, np.ndarray]:
    minus = genes["strand"].to_numpy() == "-"
    offset = np.where(minus, left_offset(window, True), left_offset(window, False))
    ws = genes["tss"].to_numpy(dtype=np.int64) - offset
    return ws, ws + window


def _parse_gt(samples_field: str, n: int, fmt: str, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Allele indices of both haplotypes and the phased flag from a record's sample columns.

    Returns (a0, a1, phased): (N,) int16 allele indices (-1 = missing) and (N,) bool.
    """
    if fmt == "GT" and len(samples_field) == 4 * n - 1:
        raw = np.frombuffer(samples_field.encode("ascii"), dtype=np.uint8)
        raw = np.concatenate((raw, [9])).reshape(n, 4)  # fields 'a|b' + tab
        a0, sep, a1 = raw[:, 0], raw[:, 1], raw[:, 2]
        digits_ok = ((a0 >= 48) & (a0 <= 57)) | (a0 == 46)
        digits_ok &= ((a1 >= 48) & (a1 <= 57)) | (a1 == 46)
        if digits_ok.all() and np.isin(sep, (124, 47)).all():
            h0 = np.where(a0 == 46, -1, a0.astype(np.int16) - 48)
            h1 = np.where(a1 == 46, -1, a1.astype(np.int16) - 48)
            return h0, h1, sep == 124
    # General path: other FORMAT fields, multi-digit allele indices, haploid calls.
    fields = samples_field.split("\t")
    if len(fields) != n:
        raise VarflowError(f"{where}: expected {n} sample columns, found {len(fields)}")
    keys = fmt.split(":")
    if keys[0] != "GT":
        raise VarflowError(f"{where}: FORMAT must start with GT, found {fmt!r}")
    h0 = np.empty(n, dtype=np.int16)
    h1 = np.empty(n, dtype=np.int16)
    phased = np.empty(n, dtype=bool)
    for i, field in enumerate(fields):
        gt = field.split(":", 1)[0]
        sep = "|" if "|" in gt else "/"
        parts = gt.split(sep)
        if len(parts) == 1:  # haploid call: both haplotypes carry it
            parts = parts * 2
        if len(parts) != 2:
            raise VarflowError(f"{where}: sample {i + 1}: cannot read genotype {gt!r}")
        try:
            h0[i], h1[i] = (-1 if p == "." else int(p) for p in parts)
        except ValueError:
            raise VarflowError(f"{where}: sample {i + 1}: cannot read genotype {gt!r}") from None
        phased[i] = sep == "|" or parts[0] == parts[1]
    return h0, h1, phased


def _padded_slice(codes: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """codes[lo:hi] with 'N' where [lo, hi) runs off either end."""
    out = np.full(hi - lo, ord("N"), dtype=np.uint8)
    a, b = max(lo, 0), min(hi, codes.shape[0])
    if b > a:
        out[a - lo:b - lo] = codes[a:b]
    return out


def prepare_chromosome(vcf_path: Path, reference_path: Path, genes: pd.DataFrame, chrom: str,
                       out_path: Path, *, window: int = 40_000, max_ref_mismatch: float = 0.01,
                       allow_unphased: bool = False, provenance: Provenance | None = None
                       ) -> PrepareStats:
    """Build the haplotype store shard of chromosome ``chrom`` from one pass over its VCF records.

    ``genes``: table with gene_id, chrom, tss (0-based), strand. Writes ``out_path`` (NPZ) and returns
    the counts. Raises VarflowError for a contig missing from the FASTA, unphased heterozygous calls
    (unless ``allow_unphased``) or a REF mismatch fraction above ``max_ref_mismatch``.
    """
    if window < 2:
        raise VarflowError(f"--window must be at least 2 bp, got {window}")
    stats = PrepareStats(chrom=chrom)
    genes = genes[genes["chrom"].astype(str) == chrom].sort_values("tss", kind="stable").reset_index(drop=True)
    if genes.empty:
        raise VarflowError(f"no genes on chromosome '{chrom}' in the gene table")
    bad_strand = ~genes["strand"].isin(["+", "-"])
    if bad_strand.any():
        row = genes[bad_strand].iloc[0]
        raise VarflowError(f"gene table: gene {row['gene_id']}: strand must be '+' or '-', found {row['strand']!r}")
    stats.n_genes = len(genes)
    ws, we = _gene_windows(genes, window)

    with ReferenceGenome(reference_path) as genome:
        fasta_contig = genome.contig(chrom)
        chrom_len = genome.lengths[fasta_contig]
        chrom_codes = genome.fetch_codes(fasta_contig, 0, chrom_len)
    stats.n_genes_clipped = int(((ws < 0) | (we > chrom_len)).sum())

    with open_vcf(vcf_path) as vcf:
        samples = list(vcf.header.samples)
        vcf_contig = normalise_chrom_names([chrom], vcf_contig_names(vcf))[0]
        bcf = vcf.format == "BCF"
    n = len(samples)
    if n == 0:
        raise VarflowError(f"{vcf_path}: VCF has no samples")

    # --- the one pass: every record of the chromosome, kept when it overlaps a window -------------
    order = np.argsort(ws, kind="stable")
    ws_sorted, we_run_max = ws[order], np.maximum.accumulate(we[order])
    pos_l, ref_l, alts_l, rec_l, h0_l, h1_l = [], [], [], [], [], []
    if vcf_contig is None:
        log.warning("%s: contig %s absent from the VCF; its genes get reference-only windows", vcf_path, chrom)
    else:
        lines = record_lines(vcf_path, vcf_contig, bcf)
        try:
            for line_no, line in enumerate(lines):
                f = line.split("\t", 9)
                if len(f) < 10:
                    raise VarflowError(f"{vcf_path}: {vcf_contig} record {line_no + 1}: fewer than 10 columns")
                start = int(f[1]) - 1
                ref = f[3].upper()
                end = start + len(ref)
                # overlap with some window: a window starting before `end` whose end passes `start`
                k = int(np.searchsorted(ws_sorted, end, side="left"))
                if k == 0 or we_run_max[k - 1] <= start:
                    continue
                where = f"{vcf_path}: {vcf_contig}:{f[1]}"
                h0, h1, phased = _parse_gt(f[9].rstrip("\n"), n, f[8], where)
                unphased_het = ~phased & (h0 != h1)
                if unphased_het.any():
                    if not allow_unphased:
                        i = int(np.flatnonzero(unphased_het)[0])
                        raise VarflowError(f"{where}: sample {samples[i]} has an unphased heterozygous genotype; "
                                           "phase the VCF or pass --allow-unphased (alleles then taken in the "
                                           "written order)")
                    stats.n_unphased_het += int(unphased_het.sum())
                pos_l.append(start)
                ref_l.append(ref)
                alts_l.append(f[4].upper().split(","))
                rec_l.append(stats.n_records)
                h0_l.append(h0)
                h1_l.append(h1)
                stats.n_records += 1
        finally:
            lines.close()

    # --- REF check against the FASTA (vectorised) -------------------------------------------------
    keep_rec = np.ones(stats.n_records, dtype=bool)
    if stats.n_records:
        rstart = np.asarray(pos_l, dtype=np.int64)
        rlen = np.fromiter((len(r) for r in ref_l), dtype=np.int64, count=stats.n_records)
        ref_codes = np.frombuffer("".join(ref_l).encode("ascii"), dtype=np.uint8)
        owner = np.repeat(np.arange(stats.n_records), rlen)
        within = np.arange(ref_codes.shape[0]) - np.repeat(np.cumsum(rlen) - rlen, rlen)
        gpos = rstart[owner] + within
        fasta = np.where(gpos < chrom_len, chrom_codes[np.minimum(gpos, chrom_len - 1)], ord("N"))
        # N in either sequence is not evidence of a mismatch
        differs = (ref_codes != fasta) & (ref_codes != ord("N")) & (fasta != ord("N"))
        bad = np.zeros(stats.n_records, dtype=bool)
        np.logical_or.at(bad, owner[differs], True)
        stats.n_ref_mismatch = int(bad.sum())
        if stats.n_ref_mismatch > max_ref_mismatch * stats.n_records:
            i = int(np.flatnonzero(bad)[0])
            raise VarflowError(
                f"{vcf_path}: {stats.n_ref_mismatch} of {stats.n_records} records on {chrom} have a REF that "
                f"disagrees with {reference_path} (first at POS {rstart[i] + 1}: REF {ref_l[i]!r}, FASTA "
                f"{_padded_slice(chrom_codes, int(rstart[i]), int(rstart[i] + rlen[i])).tobytes().decode()!r}); "
                f"limit --max-ref-mismatch {max_ref_mismatch}")
        keep_rec &= ~bad

    # --- split multi-allelic records into biallelic variants ----------------------------------------
    v_pos, v_ref, v_alt, v_rec, v_bits = [], [], [], [], []
    for r in np.flatnonzero(keep_rec):
        alts = alts_l[r]
        if len(alts) > 1:
            stats.n_multiallelic += 1
        h = np.stack((h0_l[r], h1_l[r]), axis=1).reshape(-1)  # (2N,) haplotype-major per sample
        stats.n_missing_gt += int((h < 0).sum())
        for j, alt in enumerate(alts, start=1):
            if not alt or not set(alt) <= _VALID_ALLELE:
                stats.n_symbolic += 1
                continue
            v_pos.append(pos_l[r] + 1)
            v_ref.append(ref_l[r])
            v_alt.append(alt)
            v_rec.append(rec_l[r])
            v_bits.append(h == j)
    n_var = len(v_pos)
    stats.n_variants = n_var
    var_pos = np.asarray(v_pos, dtype=np.int64)
    var_start = var_pos - 1
    var_rlen = np.fromiter((len(r) for r in v_ref), dtype=np.int64, count=n_var)
    var_alen = np.fromiter((len(a) for a in v_alt), dtype=np.int64, count=n_var)
    bits = np.stack(v_bits) if n_var else np.zeros((0, 2 * n), dtype=bool)
    hap_bits = np.packbits(bits, axis=1) if n_var else np.zeros((0, (2 * n + 7) // 8), dtype=np.uint8)

    if n_var:
        # records overlapping an earlier one, and haplotypes carrying two overlapping alt alleles
        rec_first = np.concatenate(([True], np.diff(np.asarray(v_rec)) != 0))
        r_start, r_end = var_start[rec_first], (var_start + var_rlen)[rec_first]
        if r_start.shape[0] > 1:
            stats.n_overlapping = int((r_start[1:] < np.maximum.accumulate(r_end)[:-1]).sum())
        v_end_max = np.maximum.accumulate(var_start + var_rlen)
        for i in np.flatnonzero(var_start[1:] < v_end_max[:-1]) + 1:
            earlier = np.flatnonzero((var_start[:i] + var_rlen[:i] > var_start[i]) & (np.asarray(v_rec[:i]) != v_rec[i]))
            if earlier.size:
                stats.n_hap_conflicts += int((bits[i] & bits[earlier].any(axis=0)).sum())

    # --- per gene: variants overlapping the window, extended reference, alt codes -----------------
    var_end = var_start + var_rlen
    alt_bytes = [a.encode("ascii") for a in v_alt]
    buf_parts, buf_ptr, gv_ptr = [], [0], [0]
    gv_var, gv_start, gv_alt_off, ext_start, ext_len, tss_rel = [], [], [], [], [], []
    tss = genes["tss"].to_numpy(dtype=np.int64)
    max_rlen = int(var_rlen.max()) if n_var else 1
    for g in range(len(genes)):
        lo_i = int(np.searchsorted(var_start, ws[g] - max_rlen, side="left"))
        hi_i = int(np.searchsorted(var_start, we[g], side="left"))
        cand = np.arange(lo_i, hi_i)
        idx = cand[var_end[cand] > ws[g]]
        deleted = int(np.maximum(var_rlen[idx] - var_alen[idx], 0).sum())
        lo = min(int(ws[g]), int(var_start[idx].min()) if idx.size else int(ws[g])) - deleted
        hi = max(int(we[g]), int(var_end[idx].max()) if idx.size else int(we[g])) + deleted
        ref = _padded_slice(chrom_codes, lo, hi)
        alts = b"".join(alt_bytes[i] for i in idx)
        offs = ref.shape[0] + np.concatenate(([0], np.cumsum(var_alen[idx])[:-1])) if idx.size else np.zeros(0, np.int64)
        buf_parts.append(ref)
        buf_parts.append(np.frombuffer(alts, dtype=np.uint8))
        buf_ptr.append(buf_ptr[-1] + ref.shape[0] + len(alts))
        gv_var.append(idx)
        gv_start.append(var_start[idx] - lo)
        gv_alt_off.append(offs)
        gv_ptr.append(gv_ptr[-1] + idx.size)
        ext_start.append(lo)
        ext_len.append(hi - lo)
        tss_rel.append(int(tss[g]) - lo)

    arrays = {
        "samples": np.asarray(samples, dtype=str),
        "window": np.int64(window),
        "chrom": np.asarray(chrom),
        "gene_id": genes["gene_id"].astype(str).to_numpy(dtype=str),
        "tss": tss,
        "minus": genes["strand"].to_numpy() == "-",
        "ext_start": np.asarray(ext_start, dtype=np.int64),
        "ext_len": np.asarray(ext_len, dtype=np.int64),
        "tss_rel": np.asarray(tss_rel, dtype=np.int64),
        "buf_ptr": np.asarray(buf_ptr, dtype=np.int64),
        "buf": np.concatenate(buf_parts).astype(np.uint8),
        "gv_ptr": np.asarray(gv_ptr, dtype=np.int64),
        "gv_var": np.concatenate(gv_var).astype(np.int64),
        "gv_start": np.concatenate(gv_start).astype(np.int64),
        "gv_alt_off": np.concatenate(gv_alt_off).astype(np.int64),
        "var_pos": var_pos,
        "var_ref": np.asarray(v_ref, dtype=str),
        "var_alt": np.asarray(v_alt, dtype=str),
        "var_rlen": var_rlen,
        "var_alen": var_alen,
        "var_record": np.asarray(v_rec, dtype=np.int64),
        "hap_bits": hap_bits,
    }
    write_npz(out_path, arrays, provenance)
    log.info("s2e prepare %s: %d genes, %d records -> %d variants (%d multi-allelic, %d overlapping, "
             "%d REF mismatches dropped, %d symbolic dropped, %d missing calls)", chrom, stats.n_genes,
             stats.n_records, stats.n_variants, stats.n_multiallelic, stats.n_overlapping,
             stats.n_ref_mismatch, stats.n_symbolic, stats.n_missing_gt)
    return stats


_SHARD_REQUIRED = {
    "samples": ("U", 1), "window": ("i", 0), "gene_id": ("U", 1), "tss": ("i", 1), "minus": ("b", 1),
    "ext_start": ("i", 1), "ext_len": ("i", 1), "tss_rel": ("i", 1), "buf_ptr": ("i", 1), "buf": ("u", 1),
    "gv_ptr": ("i", 1), "gv_var": ("i", 1), "gv_start": ("i", 1), "gv_alt_off": ("i", 1),
    "var_pos": ("i", 1), "var_ref": ("U", 1), "var_alt": ("U", 1), "var_rlen": ("i", 1),
    "var_alen": ("i", 1), "var_record": ("i", 1), "hap_bits": ("u", 2),
}


def read_shard(path: Path) -> dict[str, np.ndarray]:
    """Load one store shard written by ``prepare_chromosome``, checking its arrays."""
    arrays = read_npz(path, required=_SHARD_REQUIRED)
    n = arrays["samples"].shape[0]
    if arrays["hap_bits"].shape != (arrays["var_pos"].shape[0], (2 * n + 7) // 8):
        raise VarflowError(f"{path}: hap_bits has shape {arrays['hap_bits'].shape}, expected "
                           f"({arrays['var_pos'].shape[0]}, {(2 * n + 7) // 8})")
    return arrays


class HaplotypeStore:
    """The loaded store (one or more chromosome shards) and window construction from it.

    Genes are numbered 0..G-1 in shard order; samples are the VCF samples shared by every shard.
    ``keep`` masks (per shard, (V,) bool) restrict which variants are applied (SNV-only, AF range).
    """

    def __init__(self, shards: list[dict[str, np.ndarray]], paths: list[Path] | None = None):
        if not shards:
            raise VarflowError("the haplotype store has no shards")
        paths = paths or [Path(f"shard{i}") for i in range(len(shards))]
        self.samples = [str(s) for s in shards[0]["samples"]]
        self.window = int(shards[0]["window"])
        for path, shard in zip(paths, shards):
            if [str(s) for s in shard["samples"]] != self.samples:
                raise VarflowError(f"{path}: samples differ from {paths[0]}; shards must come from one VCF")
            if int(shard["window"]) != self.window:
                raise VarflowError(f"{path}: window {int(shard['window'])} differs from {paths[0]} ({self.window})")
        self.shards = shards
        rows = []
        for s, shard in enumerate(shards):
            for g in range(shard["gene_id"].shape[0]):
                rows.append((str(shard["gene_id"][g]), str(shard["chrom"]), int(shard["tss"][g]),
                             "-" if shard["minus"][g] else "+", s, g))
        self.genes = pd.DataFrame(rows, columns=["gene_id", "chrom", "tss", "strand", "shard", "local"])
        dup = self.genes["gene_id"].duplicated()
        if dup.any():
            raise VarflowError(f"gene {self.genes['gene_id'][dup].iloc[0]} appears in more than one store shard")
        self.gene_index = {gid: i for i, gid in enumerate(self.genes["gene_id"])}
        self.keep = [np.ones(sh["var_pos"].shape[0], dtype=bool) for sh in shards]
        self._build_gene_views()

    @classmethod
    def load(cls, paths: list[Path] | Path) -> "HaplotypeStore":
        """Load shard files (or every ``*.npz`` in a folder)."""
        if isinstance(paths, (str, Path)):
            paths = [Path(paths)]
        files: list[Path] = []
        for p in map(Path, paths):
            if p.is_dir():
                found = sorted(p.glob("*.npz"))
                if not found:
                    raise VarflowError(f"{p}: no store shards (*.npz) in this folder")
                files.extend(found)
            else:
                files.append(p)
        return cls([read_shard(p) for p in files], files)

    @property
    def n_genes(self) -> int:
        return len(self.genes)

    def _build_gene_views(self) -> None:
        """Per gene: a tuple of array views used on the hot path (no per-item slicing arithmetic)."""
        self._views = []
        for s, shard in enumerate(self.shards):
            keep = self.keep[s]
            for g in range(shard["gene_id"].shape[0]):
                b0, b1 = shard["buf_ptr"][g], shard["buf_ptr"][g + 1]
                m0, m1 = shard["gv_ptr"][g], shard["gv_ptr"][g + 1]
                var = shard["gv_var"][m0:m1]
                kept = keep[var]
                var = var[kept]
                self._views.append((
                    shard["buf"][b0:b1], int(shard["ext_len"][g]), int(shard["tss_rel"][g]),
                    left_offset(self.window, bool(shard["minus"][g])), bool(shard["minus"][g]),
                    shard["gv_start"][m0:m1][kept], shard["var_rlen"][var],
                    shard["gv_alt_off"][m0:m1][kept], shard["var_alen"][var],
                    shard["hap_bits"][var], var, s,
                ))

    def set_variant_filter(self, keep: list[np.ndarray]) -> None:
        """Apply only variants with ``keep[shard][v]`` True (one (V,) bool array per shard)."""
        if len(keep) != len(self.shards) or any(k.shape != sh["var_pos"].shape for k, sh in zip(keep, self.shards)):
            raise ValueError("one (V,) keep mask per shard expected")
        self.keep = [np.asarray(k, dtype=bool) for k in keep]
        self._build_gene_views()

    def alt_frequency(self, sample_idx: np.ndarray) -> list[np.ndarray]:
        """Alt-allele frequency of every variant over the haplotypes of ``sample_idx``; (V,) per shard."""
        cols = np.sort(np.concatenate((2 * sample_idx, 2 * sample_idx + 1)))
        out = []
        for shard in self.shards:
            bits = shard["hap_bits"]
            freq = np.zeros(bits.shape[0], dtype=np.float64)
            for lo in range(0, bits.shape[0], 4096):  # chunks keep the unpacked matrix small
                freq[lo:lo + 4096] = np.unpackbits(bits[lo:lo + 4096], axis=1)[:, cols].mean(axis=1)
            out.append(freq)
        return out

    def gene_variants(self, g: int) -> pd.DataFrame:
        """The variants applied in gene ``g``'s window: variant_id, pos (1-based), ref, alt, window_index.

        ``window_index`` is the output index of the variant's first REF base in the oriented window
        (may fall outside [0, L) for a variant that only overlaps the window edge).
        """
        view = self._views[g]
        shard = self.shards[view[11]]
        var = view[10]
        chrom = str(self.genes.at[g, "chrom"])
        pos = shard["var_pos"][var]
        ref, alt = shard["var_ref"][var], shard["var_alt"][var]
        rel = view[5] - (view[2] - view[3])  # genomic offset from the window's first base
        minus = view[4]
        index = self.window - 1 - rel if minus else rel
        return pd.DataFrame({
            "variant_id": [f"{chrom}:{p}:{r}:{a}" for p, r, a in zip(pos, ref, alt)],
            "pos": pos, "ref": ref, "alt": alt, "window_index": index,
        })

    def n_gene_variants(self, g: int) -> int:
        return int(self._views[g][10].shape[0])

    def haplotype_alleles(self, g: int, haps: np.ndarray) -> np.ndarray:
        """Alt indicators of gene ``g``'s variants on haplotype columns ``haps``: (M_g, len(haps)) bool."""
        bits = self._views[g][9]
        return ((bits[:, haps >> 3] >> (7 - (haps & 7)).astype(np.uint8)) & 1).astype(bool)

    def oriented_buffer(self, g: int) -> np.ndarray:
        """Gene ``g``'s buffer (extended reference, then alt alleles), (B_g,) uint8 codes,
        reverse-complemented for minus-strand genes: the table that ``window_copies`` read."""
        buf, minus = self._views[g][0], self._views[g][4]
        return reverse_complement(buf) if minus else buf

    def window_copies(self, g: int, active: np.ndarray | None) -> Copies:
        """Block copies from ``oriented_buffer(g)`` (or its one-hot rows) that build gene ``g``'s oriented
        window with the alt alleles ``active`` ((M_g,) bool; None = reference)."""
        buf, ref_len, tss_rel, offset, minus, start, rlen, alt_off, alt_len = self._views[g][:9]
        if active is None or not active.any():
            sel = np.zeros(0, dtype=np.int64)
        else:
            sel = np.flatnonzero(active)
            applied = resolve_overlaps(start[sel], rlen[sel])
            if not applied.all():
                sel = sel[applied]
        copies = haplotype_copies(ref_len, tss_rel, offset, self.window, start[sel], rlen[sel], alt_off[sel],
                                  alt_len[sel])
        return reverse_copies(copies, self.window, buf.shape[0]) if minus else copies

    def window_codes(self, g: int, active: np.ndarray | None) -> np.ndarray:
        """Oriented window of gene ``g`` with the alt alleles ``active`` ((M_g,) bool; None = reference).

        Returns (L,) uint8 ASCII codes, reverse-complemented for minus-strand genes.
        """
        return apply_copies(self.oriented_buffer(g), self.window_copies(g, active),
                            np.empty(self.window, dtype=np.uint8))

    def dosages(self, g: int, sample_idx: np.ndarray) -> np.ndarray:
        """Alt-allele dosage 0/1/2 of gene ``g``'s variants for ``sample_idx``: (len, M_g) float32."""
        a = self.haplotype_alleles(g, 2 * sample_idx).astype(np.float32)
        b = self.haplotype_alleles(g, 2 * sample_idx + 1).astype(np.float32)
        return (a + b).T
