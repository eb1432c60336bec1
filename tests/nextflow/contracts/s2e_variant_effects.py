"""Contract of modules/local/s2e_variant_effects: variant_scores Parquet the eqtl workflow reads."""

from __future__ import annotations

from pathlib import Path

import s2e_fixture


def stage(workdir: Path, tiny_cohort) -> dict:
    shards = s2e_fixture.stage_shards(workdir, tiny_cohort)
    model = s2e_fixture.stage_model(workdir, tiny_cohort)
    return {"inputs": {"meta": {"id": "tiny"}, "shards": shards, "model": model}, "ext": {"args": "--device cpu"}}


def check(workdir: Path, outputs: dict) -> None:
    from varflow.io.tables import read_table

    (scores,) = outputs["scores"]
    table = read_table(scores, "variant_scores")
    assert {"variant_id", "gene_id", "s2e_ism", "s2e_gxi"} <= set(table.columns) and len(table) > 0
