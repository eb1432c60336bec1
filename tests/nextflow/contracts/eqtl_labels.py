"""Contract of modules/local/eqtl_labels: labels, the fold list and the per-gene negatives summary of the
tiny cohort."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from varflow.eqtl.config import default_config_path


def stage(workdir: Path, tiny_cohort) -> dict:
    (workdir / "cohort").symlink_to(tiny_cohort.root, target_is_directory=True)
    shutil.copy(default_config_path(), workdir / "eqtl.yaml")
    return {"inputs": {"meta": {"id": "tiny"}, "cohort": "cohort", "config": "eqtl.yaml"}, "ext": {"args": ""}}


def check(workdir: Path, outputs: dict) -> None:
    (labels,) = outputs["labels"]
    (folds,) = outputs["folds"]
    lab = pd.read_parquet(labels)
    test_pos = set(lab.loc[(lab["set"] == "test") & (lab["label"] == 1), "chrom"])
    assert set(folds.read_text().split()) == test_pos and test_pos
    (negatives,) = outputs["negatives"]
    summary = json.loads(negatives.read_text())
    counts = summary["candidate_negatives"]
    assert set(lab["gene_id"]) <= set(counts) and all(n >= 0 for n in counts.values())
    assert summary["genes_with_too_few_negatives"] == sorted(g for g, n in counts.items() if n < summary["min_negatives"])
