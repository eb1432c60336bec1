"""Contract of modules/local/shrink_gene_test: trait1 gene tests on chr1 (LD as PLINK text + .bim) and chr2
(LD NPZ)."""

from __future__ import annotations

import shutil
from pathlib import Path

from varflow.io.tables import read_table
from varflow.shrink import schemas

import shrink_common as common


def stage(workdir: Path, tiny_cohort) -> dict:
    effects = [common.effects(workdir, tiny_cohort, "trait1", c) for c in ("chr1", "chr2")]
    _, model = common.cluster(workdir, effects, "trait1")
    (workdir / "trait1.clusters.parquet").unlink()
    text, bim = common.text_ld(workdir, tiny_cohort, "chr1")  # chr1 as PLINK text + .bim, chr2 as NPZ
    shutil.copy(tiny_cohort.path("ld", "chr2"), workdir / "ld_chr2.npz")
    common.genes(workdir, tiny_cohort)
    return {"inputs": {"meta": {"id": "trait1"}, "effects": [e.name for e in effects], "cluster_model": model.name,
                       "ld": [text, "ld_chr2.npz"], "ld_snps": [bim], "genes": "genes.parquet"}, "ext": {"args": ""}}


def check(workdir: Path, outputs: dict) -> None:
    (table,) = [p for p in outputs["tests"] if p.suffix == ".parquet"]
    tests = read_table(table, schemas.GENE_TESTS)
    assert set(tests["CHR"]) == {"chr1", "chr2"} and tests["P"].between(0, 1).all()
