"""Contract of modules/local/shrink_ld_blocks: blocks of the tiny cohort's chr1 LD."""

from __future__ import annotations

import shutil
from pathlib import Path

from varflow.io.tables import read_table
from varflow.shrink import schemas
from varflow.shrink.ldblocks import read_block_ld


def stage(workdir: Path, tiny_cohort) -> dict:
    shutil.copy(tiny_cohort.path("ld", "chr1"), workdir / "ld_chr1.npz")
    return {"inputs": {"meta": {"id": "chr1"}, "ld": "ld_chr1.npz"}, "ext": {"args": "--avg-block 300"}}


def check(workdir: Path, outputs: dict) -> None:
    (table,) = [p for p in outputs["blocks"] if p.suffix == ".parquet"]
    (npz,) = [p for p in outputs["blocks"] if p.suffix == ".npz"]
    blocks = read_table(table, schemas.LD_BLOCKS)
    data = read_block_ld(npz)
    assert len(blocks) == len(data.blocks) > 1 and data.chrom == "chr1"
