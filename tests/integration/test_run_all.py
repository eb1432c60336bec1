"""``varflow run all``: s2e's variant-effect table feeds eqtl as a deep-learning feature source."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from varflow.eqtl.contract import FeatureContract

S2E_COLUMNS = ("s2e_ism", "s2e_ism_abs", "s2e_gxi")


def test_eqtl_features_hold_the_s2e_variant_effects(tiny_results):
    summary = json.loads((tiny_results / "summary.json").read_text())
    effects_path = summary["s2e"]["variant_scores"]
    effects = pd.read_parquet(effects_path)
    contract = FeatureContract.load(tiny_results / "eqtl" / "features" / "contract.json")
    feats = pd.read_parquet(tiny_results / "eqtl" / "features" / "features.parquet")
    names = [f"extra1__{c}" for c in S2E_COLUMNS]
    assert all(n in contract.columns for n in names), contract.columns
    assert {contract.categories[n] for n in names} == {"deep_learning"}
    # same values as the s2e table for the same (variant, gene) pair, NaN where s2e scored none
    merged = feats[["variant_id", "gene_id"]].merge(effects, on=["variant_id", "gene_id"], how="left")
    for col in S2E_COLUMNS:
        np.testing.assert_array_equal(feats[f"extra1__{col}"].to_numpy(), merged[col].to_numpy())
    assert merged["s2e_ism"].notna().sum() > 0, "s2e scored none of the eqtl variant-gene pairs"


def test_weighted_eqtl_models_weight_the_s2e_features_like_deep_learning(tiny_results):
    import yaml
    from catboost import CatBoostClassifier

    from varflow.eqtl.config import default_config_path

    dl_weight = yaml.safe_load(default_config_path().read_text())["categories"]["deep_learning"]
    train = sorted((tiny_results / "eqtl" / "train").glob("chr*[0-9]"))[0]  # a fixed-weight fold
    contract = FeatureContract.load(train / "contract.json")
    model_path = sorted(train.glob("model_*_weighted.cbm"))[0]
    model = CatBoostClassifier()
    model.load_model(str(model_path))
    assert model.feature_names_ == contract.columns
    # CatBoost stores the non-default weights as {feature index: weight}
    stored = {int(k): float(v) for k, v in (model.get_all_params().get("feature_weights") or {}).items()}
    for name in (f"extra1__{c}" for c in S2E_COLUMNS):
        assert stored.get(contract.columns.index(name)) == dl_weight > 1, name
    assert stored.get(contract.columns.index("dl__dl_000_abs")) == dl_weight   # the config's own DL source
    assert contract.columns.index("abs_distance_TSS_log") not in stored         # weight 1 elsewhere
