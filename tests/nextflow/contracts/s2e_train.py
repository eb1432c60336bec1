"""Contract of modules/local/s2e_train: a tiny CPU model from the tiny cohort's store shards."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path


def _fixture():
    spec = importlib.util.spec_from_file_location("s2e_fixture", Path(__file__).with_name("s2e_fixture.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stage(workdir: Path, tiny_cohort) -> dict:
    shards = _fixture().stage_shards(workdir, tiny_cohort)
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
