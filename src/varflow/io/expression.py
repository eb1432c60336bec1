"""Expression matrices as studies have them, read into one table: gene_id + one float column per sample.

Formats, detected from the file's first line (gzip/bgzip allowed; a .tbi beside a BED is not needed):

=================  ===================================================================================
``table``          Parquet, TSV or CSV: gene_id + one column per sample (the ``expression`` schema)
``phenotype_bed``  tensorQTL / FastQTL / QTLtools phenotype BED: ``#chr start end phenotype_id
                   sample...``; QTLtools' ``#chr start end pid gid strand sample...`` also
``gct``            GTEx GCT: ``#1.2``, then ``<n genes> <n samples>``, then ``Name Description sample...``
=================  ===================================================================================

Values are read as given (log-scale or normalised expression); the phenotype coordinates and the GCT
Description are not used: genes are matched to the store by id.
"""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import pandas as pd

from varflow.errors import VarflowError
from varflow.io.tables import read_table, validate

log = logging.getLogger("varflow")

EXPRESSION_FORMATS = ("table", "phenotype_bed", "gct")
_BED_COORDS = ("chr", "start", "end")  # the first column's '#' is optional
_QTLTOOLS_EXTRA = ("gid", "strand")  # QTLtools' columns 5-6 between the phenotype id and the samples


def _compression(path: Path) -> str | None:
    """'gzip' for a gzip or bgzip file (by its magic bytes, whatever its name), else None."""
    with open(path, "rb") as raw:
        return "gzip" if raw.read(2) == b"\x1f\x8b" else None


def _first_line(path: Path) -> str:
    with (gzip.open(path, "rt") if _compression(path) else open(path)) as handle:
        return handle.readline().rstrip("\r\n")


def expression_format(path: Path | str) -> str:
    """One of ``EXPRESSION_FORMATS`` from the file name (Parquet) or its first line."""
    path = Path(path)
    if not path.exists():
        raise VarflowError(f"{path}: file not found")
    if ".parquet" in path.suffixes:
        return "table"
    head = _first_line(path)
    if head.startswith("#1.2"):
        return "gct"
    fields = [f.lower() for f in head.lstrip("#").split("\t")[:3]]
    return "phenotype_bed" if tuple(fields) == _BED_COORDS else "table"


def read_expression(path: Path | str) -> pd.DataFrame:
    """The expression matrix of ``path`` in any of ``EXPRESSION_FORMATS``: gene_id (str) + (G, N) float64
    sample columns, one row per gene; errors name the file, row and column."""
    path = Path(path)
    kind = expression_format(path)
    if kind == "table":
        frame = read_table(path)
    elif kind == "phenotype_bed":
        frame = _phenotype_bed(path)
    else:
        frame = _gct(path)
    frame = validate(frame, "expression", path)
    frame["gene_id"] = frame["gene_id"].astype(str)
    dup = frame["gene_id"].duplicated().to_numpy()
    if dup.any():
        gene = frame["gene_id"][dup].iat[0]
        rows = (frame.index[frame["gene_id"] == gene] + 1).tolist()
        raise VarflowError(f"{path}: gene id {gene!r} appears in rows {rows[0]} and {rows[1]}; expected one row per "
                           f"gene ({int(dup.sum())} repeated id(s))")
    if kind != "table":
        log.info("%s: %s, %d genes x %d samples", path, kind.replace("_", " "), len(frame), frame.shape[1] - 1)
    return frame


def _phenotype_bed(path: Path) -> pd.DataFrame:
    """``#chr start end id [gid strand] sample...`` -> gene_id + samples (coordinates dropped)."""
    frame = pd.read_csv(path, sep="\t", compression=_compression(path), engine="c")
    if frame.shape[1] < 5:
        raise VarflowError(f"{path}: a phenotype BED has #chr, start, end, phenotype_id and one column per "
                           f"sample; found {frame.shape[1]} columns")
    extra = [c for c in frame.columns[4:6] if str(c).lower() in _QTLTOOLS_EXTRA]
    return frame.drop(columns=[*frame.columns[:3], *extra]).rename(columns={frame.columns[3]: "gene_id"})


def _gct(path: Path) -> pd.DataFrame:
    """GCT 1.2 -> gene_id (Name) + samples; the dimensions line is checked against the table."""
    compression = _compression(path)
    dims = pd.to_numeric(pd.read_csv(path, sep="\t", skiprows=1, nrows=1, header=None, dtype=str,
                                     compression=compression).iloc[0], errors="coerce")
    frame = pd.read_csv(path, sep="\t", skiprows=2, compression=compression, engine="c")
    if list(frame.columns[:2]) != ["Name", "Description"]:
        raise VarflowError(f"{path}: line 3 of a GCT file starts with Name, Description; found "
                           f"{', '.join(map(str, frame.columns[:2]))}")
    shape = (len(frame), frame.shape[1] - 2)
    if len(dims) < 2 or dims[:2].isna().any() or tuple(int(d) for d in dims[:2]) != shape:
        raise VarflowError(f"{path}: line 2 declares {' x '.join(map(str, dims[:2]))} (genes x samples), the "
                           f"table has {shape[0]} x {shape[1]}; the file is truncated or not GCT 1.2")
    return frame.drop(columns="Description").rename(columns={"Name": "gene_id"})
