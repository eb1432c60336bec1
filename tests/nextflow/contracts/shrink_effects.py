"""Contract of modules/local/shrink_effects: trait1 on chr1 of the tiny cohort with the shipped ensemble."""

from __future__ import annotations

import shutil
from pathlib import Path

from varflow.io.tables import read_table
from varflow.shrink import schemas
from varflow.shrink.model import default_model_dir

import shrink_common as common


def stage(workdir: Path, tiny_cohort) -> dict:
    blocks = common.ld_blocks(workdir, tiny_cohort)
    shutil.copy(tiny_cohort.path("sumstats", "trait1"), workdir / "trait1.sumstats.parquet")
    shutil.copytree(default_model_dir(), workdir / "model")
    return {"inputs": {"meta": {"id": "trait1_chr1", "trait": "trait1", "chrom": "chr1"},
                       "sumstats": "trait1.sumstats.parquet", "block_ld": blocks.name, "model": "model"},
            "ext": {"args": ""}}


def check(workdir: Path, outputs: dict) -> None:
    (table,) = [p for p in outputs["effects"] if p.suffix == ".parquet"]
    eff = read_table(table, schemas.EFFECTS)
    assert set(eff["TRAIT"]) == {"trait1"} and set(eff["CHR"]) == {"chr1"} and eff["BETA_SHRUNK"].std() > 0
