"""Contract of modules/local/shrink_ld_blocks: blocks of the tiny cohort's chr1 LD given as PLINK
``--r square`` text with its .bim (the NPZ form passes ``snps = []``), equal to the NPZ route's."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from varflow.io.tables import read_table
from varflow.shrink import schemas
from varflow.shrink.ldblocks import read_block_ld

import shrink_common as common


def stage(workdir: Path, tiny_cohort) -> dict:
    ld, bim = common.text_ld(workdir, tiny_cohort, "chr1")
    return {"inputs": {"meta": {"id": "chr1"}, "ld": ld, "snps": bim}, "ext": {"args": "--avg-block 300"}}


def check(workdir: Path, outputs: dict) -> None:
    (table,) = [p for p in outputs["blocks"] if p.suffix == ".parquet"]
    (npz,) = [p for p in outputs["blocks"] if p.suffix == ".npz"]
    blocks = read_table(table, schemas.LD_BLOCKS)
    data = read_block_ld(npz)
    assert len(blocks) == len(data.blocks) > 1 and data.chrom == "chr1"
    assert data.snp[0] == np.loadtxt(workdir / "chr1.bim", dtype=str, usecols=1)[0]
