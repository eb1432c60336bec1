"""Gene annotations as they come: GTF (GENCODE, Ensembl), GFF3 and BED, as one gene table.

Returns columns gene, CHR, START, END (1-based inclusive bp, as varflow's gene tables), strand
('+', '-' or '.' where unknown), plus gene_name and biotype where the file has them. GTF/GFF3: the
``gene`` records only (feature column), kept when their biotype (GTF ``gene_type`` / ``gene_biotype``,
GFF3 ``biotype`` / ``gene_type``) is in ``biotypes`` (None keeps every gene); gene = gene_id (GTF) or
ID without its ``gene:`` prefix (GFF3).
BED: 0-based half-open intervals, START = start + 1, END = end; gene = the 4th (name) column, or
chrom:start-end without one; strand = the 6th column (BED6). Gzip is accepted for all three.
Gene ids keep their version suffix (ENSG00000123456.7); ``strip_gene_version`` drops it.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from varflow.errors import VarflowError
from varflow.io.bed import read_bed

DEFAULT_BIOTYPES = ("protein_coding",)
_GTF_ATTR = re.compile(r'(\S+)\s+"([^"]*)"')
# GENCODE/Ensembl version: '.7' at the end, or before GENCODE's '_PAR_Y' (which is kept: X and Y copies differ)
_GENE_VERSION = re.compile(r"\.\d+(?=(?:_PAR_Y)?$)")


def strip_gene_version(ids) -> list[str]:
    """Gene ids without their version suffix: 'ENSG0001.5' -> 'ENSG0001' (ids without one unchanged)."""
    return [_GENE_VERSION.sub("", str(i)) for i in ids]


def annotation_kind(path: Path | str) -> str | None:
    """'gtf', 'gff3' or 'bed' from the file name (a .gz suffix is looked through), else None."""
    name = Path(path).name.lower()
    name = name[:-3] if name.endswith(".gz") else name
    for kind, suffixes in (("gtf", (".gtf",)), ("gff3", (".gff3", ".gff")), ("bed", (".bed",))):
        if name.endswith(suffixes):
            return kind
    return None


def read_gene_annotation(path: Path | str, biotypes: tuple[str, ...] | None = DEFAULT_BIOTYPES) -> pd.DataFrame:
    """The genes of a GTF, GFF3 or BED file (see the module docstring); errors name file and line."""
    path = Path(path)
    kind = annotation_kind(path)
    if kind is None:
        raise VarflowError(f"{path}: not a gene annotation by name (.gtf, .gff3/.gff or .bed, optionally .gz)")
    if not path.exists():
        raise VarflowError(f"{path}: file not found")
    if kind == "bed":
        return _bed_genes(path)
    raw = pd.read_csv(path, sep="\t", header=None, comment="#", dtype=str, engine="c", quoting=3)
    if raw.shape[1] != 9:
        raise VarflowError(f"{path}: a {kind.upper()} file has 9 tab-separated columns, found {raw.shape[1]}")
    genes = raw[raw[2] == "gene"]
    if genes.empty:
        raise VarflowError(f"{path}: no 'gene' records (column 3) in this {kind.upper()} file")
    attrs = [_attributes(a, kind) for a in genes[8]]
    start, end = pd.to_numeric(genes[3], errors="coerce"), pd.to_numeric(genes[4], errors="coerce")
    bad = (start.isna() | end.isna() | (start < 1) | (end < start)).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise VarflowError(f"{path}: gene record {i + 1}: bad coordinates start={genes.iat[i, 3]!r} "
                           f"end={genes.iat[i, 4]!r} (need integers with 1 <= start <= end)")
    if kind == "gtf":
        ids = [a.get("gene_id") for a in attrs]
        names = [a.get("gene_name", a.get("gene_id")) for a in attrs]
        types = [a.get("gene_type", a.get("gene_biotype")) for a in attrs]
    else:
        ids = [(a.get("ID") or a.get("gene_id") or "").removeprefix("gene:") or None for a in attrs]
        names = [a.get("Name", i) for a, i in zip(attrs, ids)]
        types = [a.get("biotype", a.get("gene_type", a.get("gene_biotype"))) for a in attrs]
    missing = [i for i, g in enumerate(ids) if not g]
    if missing:
        raise VarflowError(f"{path}: gene record {missing[0] + 1} has no gene ID "
                           f"({'gene_id' if kind == 'gtf' else 'ID'} attribute)")
    table = pd.DataFrame({"gene": ids, "CHR": genes[0].to_numpy(), "START": start.astype(np.int64).to_numpy(),
                          "END": end.astype(np.int64).to_numpy(), "strand": genes[6].to_numpy(),
                          "gene_name": names, "biotype": types})
    if biotypes is not None:
        table = table[table["biotype"].isin(biotypes)]
        if table.empty:
            found = sorted({t for t in types if t})[:10]
            raise VarflowError(f"{path}: no gene of biotype {', '.join(biotypes)} (biotypes found: "
                               f"{', '.join(found) or 'none'})")
    return table.reset_index(drop=True)


def _attributes(text: str, kind: str) -> dict[str, str]:
    if kind == "gtf":
        return dict(_GTF_ATTR.findall(text))
    return dict(part.split("=", 1) for part in text.strip().strip(";").split(";") if "=" in part)


def _bed_genes(path: Path) -> pd.DataFrame:
    bed = read_bed(path)
    # read_bed keeps columns 1-5; the strand is BED6's 6th column ('.' without one)
    strand = np.full(len(bed), ".", dtype=object)
    if len(bed):
        raw = pd.read_csv(path, sep="\t", header=None, comment="#", dtype=str, engine="c")
        if raw.shape[1] >= 6:
            strand = raw[5].to_numpy()
    return pd.DataFrame({"gene": bed["name"].to_numpy(), "CHR": bed["chrom"].to_numpy(),
                         "START": bed["start"].to_numpy() + 1, "END": bed["end"].to_numpy(), "strand": strand})
