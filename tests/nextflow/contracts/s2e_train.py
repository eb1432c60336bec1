"""Contract of modules/local/s2e_train: a tiny CPU model from the tiny cohort's store shards."""

from __future__ import annotations

import shutil
from pathlib import Path

import s2e_fixture


def stage(workdir: Path, tiny_cohort) -> dict:
    shards = s2e_fixture.stage_shards(workdir, tiny_cohort)
    shutil.copy(tiny_cohort.path("expression"), workdir / "expression.parquet")
    return {
        "inputs": {"meta": {"id": "tiny"}, "shards": shards, "expression": "expression.parquet"},
        "ext": {"args": "--tiny --ref-epochs 1 --epochs 1 --max-batches-per-epoch 2 --num-workers 0 --device cpu"},
    }


def check(workdir: Path, outputs: dict) -> None:
    from varflow.s2e.train import load_bundle

    (folder,) = outputs["model"]
    bundle = load_bundle(folder / "model.pt")
    assert bundle["summary"]["finished"] and bundle["model_config"]["window"] == 1000
    assert (folder / "splits.json").is_file() and (folder / "history.json").is_file()
