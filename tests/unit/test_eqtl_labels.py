"""Label rules of the eqtl workflow on hand-made fine-mapping tables."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from varflow.eqtl.config import DEFAULT_LABELS
from varflow.eqtl.labels import balanced_weights, make_labels, negatives_summary, positive_masks
from varflow.eqtl.variants import clean_finemap
from varflow.errors import VarflowError


def _fm(rows):
    return pd.DataFrame(rows, columns=["variant_id", "gene_id", "pip", "cs"])


def _negatives(gene, n, start, ref="A", alt="C", pip=0.001):
    return [(f"chr1:{start + i}:{ref}:{alt}", gene, pip, 0) for i in range(n)]


def test_positive_rules_each_edge():
    rows = [
        ("chr1:100:A:C", "g1", 0.10, 1), ("chr1:101:A:C", "g1", 0.08, 1),  # CS top exactly 0.1: excluded
        ("chr1:102:A:C", "g1", 0.06, 1),
        ("chr1:200:A:C", "g1", 0.50, 2), ("chr1:201:A:C", "g1", 0.06, 2),  # CS top 0.5: pip > 0.05 in
        ("chr1:202:A:C", "g1", 0.05, 2),                                      # exactly 0.05: out
        ("chr1:300:A:C", "g1", 0.60, 0), ("chr1:301:A:C", "g1", 0.50, 0),  # outside CS: > 0.5 only
        ("chr1:400:A:C", "g1", 0.90, 3), ("chr1:401:A:C", "g1", 0.89, 0),  # test: >= 0.9
    ]
    pairs = clean_finemap(_fm(rows), "t")
    train, test = positive_masks(pairs, DEFAULT_LABELS)
    want_train = {"chr1:200:A:C", "chr1:201:A:C", "chr1:300:A:C", "chr1:400:A:C", "chr1:401:A:C"}
    assert set(pairs["variant_id"][train]) == want_train
    assert set(pairs["variant_id"][test]) == {"chr1:400:A:C"}


def test_cs_top_pip_computed_per_gene_and_cs():
    # the same CS index in another gene must not lend its top PIP
    rows = [("chr1:100:A:C", "g1", 0.08, 1), ("chr1:100:A:C", "g2", 0.9, 1)]
    train, _ = positive_masks(clean_finemap(_fm(rows), "t"), DEFAULT_LABELS)
    assert train.tolist() == [False, True]


def test_negatives_match_type_gene_and_weights_balance():
    rows = [("chr1:50:A:C", "g1", 0.7, 0), ("chr1:60:A:ATT", "g1", 0.3, 1), ("chr1:61:G:T", "g1", 0.2, 1),
            ("chr1:70:AG:A", "g2", 0.95, 0)]
    rows += _negatives("g1", 40, 1000)                       # SNVs
    rows += _negatives("g1", 30, 2000, ref="A", alt="AC")    # insertions
    rows += _negatives("g1", 30, 3000, ref="AC", alt="A")    # deletions (only in g1)
    rows += _negatives("g2", 30, 4000, ref="AC", alt="A")    # deletions of g2
    rows += [("chr1:5000:A:C", "g1", 0.02, 0)]               # not < 0.01: never a negative
    lab = make_labels(_fm(rows), DEFAULT_LABELS, seed=3)
    tr = lab[lab["set"] == "train"]
    by_id = _fm(rows).set_index("variant_id")
    pos = tr[tr["label"] == 1]
    neg = tr[tr["label"] == 0]
    assert set(pos["variant_id"]) == {"chr1:50:A:C", "chr1:60:A:ATT", "chr1:61:G:T", "chr1:70:AG:A"}
    assert len(neg) == 10 * len(pos)
    assert (by_id.loc[neg["variant_id"], "pip"].to_numpy() < 0.01).all()
    # per (gene, type): npr negatives per positive, drawn without replacement (pool is large enough)
    counts = neg.groupby(["gene_id", "vtype"]).size().to_dict()
    assert counts == {("g1", "snv"): 20, ("g1", "insertion"): 10, ("g2", "deletion"): 10}
    assert not neg.duplicated(["variant_id", "gene_id"]).any()
    assert np.isclose(pos["weight"].sum(), neg["weight"].sum())
    assert (neg["weight"] == 1).all()
    assert np.allclose(pos["weight"], pos["pip"] * len(neg) / pos["pip"].sum())
    te = lab[lab["set"] == "test"]
    assert te.loc[te["label"] == 1, "variant_id"].tolist() == ["chr1:70:AG:A"]
    assert set(te.loc[te["label"] == 0, "vtype"]) == {"deletion"}


def test_small_pool_draws_with_replacement_and_warns(caplog):
    rows = [("chr1:50:A:C", "g1", 0.8, 0)] + _negatives("g1", 3, 1000)
    with caplog.at_level(logging.WARNING, logger="varflow"):
        lab = make_labels(_fm(rows), DEFAULT_LABELS, seed=0)
    neg = lab[(lab["set"] == "train") & (lab["label"] == 0)]
    assert len(neg) == 10 and neg["variant_id"].nunique() == 3
    assert "with replacement" in caplog.text


def test_empty_pool_drops_positive_with_warning(caplog):
    rows = [("chr1:50:A:AT", "g1", 0.8, 0), ("chr1:51:A:C", "g1", 0.8, 0)] + _negatives("g1", 20, 1000)
    with caplog.at_level(logging.WARNING, logger="varflow"):
        lab = make_labels(_fm(rows), DEFAULT_LABELS, seed=0)
    tr = lab[lab["set"] == "train"]
    assert tr.loc[tr["label"] == 1, "variant_id"].tolist() == ["chr1:51:A:C"]
    assert "no negative of the same variant type" in caplog.text


def test_seeded_and_seed_changes_draws():
    rows = [("chr1:50:A:C", "g1", 0.8, 0)] + _negatives("g1", 100, 1000)
    a = make_labels(_fm(rows), DEFAULT_LABELS, seed=1)
    b = make_labels(_fm(rows), DEFAULT_LABELS, seed=1)
    c = make_labels(_fm(rows), DEFAULT_LABELS, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert set(a["variant_id"]) != set(c["variant_id"])


def test_balanced_weights_formula():
    w = balanced_weights(np.array([1, 1, 0, 0, 0]), np.array([0.2, 0.6, 0, 0, 0]))
    assert np.allclose(w, [0.2 * 3 / 0.8, 0.6 * 3 / 0.8, 1, 1, 1])


def test_bad_pip_and_variant_id_and_duplicates(caplog):
    with pytest.raises(VarflowError, match=r"row 1: column 'pip' = 1.5 is outside \[0, 1\]"):
        make_labels(_fm([("chr1:1:A:C", "g", 0.1, 0), ("chr1:2:A:C", "g", 1.5, 0)]), DEFAULT_LABELS, 0)
    with pytest.raises(VarflowError, match="row 0: malformed variant_id 'chr1-1-A-C'"):
        make_labels(_fm([("chr1-1-A-C", "g", 0.1, 0)]), DEFAULT_LABELS, 0)
    with caplog.at_level(logging.WARNING, logger="varflow"):
        pairs = clean_finemap(_fm([("chr1:1:A:C", "g", 0.1, 0), ("chr1:1:A:C", "g", 0.7, 0)]), "t")
    assert pairs["pip"].tolist() == [0.7] and "duplicate" in caplog.text


def test_negatives_summary_counts_candidates_per_gene_and_names_short_genes(caplog):

    rows = [("chr1:50:A:C", "g1", 0.9, 1), ("chr1:60:A:C", "g2", 0.9, 1), ("chr1:70:A:C", "g3", 0.2, 0)]
    rows += _negatives("g1", 12, 1000)                        # enough (npr = 10)
    rows += _negatives("g2", 3, 2000) + _negatives("g2", 2, 3000, ref="AC", alt="A")  # 5 of any type
    rows += [("chr1:4000:A:C", "g2", 0.01, 0)]                # pip exactly 0.01: not a candidate
    with caplog.at_level(logging.WARNING, logger="varflow"):
        summary = negatives_summary(_fm(rows), DEFAULT_LABELS)
    assert summary["candidate_negatives"] == {"g1": 12, "g2": 5, "g3": 0}
    assert summary["genes_with_too_few_negatives"] == ["g2", "g3"]
    assert summary["min_negatives"] == DEFAULT_LABELS["npr"] == 10
    assert "2 of 3 gene(s)" in caplog.text and "g2, g3" in caplog.text


def test_labels_step_writes_the_negatives_summary_and_the_report_names_short_genes(tmp_path, tiny_cohort):
    """The labels step writes negatives.json (what ``negatives_summary`` computes on its input) and
    counts the short genes; the report's eqtl section names them."""
    from varflow.eqtl import steps
    from varflow.eqtl.config import load_config
    from varflow.io.tables import write_table
    from varflow.report.sections import eqtl

    rows = [("chr1:50:A:C", "g1", 0.9, 1), ("chr2:60:A:C", "g2", 0.9, 1)]
    rows += _negatives("g1", 12, 1000) + [(f"chr2:{3000 + i}:A:C", "g2", 0.001, 0) for i in range(4)]
    path = tmp_path / "finemap.parquet"
    write_table(_fm(rows), path)
    config = load_config(None, cohort=tiny_cohort)
    res = steps.labels_step(path, config, tmp_path / "eqtl" / "labels", seed=0)
    summary = json.loads((tmp_path / "eqtl" / "labels" / "negatives.json").read_text())
    assert summary == negatives_summary(_fm(rows), config.labels)
    assert summary["genes_with_too_few_negatives"] == ["g2"]
    assert res["genes"] == 2 and res["genes_with_too_few_negatives"] == 1
    section = eqtl(tmp_path)
    assert "1 of 2 genes have fewer than 10 candidate negatives" in section and "g2" in section
