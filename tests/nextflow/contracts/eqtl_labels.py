"""Contract of modules/local/eqtl_labels: labels and the fold list of the tiny cohort."""

from __future__ import annotations

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
