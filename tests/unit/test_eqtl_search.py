"""The per-category weight search: halves, the held-out chromosome never seen, determinism, objective
values against an independent refit, train --weights, and the three-way comparison."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from varflow.eqtl import steps
from varflow.eqtl.config import parse_config
from varflow.eqtl.evaluate import average_precision
from varflow.eqtl.featurize import featurize
from varflow.eqtl.labels import balanced_weights, make_labels
from varflow.eqtl.schemas import FEATURES, LABELS
from varflow.eqtl.search import WeightSearch, split_halves
from varflow.eqtl.train import catboost_params, join_training_data
from varflow.errors import VarflowError
from varflow.io.tables import write_table

N_CHROM = 4


def _cohort(tmp_path, seed=0):
    """4 chromosomes x 10 genes x 30 cis SNVs; one causal variant per gene (pip 0.95) with a higher
    deep-learning score; a second, pure-noise score of category 'noise'."""
    rng = np.random.default_rng(seed)
    fm, genes, scores = [], [], []
    for c in range(1, N_CHROM + 1):
        for g in range(10):
            gid, tss = f"g{c}_{g}", 10_000 * (g + 1)
            genes.append((gid, f"chr{c}", tss, "+"))
            pos = tss + rng.choice(np.arange(-3000, 3000), 30, replace=False) + 1
            causal = rng.integers(30)
            for k, p in enumerate(pos):
                vid = f"chr{c}:{p}:A:G"
                fm.append((vid, gid, 0.95 if k == causal else rng.uniform(0, 0.009), int(k == causal)))
                scores.append((vid, rng.normal(1.5 if k == causal else 0.0), rng.normal()))
    fm = pd.DataFrame(fm, columns=["variant_id", "gene_id", "pip", "cs"])
    genes = pd.DataFrame(genes, columns=["gene_id", "chrom", "tss", "strand"])
    (pd.DataFrame(scores, columns=["variant_id", "dl_s", "noise_s"]).drop_duplicates("variant_id")
     .to_parquet(tmp_path / "scores.parquet"))
    doc = {"seed": 5,
           "sources": [{"name": "dl", "type": "variant_scores", "path": "scores.parquet", "columns": "dl_*",
                        "category": "deep_learning"},
                       {"name": "nz", "type": "variant_scores", "path": "scores.parquet", "columns": "noise_*",
                        "category": "noise"}],
           "categories": {"deep_learning": 10, "noise": 1}, "labels": {"npr": 5},
           "catboost": {"iterations": 30, "border_count": 32, "learning_rate": 0.2, "thread_count": 1},
           "search": {"trials": 5, "iterations": 15, "learning_rate": 0.3, "border_count": 16}}
    return fm, genes, parse_config(doc, path=tmp_path / "cfg.yaml")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("eqtl_search")
    fm, genes, cfg = _cohort(tmp)
    feats, contract = featurize(fm, genes, cfg)
    labels = make_labels(fm, cfg.labels, cfg.seed)
    write_table(feats, tmp / "features.parquet", FEATURES)
    write_table(labels, tmp / "labels.parquet", LABELS)
    contract.save(tmp / "contract.json")
    return {"tmp": tmp, "cfg": cfg, "feats": feats, "labels": labels, "contract": contract,
            "paths": (tmp / "features.parquet", tmp / "contract.json", tmp / "labels.parquet")}


def _data(files):
    return join_training_data(files["feats"], files["labels"], files["contract"])


def test_halves_are_odd_and_even_training_chromosomes_without_the_heldout(files):
    data = _data(files)
    halves = split_halves(data, "chr1")
    assert halves.odd == ["chr3"] and halves.even == ["chr2", "chr4"]
    for rows, chroms in ((halves.odd_rows, halves.odd), (halves.even_rows, halves.even)):
        assert data.is_train[rows].all() and set(data.chrom[rows]) == set(chroms)
    expected = np.flatnonzero(data.is_train & (data.chrom != "chr1"))
    np.testing.assert_array_equal(np.sort(np.r_[halves.odd_rows, halves.even_rows]), expected)


def test_search_is_seeded_and_starts_from_unweighted_and_fixed(files, tmp_path):
    docs = [json.loads((steps.search_step(*files["paths"], files["cfg"], tmp_path / f"s{i}", chroms=["chr1"]),
                        tmp_path / f"s{i}" / "weights_chr1.json")[1].read_text()) for i in range(2)]
    assert docs[0] == docs[1]
    trials = docs[0]["trials"]
    assert len(trials) == files["cfg"].search.trials
    assert trials[0]["weights"] == {"allele_freq": 1.0, "deep_learning": 1.0, "distance": 1.0, "noise": 1.0,
                                    "variant_type": 1.0}
    assert trials[1]["weights"]["deep_learning"] == 10.0 and trials[1]["weights"]["noise"] == 1.0
    best = max(t["auprc_mean"] for t in trials)
    chosen = trials[docs[0]["chosen_trial"]]
    assert chosen["auprc_mean"] == best and docs[0]["weights"] == chosen["weights"]
    assert docs[0]["chosen_trial"] in docs[0]["pareto_front"]
    for t in trials:
        assert all(1.0 <= w <= 10.0 for w in t["weights"].values())


def test_objective_matches_an_independent_refit(files):
    """auprc_odd_to_even of a trial = sklearn AP on the even half of a CatBoost refit on the odd half."""
    from catboost import CatBoostClassifier, Pool

    cfg, contract, data = files["cfg"], files["contract"], _data(files)
    doc = WeightSearch(cfg, contract).run(data, "chr1")
    trial = doc["trials"][doc["chosen_trial"]]
    halves = split_halves(data, "chr1")
    rows, val = halves.odd_rows, halves.even_rows
    pool = Pool(data.X[rows], label=data.y[rows], weight=balanced_weights(data.y[rows], data.pip[rows]))
    pool.quantize(border_count=cfg.search.border_count)
    params = catboost_params(cfg, quantised=True)
    params.update(iterations=cfg.search.iterations, learning_rate=cfg.search.learning_rate,
                  feature_weights=[trial["weights"][contract.categories[c]] for c in contract.columns])
    prob = CatBoostClassifier(**params).fit(pool).predict_proba(data.X[val])[:, 1]
    assert trial["auprc_odd_to_even"] == pytest.approx(average_precision_score(data.y[val], prob), abs=1e-12)


def test_search_never_sees_the_heldout_chromosome(files):
    """Scrambling every feature of chr1 (the held-out chromosome) leaves its fold's search unchanged."""
    cfg, contract = files["cfg"], files["contract"]
    feats = files["feats"].copy()
    on_chr1 = feats["variant_id"].str.startswith("chr1:").to_numpy()
    rng = np.random.default_rng(1)
    for col in contract.columns:
        feats.loc[on_chr1, col] = rng.permutation(feats.loc[on_chr1, col].to_numpy())
    scrambled = join_training_data(feats, files["labels"], contract)
    search = WeightSearch(cfg, contract)
    assert search.run(scrambled, "chr1") == search.run(_data(files), "chr1")


def test_train_with_searched_weights_and_three_way_comparison(files, tmp_path):
    cfg, paths = files["cfg"], files["paths"]
    steps.search_step(*paths, cfg, tmp_path / "search", chroms=["chr1", "chr2"])
    steps.train_step(*paths, cfg, tmp_path / "fixed", chroms=["chr1", "chr2"])
    searched_dirs = []
    for chrom in ("chr1", "chr2"):
        searched_dirs.append(tmp_path / f"searched_{chrom}")
        steps.train_step(*paths, cfg, searched_dirs[-1], chroms=[chrom],
                         weights=tmp_path / "search" / f"weights_{chrom}.json")
    # the same fold trained from a config that declares the searched weights as its categories
    chosen = json.loads((tmp_path / "search" / "weights_chr1.json").read_text())["weights"]
    steps.train_step(*paths, replace(cfg, category_weights=chosen), tmp_path / "declared", chroms=["chr1"])
    searched = pd.read_parquet(searched_dirs[0] / "heldout_chr1.parquet")
    declared = pd.read_parquet(tmp_path / "declared" / "heldout_chr1.parquet")
    fixed = pd.read_parquet(tmp_path / "fixed" / "heldout_chr1.parquet")
    np.testing.assert_array_equal(searched["prob_weighted"], declared["prob_weighted"])
    # the unweighted model does not depend on the weights: the searched fold does not refit it
    assert searched["prob_unweighted"].isna().all() and fixed["prob_unweighted"].notna().all()
    assert sorted(p.name for p in searched_dirs[0].glob("model_*.cbm")) == ["model_chr1_weighted.cbm"]
    marker = json.loads((searched_dirs[0] / "searched_weights.json").read_text())
    assert marker == {"heldout": "chr1", "weights": chosen}
    with pytest.raises(VarflowError, match="train only that fold"):
        steps.train_step(*paths, cfg, tmp_path / "bad", chroms=["chr2"],
                         weights=tmp_path / "search" / "weights_chr1.json")

    rep = steps.evaluate_step([tmp_path / "fixed", *searched_dirs], tmp_path / "eval", n_boot=50, seed=0)
    cmp = rep["weight_comparison"]
    assert json.loads((tmp_path / "eval" / "weight_comparison.json").read_text())["models"] == cmp["models"]
    assert cmp["models"]["fixed"]["auprc"] == pytest.approx(rep["pooled"]["weighted"]["auprc"])
    assert cmp["models"]["unweighted"]["auprc"] == pytest.approx(rep["pooled"]["unweighted"]["auprc"])
    held = pd.concat([pd.read_parquet(d / f"heldout_{c}.parquet") for d, c in zip(searched_dirs, ("chr1", "chr2"))])
    assert cmp["models"]["searched"]["auprc"] == pytest.approx(
        average_precision(held["label"].to_numpy(), held["prob_weighted"].to_numpy()))
    for name, boot in cmp["bootstrap"].items():
        first, second = name.split("_minus_")
        assert boot["diff"] == pytest.approx(cmp["models"][first]["auprc"] - cmp["models"][second]["auprc"])
        assert boot["ci_low"] <= boot["ci_high"]
        assert boot["winner"] == (first if boot["ci_low"] > 0 else second if boot["ci_high"] < 0 else "neither")


def test_search_config_is_validated(tmp_path):
    with pytest.raises(VarflowError, match="search: unknown key"):
        parse_config({"search": {"budget": 3}}, path=tmp_path / "c.yaml", resolve_files=False)
    with pytest.raises(VarflowError, match="trials must be a positive integer"):
        parse_config({"search": {"trials": 0}}, path=tmp_path / "c.yaml", resolve_files=False)
    cfg = parse_config({"search": {"trials": 3}}, path=tmp_path / "c.yaml", resolve_files=False)
    assert cfg.search == replace(parse_config({}, resolve_files=False).search, trials=3)
