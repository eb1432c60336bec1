"""Contract of modules/local/s2e_variant_truth: the variant-truth JSON the report reads."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np


def stage(workdir: Path, tiny_cohort) -> dict:
    """Scores over the cohort's causal pairs and as many decoys (scores need no model here)."""
    import pandas as pd

    from varflow.io.tables import read_table, write_table

    truth = read_table(tiny_cohort.path("causal_variants"), "causal_variants")
    decoys = truth.assign(variant_id=truth["variant_id"] + "T", gene_id=truth["gene_id"])
    pairs = pd.concat([truth, decoys], ignore_index=True)[["variant_id", "gene_id"]]
    ism = np.random.default_rng(0).normal(size=len(pairs))
    write_table(pairs.assign(s2e_ism=ism, s2e_ism_abs=np.abs(ism), s2e_gxi=ism),
                workdir / "tiny_s2e.variant_scores.parquet", "variant_scores")
    shutil.copy(tiny_cohort.path("causal_variants"), workdir / "causal_variants.parquet")
    return {"inputs": {"meta": {"id": "tiny"}, "scores": "tiny_s2e.variant_scores.parquet",
                       "truth": "causal_variants.parquet"}}


def check(workdir: Path, outputs: dict) -> None:
    import json

    (summary,) = outputs["summary"]
    res = json.loads(Path(summary).read_text())
    assert res["n_causal_scored"] == res["n_causal_truth"] > 0
    assert set(res["classes"]) == {"snv", "indel", "all"} and 0 <= res["classes"]["all"]["auroc_ism_abs"] <= 1
