"""Contract of modules/local/shrink_cluster: joint clustering of trait1 and trait2 on chr1."""

from __future__ import annotations

import json
from pathlib import Path

import shrink_common as common


def stage(workdir: Path, tiny_cohort) -> dict:
    files = [common.effects(workdir, tiny_cohort, t).name for t in ("trait1", "trait2")]
    return {"inputs": {"meta": {"id": "joint"}, "effects": files}, "ext": {"args": "--restarts 3 --seed 1"}}


def check(workdir: Path, outputs: dict) -> None:
    (model,) = [p for p in outputs["clusters"] if p.suffix == ".json"]
    doc = json.loads(model.read_text())
    assert doc["traits"] == ["trait1", "trait2"] and len(doc["weights"]) == doc["k"]
