"""LOCO training, evaluation and prediction on a small synthetic fine-mapping set (few trees)."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
from sklearn.metrics import average_precision_score

from varflow.eqtl.config import parse_config
from varflow.eqtl.evaluate import average_precision, evaluate_dirs, paired_bootstrap
from varflow.eqtl.featurize import featurize
from varflow.eqtl.labels import make_labels
from varflow.eqtl.predict import predict, predict_files
from varflow.eqtl.train import train_loco
from varflow.errors import VarflowError
from varflow.io.tables import write_table


def _synthetic(tmp_path, n_chrom=3, genes_per_chrom=12, seed=0):
    """Genes with 40 cis SNVs each; one causal variant per gene, found by fine-mapping with pip 0.95,
    and a deep-learning score that is higher for the causal variant."""
    rng = np.random.default_rng(seed)
    fm, genes, dl = [], [], []
    for c in range(1, n_chrom + 1):
        for g in range(genes_per_chrom):
            gid, tss = f"g{c}_{g}", 10_000 * (g + 1)
            genes.append((gid, f"chr{c}", tss, "+"))
            pos = tss + rng.choice(np.arange(-3000, 3000), 40, replace=False) + 1
            causal = rng.integers(40)
            for k, p in enumerate(pos):
                vid = f"chr{c}:{p}:A:G"
                pip = 0.95 if k == causal else rng.uniform(0, 0.009)
                fm.append((vid, gid, pip, 1 if k == causal else 0))
                dl.append((vid, rng.normal(2.0 if k == causal else 0.0, 1.0)))
    fm = pd.DataFrame(fm, columns=["variant_id", "gene_id", "pip", "cs"])
    genes = pd.DataFrame(genes, columns=["gene_id", "chrom", "tss", "strand"])
    pd.DataFrame(dl, columns=["variant_id", "dl_s"]).drop_duplicates("variant_id").to_parquet(tmp_path / "dl.parquet")
    doc = {"seed": 3, "sources": [{"name": "dl", "type": "variant_scores", "path": "dl.parquet",
                                   "category": "deep_learning"}],
           "categories": {"deep_learning": 10}, "labels": {"npr": 5},
           "catboost": {"iterations": 40, "border_count": 32, "learning_rate": 0.2, "thread_count": 1}}
    return fm, genes, parse_config(doc, path=tmp_path / "cfg.yaml")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("eqtl_train")
    fm, genes, cfg = _synthetic(tmp)
    feats, contract = featurize(fm, genes, cfg)
    labels = make_labels(fm, cfg.labels, cfg.seed)
    res = train_loco(feats, labels, contract, cfg, tmp / "train")
    return {"tmp": tmp, "fm": fm, "genes": genes, "cfg": cfg, "feats": feats, "contract": contract,
            "labels": labels, "res": res}


def test_folds_never_train_on_their_heldout_chromosome(trained):
    tr = trained["tmp"] / "train"
    assert trained["res"]["folds"] == ["chr1", "chr2", "chr3"]
    for c in trained["res"]["folds"]:
        info = json.loads((tr / f"fold_{c}.json").read_text())
        assert c not in info["train_chroms"] and len(info["train_chroms"]) == 2
        held = pd.read_parquet(tr / f"heldout_{c}.parquet")
        assert set(held["chrom"]) == {c}


def test_heldout_predictions_ignore_the_heldout_chromosomes_training_rows(trained, tmp_path):
    # Flip the labels of chr1's *train* rows: fold chr1 must not change at all; fold chr2 must.
    labels = trained["labels"].copy()
    flip = (labels["set"] == "train") & (labels["chrom"] == "chr1")
    labels.loc[flip, "label"] = 1 - labels.loc[flip, "label"]
    train_loco(trained["feats"], labels, trained["contract"], trained["cfg"], tmp_path, chroms=["chr1", "chr2"])
    for c, same in (("chr1", True), ("chr2", False)):
        a = pd.read_parquet(trained["tmp"] / "train" / f"heldout_{c}.parquet")["prob_weighted"].to_numpy()
        b = pd.read_parquet(tmp_path / f"heldout_{c}.parquet")["prob_weighted"].to_numpy()
        assert np.array_equal(a, b) == same


def test_evaluate_metrics_and_bootstrap(trained, tmp_path):
    rep = evaluate_dirs([trained["tmp"] / "train"], tmp_path, n_boot=200, seed=1)
    held = pd.concat(pd.read_parquet(p) for p in sorted((trained["tmp"] / "train").glob("heldout_*.parquet")))
    want = average_precision_score(held["label"], held["prob_weighted"])
    assert np.isclose(rep["pooled"]["weighted"]["auprc"], want)
    assert rep["pooled"]["weighted"]["auprc"] > rep["pooled"]["distance_only"]["auprc"]
    assert set(rep["per_chromosome"]) == {"chr1", "chr2", "chr3"}
    b = rep["bootstrap_weighted_minus_unweighted"]
    assert b["ci_low"] <= b["diff"] <= b["ci_high"]
    assert (tmp_path / "curves.png").stat().st_size > 1000
    assert rep["importance_top"][0]["feature"] == "dl__dl_s"   # the only informative feature
    again = evaluate_dirs([trained["tmp"] / "train"], tmp_path / "b", n_boot=200, seed=1)
    assert again["bootstrap_weighted_minus_unweighted"] == b


def test_average_precision_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.integers(0, 2, 50)
        s = rng.integers(0, 6, 50).astype(float)   # many ties
        assert np.isclose(average_precision(y, s), average_precision_score(y, s))
    r = paired_bootstrap(y, s, -s, 50, 0)
    assert r["diff"] == average_precision(y, s) - average_precision(y, -s)


def test_predict_uses_heldout_model_and_writes_tabix(trained, tmp_path):
    feats = trained["feats"]
    path = tmp_path / "f.parquet"
    write_table(feats, path)
    pred = predict_files(path, [trained["tmp"] / "train"], tmp_path / "pred")
    assert len(pred) == len(feats)
    assert (pred.loc[pred["chrom"] == "chr2", "model"] == "model_chr2_weighted.cbm").all()
    from catboost import CatBoostClassifier

    m = CatBoostClassifier().load_model(str(trained["tmp"] / "train" / "model_chr2_weighted.cbm"))
    sub = feats[feats["chrom"] == "chr2"]
    want = pd.Series(m.predict_proba(sub[trained["contract"].columns].to_numpy(np.float32))[:, 1],
                     index=sub["variant_id"].to_numpy())
    got = pred[pred["chrom"] == "chr2"].set_index("variant_id")["pred_probability"]
    assert np.allclose(got.loc[want.index], want)
    with pysam.TabixFile(str(tmp_path / "pred.tsv.gz")) as tbx:
        assert tbx.header[-1].split("\t") == ["#CHROM", "POS", "ID", "REF", "ALT", "GENE_ID", "PIP",
                                              "PRED_PROBABILITY"]
        row = pred[pred["chrom"] == "chr3"].iloc[0]
        hits = [r.split("\t") for r in tbx.fetch("chr3", int(row["pos"]) - 1, int(row["pos"]))]
        assert row["variant_id"] in [h[2] for h in hits]
    assert (np.diff(pred.loc[pred["chrom"] == "chr1", "pos"]) >= 0).all()


def test_predict_contract_mismatch_is_a_clear_error(trained):
    feats = trained["feats"].drop(columns=["dl__dl_s"])
    with pytest.raises(VarflowError, match="feature columns differ from the feature contract.*dl__dl_s"):
        predict(feats, trained["contract"], [trained["tmp"] / "train"])


def test_fold_without_test_positives_is_skipped_and_one_chromosome_fails(trained, tmp_path, caplog):
    labels = trained["labels"]
    drop = (labels["set"] == "test") & (labels["chrom"] == "chr3") & (labels["label"] == 1)
    with caplog.at_level(logging.WARNING, logger="varflow"):
        res = train_loco(trained["feats"], labels[~drop], trained["contract"], trained["cfg"], tmp_path,
                         chroms=["chr3"])
    assert res == {"folds": [], "skipped": {"chr3": "no test positives"}}
    assert "fold chr3 skipped: no test positives" in caplog.text
    one = labels[labels["chrom"] == "chr1"]
    with pytest.raises(VarflowError, match="at least 2 chromosomes"):
        train_loco(trained["feats"], one, trained["contract"], trained["cfg"], tmp_path)


def test_cuda_trains_only_the_unweighted_model_on_gpu(trained, tmp_path, monkeypatch, caplog):
    """No GPU here: record the parameters each model is built with, then train on the CPU."""
    import catboost

    seen = []
    real = catboost.CatBoostClassifier

    class Recording(real):
        def __init__(self, **params):
            seen.append(dict(params))
            params.pop("task_type", None)
            params.pop("devices", None)
            super().__init__(**params)

    monkeypatch.setattr(catboost, "CatBoostClassifier", Recording)
    with caplog.at_level(logging.WARNING, logger="varflow"):
        train_loco(trained["feats"], trained["labels"], trained["contract"], trained["cfg"], tmp_path,
                   chroms=["chr1"], device="cuda")
    weighted, unweighted = seen
    assert "feature_weights" in weighted and "task_type" not in weighted
    assert unweighted.get("task_type") == "GPU" and "feature_weights" not in unweighted
    assert "feature_weights is CPU-only" in caplog.text and "reproducible" in caplog.text


def test_early_stopping_validates_on_the_next_chromosome(trained, tmp_path):
    """catboost.early_stopping_rounds: each fold also leaves out the next training chromosome (wrapping
    around) as validation set, neither it nor the held-out one is trained on, and trees stop early."""
    doc = dict(trained["cfg"].raw)
    doc["catboost"] = {**doc["catboost"], "iterations": 400, "learning_rate": 0.5, "early_stopping_rounds": 5}
    cfg = parse_config(doc, path=trained["tmp"] / "cfg.yaml")
    train_loco(trained["feats"], trained["labels"], trained["contract"], cfg, tmp_path)
    for held, inner in (("chr1", "chr2"), ("chr2", "chr3"), ("chr3", "chr1")):
        info = json.loads((tmp_path / f"fold_{held}.json").read_text())
        assert info["validation_chrom"] == inner
        assert info["train_chroms"] == sorted({"chr1", "chr2", "chr3"} - {held, inner})
        assert all(0 < n < 400 for n in info["trees"].values()), info["trees"]
    with pytest.raises(VarflowError, match="early_stopping_rounds is CPU-only"):
        train_loco(trained["feats"], trained["labels"], trained["contract"], cfg, tmp_path / "gpu", device="cuda")


def test_a_folds_models_ignore_the_heldout_chromosomes_rows(trained, tmp_path):
    """Borders come from each fold's own training rows: dropping every row of chr1 except its test set
    (labels and features) leaves fold chr1's predictions and model files exactly as they were."""
    labels, feats = trained["labels"], trained["feats"]
    keep = (labels["chrom"] != "chr1") | (labels["set"] == "test")
    kept = labels[keep]
    pairs = pd.MultiIndex.from_frame(kept[["variant_id", "gene_id"]])
    fewer = feats[(feats["chrom"] != "chr1") | pd.MultiIndex.from_frame(feats[["variant_id", "gene_id"]]).isin(pairs)]
    assert len(fewer) < len(feats) and keep.sum() < len(labels)
    train_loco(fewer, kept, trained["contract"], trained["cfg"], tmp_path, chroms=["chr1"])
    full = trained["tmp"] / "train"
    a = pd.read_parquet(full / "heldout_chr1.parquet")
    b = pd.read_parquet(tmp_path / "heldout_chr1.parquet")
    for kind in ("weighted", "unweighted"):
        assert np.array_equal(a[f"prob_{kind}"].to_numpy(), b[f"prob_{kind}"].to_numpy())
        assert _model_json(full / f"model_chr1_{kind}.cbm", tmp_path) == _model_json(tmp_path / f"model_chr1_{kind}.cbm",
                                                                                      tmp_path)


def _model_json(path, tmp):
    """A .cbm model as CatBoost's JSON export: borders, trees, leaf values, parameters and training info,
    without the two fields that differ between identical fits (a random model_guid, the finish time)."""
    from catboost import CatBoostClassifier

    CatBoostClassifier().load_model(str(path)).save_model(str(tmp / "model.json"), format="json")
    doc = json.loads((tmp / "model.json").read_text())
    for key in ("model_guid", "train_finish_time"):
        doc["model_info"].pop(key)
    return doc


def test_early_stopping_borders_come_from_the_fit_rows_only(trained):
    """The validation chromosome's rows are quantised on the fit rows' borders, not on their own."""
    from catboost import Pool

    from varflow.eqtl.train import LocoTrainer, fold_rows, join_training_data

    data = join_training_data(trained["feats"], trained["labels"], trained["contract"])
    rows = fold_rows(data, "chr1", early_stopping=True)
    assert rows.validation_chrom == "chr2" and set(data.chrom[rows.fit]) == {"chr3"}
    fit, validation = LocoTrainer(trained["cfg"], trained["contract"]).fold_pools(data, rows)
    alone = Pool(data.X[rows.fit])
    alone.quantize(border_count=trained["cfg"].catboost["border_count"])
    for pool in (fit, validation):
        assert pool.is_quantized()
    with tempfile.TemporaryDirectory() as tmp:
        for name, pool in (("fit", fit), ("alone", alone)):
            pool.save_quantization_borders(str(Path(tmp) / name))
        assert (Path(tmp) / "fit").read_text() == (Path(tmp) / "alone").read_text()


def test_shap_by_category_sums_features_per_row():
    from varflow.eqtl.train import shap_by_category

    shap = np.array([[1.0, -2.0, 0.5, 9.0],     # (T=2, F=3 + expected value)
                     [-1.0, -1.0, 1.5, 9.0]])
    got = shap_by_category(shap, ["a", "a", "b"]).set_index("category")
    assert got.loc["a", "mean_abs_shap"] == (3 + 2) / 2 and got.loc["a", "mean_shap"] == (-1 - 2) / 2
    assert got.loc["b", "mean_abs_shap"] == 1.0 and got.loc["b", "mean_shap"] == 1.0


def test_shap_by_category_pools_the_heldout_rows_of_every_fold(trained, tmp_path):
    """shap_by_category.parquet's pooled rows equal CatBoost SHAP recomputed on all held-out rows with
    each row's fold model; the only informative feature's category carries most of it."""
    from catboost import CatBoostClassifier, Pool

    tr = trained["tmp"] / "train"
    rep = evaluate_dirs([tr], tmp_path, n_boot=20, seed=0)
    table = pd.read_parquet(tmp_path / "shap_by_category.parquet")
    contract, feats = trained["contract"], trained["feats"].set_index(["variant_id", "gene_id"])
    categories = np.array([contract.categories[c] for c in contract.columns])
    per_row = []
    for c in trained["res"]["folds"]:
        held = pd.read_parquet(tr / f"heldout_{c}.parquet")
        X = feats.loc[pd.MultiIndex.from_frame(held[["variant_id", "gene_id"]]), contract.columns].to_numpy(np.float32)
        model = CatBoostClassifier().load_model(str(tr / f"model_{c}_weighted.cbm"))
        phi = model.get_feature_importance(Pool(X), type="ShapValues")[:, :-1]
        per_row.append(pd.DataFrame({k: phi[:, categories == k].sum(axis=1) for k in np.unique(categories)}))
    per_row = pd.concat(per_row, ignore_index=True)
    pooled = table[table["fold"] == "pooled"].set_index("category")
    assert set(table["fold"]) == {"chr1", "chr2", "chr3", "pooled"}
    assert (pooled["n_rows"] == len(per_row)).all()
    assert np.allclose(pooled.loc[per_row.columns, "mean_abs_shap_weighted"], per_row.abs().mean())
    assert np.allclose(pooled.loc[per_row.columns, "mean_shap_weighted"], per_row.mean())
    top = rep["shap_by_category"][0]
    assert top["category"] == "deep_learning" and top["shap_pct_weighted"] > 50
    assert np.isclose(sum(r["shap_pct_unweighted"] for r in rep["shap_by_category"]), 100)
    assert np.isclose(sum(r["pvc_pct_weighted"] for r in rep["shap_by_category"]), 100)
    assert (tmp_path / "importance_by_category.png").stat().st_size > 1000


def test_report_shows_shap_by_category_next_to_prediction_values_change(trained, tmp_path):
    from varflow.report.sections import eqtl

    rep = evaluate_dirs([trained["tmp"] / "train"], tmp_path / "eqtl" / "evaluate", n_boot=20, seed=0)
    html = eqtl(tmp_path)
    section = html[html.index("Importance by feature category"):]
    assert "pvc_pct_weighted" in section and "shap_pct_weighted" in section
    for row in rep["shap_by_category"]:
        assert f"<td>{row['category']}</td>" in section
    assert 'alt="importance by category"' in html and 'alt="curves"' in html
