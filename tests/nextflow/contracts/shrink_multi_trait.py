"""Contract of modules/local/shrink_multi_trait: summaries of a joint trait1/trait2 clustering on chr1."""

from __future__ import annotations

from pathlib import Path

from varflow.io.tables import read_table
from varflow.shrink import schemas

import shrink_common as common


def stage(workdir: Path, tiny_cohort) -> dict:
    effects = [common.effects(workdir, tiny_cohort, t) for t in ("trait1", "trait2")]
    clusters, model = common.cluster(workdir, effects, "joint")
    for e in effects:
        e.unlink()
    common.genes(workdir, tiny_cohort)
    return {"inputs": {"meta": {"id": "joint"}, "clusters": clusters.name, "cluster_model": model.name,
                       "genes": "genes.parquet"}, "ext": {"args": ""}}


def check(workdir: Path, outputs: dict) -> None:
    types = [p for p in outputs["summary"] if p.name.endswith("cluster_types.parquet")]
    assert len(read_table(types[0], schemas.CLUSTER_TYPES)) > 0
