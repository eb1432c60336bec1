"""Contract of modules/local/s2e_prepare: one chromosome's haplotype store shard from the tiny cohort."""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def stage(workdir: Path, tiny_cohort) -> dict:
    for key, name in (("vcf", "cohort.vcf.gz"), ("reference", "reference.fa"), ("genes", "genes.parquet")):
        shutil.copy(tiny_cohort.path(key), workdir / name)
    shutil.copy(f"{tiny_cohort.path('vcf')}.tbi", workdir / "cohort.vcf.gz.tbi")
    shutil.copy(f"{tiny_cohort.path('reference')}.fai", workdir / "reference.fa.fai")
    return {
        "inputs": {"meta": {"id": "tiny"}, "chrom": "chr2", "vcf": "cohort.vcf.gz", "tbi": "cohort.vcf.gz.tbi",
                   "reference": "reference.fa", "fai": "reference.fa.fai", "genes": "genes.parquet"},
        "ext": {"args": "--window 2000"},
    }


def check(workdir: Path, outputs: dict) -> None:
    from varflow.s2e.store import HaplotypeStore

    (shard,) = outputs["shard"]
    store = HaplotypeStore.load(shard)
    assert store.window == 2000 and set(store.genes["chrom"]) == {"chr2"}
    (stats,) = outputs["stats"]
    assert json.loads(stats.read_text())["n_genes"] == len(store.genes)
