"""``varflow run s2e`` on a simulated cohort scores its variant effects against the cohort's truth."""

from __future__ import annotations

import json

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from varflow.io.tables import read_table
from varflow.report.sections import s2e as s2e_section
from varflow.s2e.pipeline import run_from_cohort


def test_run_writes_variant_truth_read_by_the_report(tiny_cohort, tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run_from_cohort(tiny_cohort, tmp_path / "s2e", quick=True, device="cpu")
    finally:
        torch.set_num_threads(threads)
    res = json.loads((tmp_path / "s2e" / "variant_truth.json").read_text())
    scores = read_table(tmp_path / "s2e" / "variant_effects.parquet", "variant_scores")
    truth = read_table(tiny_cohort.path("causal_variants"), "causal_variants")
    keys = set(zip(truth["variant_id"], truth["gene_id"]))
    y = np.array([k in keys for k in zip(scores["variant_id"], scores["gene_id"])])
    assert res["n_causal_truth"] == len(keys) and res["n_causal_scored"] == y.sum() > 0
    assert res["classes"]["all"]["n_other"] == (~y).sum()
    assert abs(res["classes"]["all"]["auroc_ism_abs"] - roc_auc_score(y, scores["s2e_ism_abs"])) < 1e-12
    assert "Variant effects against the simulated truth" in s2e_section(tmp_path)
