"""Contract of modules/local/eqtl_evaluate: pool the tiny cohort's trained folds."""

from __future__ import annotations

import json
from pathlib import Path

import eqtl_common as _stage


def stage(workdir: Path, tiny_cohort) -> dict:
    folds = _stage.train_folds(workdir, tiny_cohort)
    return {"inputs": {"meta": {"id": "tiny"}, "folds": folds}, "ext": {"args": "--n-boot 50"}}


def check(workdir: Path, outputs: dict) -> None:
    (metrics,) = outputs["metrics"]
    doc = json.loads(metrics.read_text())
    assert 0 <= doc["pooled"]["weighted"]["auprc"] <= 1
    assert sorted(doc["per_chromosome"]) == sorted(p.name.removeprefix("train_") for p in workdir.glob("train_*"))
