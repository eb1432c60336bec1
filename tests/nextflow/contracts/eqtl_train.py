"""Contract of modules/local/eqtl_train: one LOCO fold of the tiny cohort, few trees, on the CPU, with
per-category weights given (as EQTL_TRAIN_SEARCHED passes the fold's search result)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from varflow.eqtl.config import default_config_path

import eqtl_common as _stage

WEIGHTS = {"deep_learning": 2.5, "regulatory": 4.0}


def stage(workdir: Path, tiny_cohort) -> dict:
    folds = _stage.featurize_and_label(workdir, tiny_cohort)
    shutil.copy(default_config_path(), workdir / "eqtl.yaml")
    (workdir / "weights.json").write_text(json.dumps(WEIGHTS))
    return {"inputs": {"meta": {"id": "tiny"}, "chrom": folds[0], "features": "feat/features.parquet",
                       "contract": "feat/contract.json", "labels": "lab/labels.parquet", "weights": "weights.json",
                       "config": "eqtl.yaml"},
            "ext": {"args": "--device cpu --iterations 20"}}


def check(workdir: Path, outputs: dict) -> None:
    (fold,) = outputs["fold"]
    (info,) = fold.glob("fold_*.json")
    doc = json.loads(info.read_text())
    assert doc["heldout"] not in doc["train_chroms"]
    assert (fold / f"model_{doc['heldout']}_weighted.cbm").is_file()
    # with searched weights only the weighted model is fitted: the unweighted one comes from EQTL_TRAIN
    assert not (fold / f"model_{doc['heldout']}_unweighted.cbm").exists()
    assert json.loads((fold / "searched_weights.json").read_text()) == {"heldout": None, "weights": WEIGHTS}
