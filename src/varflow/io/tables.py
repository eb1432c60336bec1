"""Parquet/TSV tables validated against a schema from ``varflow.io.schemas``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from varflow.errors import VarflowError
from varflow.io.atomic import atomic_path
from varflow.io.provenance import Provenance
from varflow.io.schemas import SCHEMAS, Column, TableSchema

PROVENANCE_KEY = b"varflow.provenance"
SCHEMA_KEY = b"varflow.schema"


def _schema(schema: TableSchema | str | None) -> TableSchema | None:
    if schema is None or isinstance(schema, TableSchema):
        return schema
    return SCHEMAS[schema]


def _dtype_ok(series: pd.Series, dtype: str) -> bool:
    if dtype == "str":
        return pd.api.types.is_string_dtype(series) or pd.api.types.is_object_dtype(series)
    if dtype == "int":
        return pd.api.types.is_integer_dtype(series)
    if dtype == "float":
        return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if dtype == "bool":
        return pd.api.types.is_bool_dtype(series)
    raise ValueError(f"unknown logical dtype {dtype}")


def _check_column(path: Path, df: pd.DataFrame, col: Column) -> None:
    series = df[col.name]
    if not _dtype_ok(series, col.dtype):
        raise VarflowError(
            f"{path}: column '{col.name}' expected {col.dtype}, found {series.dtype}")
    if not col.nullable and series.isna().any():
        row = int(np.flatnonzero(series.isna().to_numpy())[0])
        raise VarflowError(f"{path}: column '{col.name}' has a missing value at row {row}")
    if col.dtype == "float":
        values = series.to_numpy(dtype=float, na_value=np.nan)
        bad = np.isinf(values)
        if bad.any():
            raise VarflowError(
                f"{path}: column '{col.name}' has an infinite value at row {int(np.flatnonzero(bad)[0])}")


def validate(df: pd.DataFrame, schema: TableSchema | str, path: Path | str = "<table>") -> pd.DataFrame:
    """Check ``df`` against ``schema``; return it with required int/float columns cast to int64/float64."""
    schema = _schema(schema)
    path = Path(path)
    missing = [c for c in schema.required_names if c not in df.columns]
    if missing:
        raise VarflowError(
            f"{path}: missing column(s) {', '.join(repr(m) for m in missing)} "
            f"(table '{schema.name}' expects {', '.join(schema.required_names)})")
    declared = {c.name: c for c in (*schema.columns, *schema.optional)}
    for col in declared.values():
        if col.name in df.columns:
            _check_column(path, df, col)
    if schema.extra is not None:
        for name in df.columns:
            if name not in declared:
                _check_column(path, df, Column(str(name), schema.extra, nullable=schema.extra == "float"))
    casts = {c.name: ("int64" if c.dtype == "int" else "float64")
             for c in declared.values() if c.name in df.columns and c.dtype in ("int", "float")}
    return df.astype(casts) if casts else df


def _sniff_delimiter(path: Path) -> str:
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        head = handle.readline()
    if not head:
        raise VarflowError(f"{path}: file is empty")
    try:
        return csv.Sniffer().sniff(head, delimiters="\t, ;").delimiter
    except csv.Error:
        return "\t" if "\t" in head else ","


def read_frame(path: Path | str) -> pd.DataFrame:
    """Read a Parquet, CSV or TSV file (delimiter sniffed, gzip allowed) into a DataFrame."""
    path = Path(path)
    if not path.exists():
        raise VarflowError(f"{path}: file not found")
    if path.suffix == ".parquet" or path.suffixes[-2:-1] == [".parquet"]:
        try:
            return pq.read_table(path).to_pandas()
        except (pa.ArrowInvalid, OSError) as exc:
            raise VarflowError(f"{path}: not a readable Parquet file ({exc})") from None
    sep = _sniff_delimiter(path)
    try:
        return pd.read_csv(path, sep=sep, engine="c")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise VarflowError(f"{path}: cannot parse as a delimited table ({exc})") from None


def read_table(path: Path | str, schema: TableSchema | str | None = None) -> pd.DataFrame:
    """Read a table and validate it against ``schema`` (a name from SCHEMAS or a TableSchema)."""
    df = read_frame(path)
    schema = _schema(schema)
    return validate(df, schema, path) if schema is not None else df


def write_table(df: pd.DataFrame, path: Path | str, schema: TableSchema | str | None = None,
                provenance: Provenance | None = None) -> Path:
    """Validate ``df`` and write it atomically as Parquet, with provenance and schema name in metadata."""
    path = Path(path)
    schema = _schema(schema)
    if schema is not None:
        df = validate(df, schema, path)
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[PROVENANCE_KEY] = (provenance or Provenance.unknown()).to_json().encode()
    if schema is not None:
        meta[SCHEMA_KEY] = schema.name.encode()
    table = table.replace_schema_metadata(meta)
    with atomic_path(path, suffix=".parquet") as tmp:
        pq.write_table(table, tmp)
    return path


def read_provenance(path: Path | str) -> Provenance:
    """Provenance stamped into a Parquet file by ``write_table``."""
    meta = pq.read_schema(path).metadata or {}
    if PROVENANCE_KEY not in meta:
        raise VarflowError(f"{path}: no varflow provenance in the file metadata")
    return Provenance(**json.loads(meta[PROVENANCE_KEY]))
