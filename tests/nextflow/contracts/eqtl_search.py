"""Contract of modules/local/eqtl_search: the weight search of one LOCO fold of the tiny cohort (2 trials)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from varflow.eqtl.config import default_config_path

import eqtl_common as _stage


def stage(workdir: Path, tiny_cohort) -> dict:
    folds = _stage.featurize_and_label(workdir, tiny_cohort)
    shutil.copy(default_config_path(), workdir / "eqtl.yaml")
    return {"inputs": {"meta": {"id": "tiny"}, "chrom": folds[0], "features": "feat/features.parquet",
                       "contract": "feat/contract.json", "labels": "lab/labels.parquet", "config": "eqtl.yaml"},
            "ext": {"args": "--trials 2 --seed 0"}}


def check(workdir: Path, outputs: dict) -> None:
    (weights,) = outputs["weights"]
    doc = json.loads(weights.read_text())
    assert doc["heldout"] not in doc["odd_chromosomes"] + doc["even_chromosomes"]
    assert len(doc["trials"]) == 2 and doc["weights"] == doc["trials"][doc["chosen_trial"]]["weights"]
