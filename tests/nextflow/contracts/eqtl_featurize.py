"""Contract of modules/local/eqtl_featurize: features of the tiny cohort with the packaged config."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from varflow.eqtl.config import default_config_path
from varflow.eqtl.contract import FeatureContract


def stage(workdir: Path, tiny_cohort) -> dict:
    (workdir / "cohort").symlink_to(tiny_cohort.root, target_is_directory=True)
    shutil.copy(default_config_path(), workdir / "eqtl.yaml")
    return {"inputs": {"meta": {"id": "tiny"}, "cohort": "cohort", "config": "eqtl.yaml"}, "ext": {"args": ""}}


def check(workdir: Path, outputs: dict) -> None:
    ((features, contract),) = [tuple(outputs["features"])]
    feats = pd.read_parquet(features)
    con = FeatureContract.load(contract)
    assert [c for c in feats.columns if c in con.columns] == con.columns
    assert len(feats) == len(pd.read_parquet(workdir / "cohort" / "finemap.parquet"))
