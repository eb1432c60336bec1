"""Contract of modules/local/shrink_plots: figures of a single-trait result set (effects + clustering)."""

from __future__ import annotations

from pathlib import Path

import shrink_common as common


def stage(workdir: Path, tiny_cohort) -> dict:
    effects = common.effects(workdir, tiny_cohort)
    clusters, model = common.cluster(workdir, [effects], "trait1")
    return {"inputs": {"meta": {"id": "shrink"}, "results": [effects.name, clusters.name, model.name]},
            "ext": {"args": ""}}


def check(workdir: Path, outputs: dict) -> None:
    (folder,) = outputs["plots"]
    assert sorted(p.name for p in folder.glob("*.png")) == ["clusters_trait1.png", "effects_trait1.png"]
