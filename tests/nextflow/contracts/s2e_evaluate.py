"""Contract of modules/local/s2e_evaluate: held-out metrics of a tiny model on the tiny cohort."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import s2e_fixture


def stage(workdir: Path, tiny_cohort) -> dict:
    shards = s2e_fixture.stage_shards(workdir, tiny_cohort)
    model = s2e_fixture.stage_model(workdir, tiny_cohort)
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
