"""Contract of modules/local/shrink_gene_test: trait1 gene tests on chr1 and chr2 with their full LD."""

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
    lds = []
    for chrom in ("chr1", "chr2"):
        shutil.copy(tiny_cohort.path("ld", chrom), workdir / f"ld_{chrom}.npz")
        lds.append(f"ld_{chrom}.npz")
    common.genes(workdir, tiny_cohort)
    return {"inputs": {"meta": {"id": "trait1"}, "effects": [e.name for e in effects], "cluster_model": model.name,
                       "ld": lds, "genes": "genes.parquet"}, "ext": {"args": ""}}


def check(workdir: Path, outputs: dict) -> None:
    (table,) = [p for p in outputs["tests"] if p.suffix == ".parquet"]
    tests = read_table(table, schemas.GENE_TESTS)
    assert set(tests["CHR"]) == {"chr1", "chr2"} and tests["P"].between(0, 1).all()
