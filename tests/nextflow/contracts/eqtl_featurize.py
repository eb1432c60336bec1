"""Contract of modules/local/eqtl_featurize: features of the tiny cohort with the packaged config plus an
extra variant-score table shaped like the s2e variant effects (as ``--workflow all`` passes it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from varflow.eqtl.config import default_config_path
from varflow.eqtl.contract import FeatureContract
from varflow.io.tables import read_table, write_table

S2E_COLUMNS = ("s2e_ism", "s2e_ism_abs", "s2e_gxi")


def stage(workdir: Path, tiny_cohort) -> dict:
    (workdir / "cohort").symlink_to(tiny_cohort.root, target_is_directory=True)
    shutil.copy(default_config_path(), workdir / "eqtl.yaml")
    # every other finemap pair gets scores, so the rest must stay missing (NaN) in the features
    pairs = read_table(tiny_cohort.path("finemap"), "finemap")[["variant_id", "gene_id"]].iloc[::2]
    rng = np.random.default_rng(0)
    ism = rng.normal(size=len(pairs))
    scores = pairs.assign(s2e_ism=ism, s2e_ism_abs=np.abs(ism), s2e_gxi=rng.normal(size=len(pairs)))
    write_table(scores.reset_index(drop=True), workdir / "tiny_s2e.variant_scores.parquet", "variant_scores")
    return {"inputs": {"meta": {"id": "tiny"}, "cohort": "cohort",
                       "extra_scores": "tiny_s2e.variant_scores.parquet", "config": "eqtl.yaml"},
            "ext": {"args": ""}}


def check(workdir: Path, outputs: dict) -> None:
    ((features, contract),) = [tuple(outputs["features"])]
    feats = pd.read_parquet(features)
    con = FeatureContract.load(contract)
    assert [c for c in feats.columns if c in con.columns] == con.columns
    assert len(feats) == len(pd.read_parquet(workdir / "cohort" / "finemap.parquet"))
    scores = pd.read_parquet(workdir / "tiny_s2e.variant_scores.parquet")
    merged = feats[["variant_id", "gene_id"]].merge(scores, on=["variant_id", "gene_id"], how="left")
    for col in S2E_COLUMNS:
        name = f"extra1__{col}"
        assert con.categories[name] == "deep_learning"
        np.testing.assert_array_equal(feats[name].to_numpy(), merged[col].to_numpy())
