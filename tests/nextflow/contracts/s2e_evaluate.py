"""Contract of modules/local/s2e_evaluate: held-out metrics of a tiny model on the tiny cohort."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path


def _fixture():
    spec = importlib.util.spec_from_file_location("s2e_fixture", Path(__file__).with_name("s2e_fixture.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stage(workdir: Path, tiny_cohort) -> dict:
    fixture = _fixture()
    shards = fixture.stage_shards(workdir, tiny_cohort)
    model = fixture.stage_model(workdir, tiny_cohort)
    shutil.copy(tiny_cohort.path("expression"), workdir / "expression.parquet")
    return {
        "inputs": {"meta": {"id": "tiny"}, "shards": shards, "expression": "expression.parquet", "model": model},
        "ext": {"args": "--no-enet --device cpu"},
    }


def check(workdir: Path, outputs: dict) -> None:
    (metrics,) = outputs["metrics"]
    summary = json.loads(metrics.read_text())
    assert summary["n_genes"] > 0 and "median_pearson_model" in summary
    (folder,) = outputs["evaluation"]
    assert (folder / "gene_metrics.parquet").is_file() and (folder / "pearson_hist.png").is_file()
