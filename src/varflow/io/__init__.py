"""Typed artifacts: table schemas, Parquet/NPZ readers and writers, genomic file readers."""

from varflow.io.arrays import read_npz, write_npz
from varflow.io.atomic import atomic_output, atomic_path
from varflow.io.provenance import Provenance
from varflow.io.schemas import SCHEMAS, Column, TableSchema
from varflow.io.tables import read_table, write_table

__all__ = [
    "SCHEMAS",
    "Column",
    "Provenance",
    "TableSchema",
    "atomic_output",
    "atomic_path",
    "read_npz",
    "read_table",
    "write_npz",
    "write_table",
]
