"""Gene TSS tables (what s2e centres its windows on) from the files studies have, checked against the
reference before any work.

Accepted gene files (by name, gzip allowed):

* a table (Parquet/TSV/CSV) with columns gene_id, chrom, tss (0-based bp), strand (+/-);
* GTF/GFF3 (GENCODE, Ensembl): the ``gene`` records whose biotype is in ``GeneTssOptions.biotypes``;
* BED6: name = gene id, 6th column = strand.

For annotations the TSS is the first base of the gene on its strand, 0-based: ``start`` on +,
``end - 1`` on - (GTF/GFF3: START - 1 and END - 1 of the 1-based inclusive record; BED: start and
end - 1). The result has one row per gene: gene_id (str), chrom (str), tss (int64), strand ('+'/'-').
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from varflow.errors import VarflowError
from varflow.io.contigs import normalise_chrom_names
from varflow.io.gene_annotations import DEFAULT_BIOTYPES, annotation_kind, read_gene_annotation, strip_gene_version
from varflow.io.tables import read_table

log = logging.getLogger("varflow")

TSS_COLUMNS = ("gene_id", "chrom", "tss", "strand")


@dataclass(frozen=True)
class GeneTssOptions:
    """How a gene file becomes a TSS table: ``biotypes`` kept from GTF/GFF3 gene records (None keeps
    every gene); ``strip_version`` drops each gene id's version suffix (ENSG0001.5 -> ENSG0001)."""

    biotypes: tuple[str, ...] | None = DEFAULT_BIOTYPES
    strip_version: bool = False

    @classmethod
    def from_text(cls, biotypes: str | None, strip_version: bool = False) -> "GeneTssOptions":
        """Options from a comma-separated biotype list ('all' keeps every gene; None or '' the default)."""
        if not biotypes:
            return cls(strip_version=strip_version)
        kept = None if biotypes.strip() == "all" else tuple(b.strip() for b in biotypes.split(",") if b.strip())
        return cls(biotypes=kept, strip_version=strip_version)


def read_gene_tss(path: Path | str, options: GeneTssOptions = GeneTssOptions()) -> pd.DataFrame:
    """The TSS table of a gene file (see the module docstring); errors name the file, row and column."""
    path = Path(path)
    kind = annotation_kind(path)
    if kind is None:
        table = _native_table(path)
    else:
        table = tss_from_annotation(read_gene_annotation(path, options.biotypes))
    if options.strip_version:
        table["gene_id"] = strip_gene_version(table["gene_id"])
    _check_strand(table, path, kind)
    _check_unique_ids(table, path, kind)
    return table


def tss_from_annotation(genes: pd.DataFrame) -> pd.DataFrame:
    """TSS table from ``read_gene_annotation``'s gene, CHR, START, END (1-based inclusive), strand."""
    minus = genes["strand"].to_numpy() == "-"
    tss = np.where(minus, genes["END"].to_numpy() - 1, genes["START"].to_numpy() - 1).astype(np.int64)
    return pd.DataFrame({"gene_id": genes["gene"].astype(str).to_numpy(), "chrom": genes["CHR"].astype(str).to_numpy(),
                         "tss": tss, "strand": genes["strand"].to_numpy()})


def _native_table(path: Path) -> pd.DataFrame:
    df = read_table(path)
    missing = [c for c in TSS_COLUMNS if c not in df.columns]
    if missing:
        raise VarflowError(f"{path}: missing column(s) {', '.join(missing)} (expects gene_id, chrom, tss, strand; "
                           "or a GTF/GFF3/BED6 file named .gtf, .gff3, .bed)")
    if not pd.api.types.is_integer_dtype(df["tss"]):
        raise VarflowError(f"{path}: column 'tss' expected integers (0-based bp), found {df['tss'].dtype}")
    return pd.DataFrame({"gene_id": df["gene_id"].astype(str), "chrom": df["chrom"].astype(str),
                         "tss": df["tss"].astype(np.int64), "strand": df["strand"].astype(str)})


def _row(i: int, kind: str | None) -> str:
    """How a message names row ``i`` of the TSS table: a table row, or a kept gene record."""
    return f"row {i + 1}" if kind is None else f"{kind.upper()} gene {i + 1}"


def _check_strand(table: pd.DataFrame, path: Path, kind: str | None) -> None:
    bad = ~table["strand"].isin(["+", "-"]).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        column = "the 6th column (BED6)" if kind == "bed" else "column 'strand'"
        raise VarflowError(f"{path}: {_row(i, kind)} (gene {table['gene_id'].iat[i]}): strand must be '+' or '-', "
                           f"found {table['strand'].iat[i]!r} in {column}")


def _check_unique_ids(table: pd.DataFrame, path: Path, kind: str | None) -> None:
    dup = table["gene_id"].duplicated(keep=False).to_numpy()
    if dup.any():
        gene = table["gene_id"].iat[int(np.flatnonzero(dup)[0])]
        rows = np.flatnonzero((table["gene_id"] == gene).to_numpy())
        where = ", ".join(f"{_row(int(i), kind)} at {table['chrom'].iat[i]}:{table['tss'].iat[i]}" for i in rows[:3])
        raise VarflowError(f"{path}: gene id {gene!r} appears {rows.size} times ({where}); expected one row per "
                           f"gene id ({int(dup.sum())} rows share an id)")


def place_genes(genes: pd.DataFrame, source: Path | str, fasta_lengths: dict[str, int], vcf_contigs: list[str],
                chroms: list[str] | None, *, reference: Path | str, vcf: Path | str
                ) -> tuple[pd.DataFrame, dict[str, str]]:
    """The genes to prepare, chrom spelled as in the FASTA, every TSS checked to lie within its chromosome.

    ``fasta_lengths``: contig -> length (bp); ``vcf_contigs``: the VCF's contigs. ``chroms`` None: every
    gene-file chromosome that both the FASTA and the VCF have; the genes of the others are left out
    and counted in one log line. Named ``chroms``: each must be in the FASTA, the VCF and the gene file.
    Returns (genes on those chromosomes, {chromosome as asked: FASTA contig}).
    """
    asked = genes["chrom"]
    genes = genes.assign(chrom=normalise_chrom_names(asked, fasta_lengths))
    on_vcf = dict(zip(fasta_lengths, (v is not None for v in normalise_chrom_names(fasta_lengths, vcf_contigs))))
    if chroms is None:
        targets = _default_targets(genes, asked, source, on_vcf, reference, vcf)
    else:
        targets = _named_targets(genes, source, chroms, fasta_lengths, on_vcf, reference, vcf)
    genes = genes[genes["chrom"].isin(list(targets.values()))].reset_index(drop=True)
    _check_tss_within(genes, source, fasta_lengths, reference)
    return genes, targets


def _default_targets(genes: pd.DataFrame, asked: pd.Series, source, on_vcf: dict[str, bool], reference, vcf
                     ) -> dict[str, str]:
    """{contig: contig} of the gene chromosomes in both files; ``asked``: the gene file's spellings."""
    chrom = genes["chrom"]
    no_fasta = chrom.isna().to_numpy()
    no_vcf = ~no_fasta & ~chrom.isin([c for c, present in on_vcf.items() if present]).to_numpy()
    if no_fasta.any() or no_vcf.any():
        log.warning("%s: %d gene(s) on chromosomes absent from %s (%s) and %d on chromosomes absent from %s (%s) "
                    "left out", source, int(no_fasta.sum()), reference, _names(asked[no_fasta]), int(no_vcf.sum()),
                    vcf, _names(asked[no_vcf]))
    kept = sorted(chrom[~no_fasta & ~no_vcf].unique())
    if not kept:
        raise VarflowError(f"{source}: no gene lies on a chromosome that both {reference} and {vcf} have")
    return {c: c for c in kept}


def _names(chroms: pd.Series) -> str:
    """Up to five distinct chromosome names for a log line."""
    return ", ".join(sorted(chroms.astype(str).unique())[:5]) or "none"


def _named_targets(genes: pd.DataFrame, source, chroms: list[str], fasta_lengths: dict[str, int],
                   on_vcf: dict[str, bool], reference, vcf) -> dict[str, str]:
    targets = {}
    for name, contig in zip(chroms, normalise_chrom_names(chroms, fasta_lengths)):
        if contig is None:
            raise VarflowError(f"--chrom {name}: chromosome absent from {reference} "
                               f"(has {', '.join(list(fasta_lengths)[:5])})")
        if not on_vcf[contig]:
            raise VarflowError(f"--chrom {name}: chromosome absent from {vcf} (no record on {contig})")
        if not (genes["chrom"] == contig).any():
            raise VarflowError(f"{source}: no gene on chromosome {name}")
        targets[name] = contig
    return targets


def _check_tss_within(genes: pd.DataFrame, source, fasta_lengths: dict[str, int], reference) -> None:
    length = genes["chrom"].map(fasta_lengths).to_numpy(dtype=np.int64)
    tss = genes["tss"].to_numpy(dtype=np.int64)
    bad = (tss < 0) | (tss >= length)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise VarflowError(f"{source}: gene {genes['gene_id'].iat[i]}: TSS {tss[i]} (0-based) lies outside "
                           f"{genes['chrom'].iat[i]}, which is {length[i]} bp in {reference}; expected "
                           f"0 <= tss < {length[i]} ({int(bad.sum())} gene(s) outside their chromosome)")
