"""Contract of modules/local/eqtl_evaluate: pool the tiny cohort's trained folds."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

_spec = importlib.util.spec_from_file_location("eqtl_common", Path(__file__).with_name("eqtl_common.py"))
_stage = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_stage)


def stage(workdir: Path, tiny_cohort) -> dict:
    folds = _stage.train_folds(workdir, tiny_cohort)
    return {"inputs": {"meta": {"id": "tiny"}, "folds": folds}, "ext": {"args": "--n-boot 50"}}


def check(workdir: Path, outputs: dict) -> None:
    (metrics,) = outputs["metrics"]
    doc = json.loads(metrics.read_text())
    assert 0 <= doc["pooled"]["weighted"]["auprc"] <= 1
    assert sorted(doc["per_chromosome"]) == sorted(p.name.removeprefix("train_") for p in workdir.glob("train_*"))
