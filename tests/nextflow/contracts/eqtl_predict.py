"""Contract of modules/local/eqtl_predict: score the tiny cohort's pairs with its LOCO fold models."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pysam

import eqtl_common as _stage


def stage(workdir: Path, tiny_cohort) -> dict:
    folds = _stage.train_folds(workdir, tiny_cohort)
    return {"inputs": {"meta": {"id": "tiny"}, "features": "feat/features.parquet",
                       "contract": "feat/contract.json", "folds": folds}, "ext": {"args": ""}}


def check(workdir: Path, outputs: dict) -> None:
    (parquet,) = outputs["parquet"]
    pred = pd.read_parquet(parquet)
    assert len(pred) == len(pd.read_parquet(workdir / "feat" / "features.parquet"))
    tsv = [p for p in outputs["tsv"] if p.name.endswith(".tsv.gz")][0]
    with pysam.TabixFile(str(tsv)) as tbx:
        assert set(tbx.contigs) == set(pred["chrom"])
