"""Shared staging for the s2e module contracts: a 1 kb-window store and a tiny model, built once per
session from the tiny cohort and copied into each task's work dir."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd

WINDOW = 1000


def built(tiny_cohort) -> Path:
    """A folder with store/<chrom>.npz and model/model.pt for the tiny cohort, built on first use
    beside the cohort folder (the contract modules are re-imported per test, so the cache is on disk)."""
    root = tiny_cohort.root.parent / "s2e_contract_inputs"
    if (root / "model" / "model.pt").exists():
        return root
    from varflow.s2e.models import ModelConfig
    from varflow.s2e.steps import prepare, train
    from varflow.s2e.train import TrainConfig

    tmp = Path(tempfile.mkdtemp(prefix=".s2e_contract_", dir=tiny_cohort.root.parent))
    chroms = sorted(pd.read_parquet(tiny_cohort.path("genes"))["chrom"].unique())
    prepare(tiny_cohort.path("vcf"), tiny_cohort.path("reference"), tiny_cohort.path("genes"), chroms,
            tmp / "store", window=WINDOW)
    cfg = TrainConfig(model=ModelConfig.tiny(WINDOW), ref_epochs=1, epochs=1, max_batches_per_epoch=2)
    train([tmp / "store"], tiny_cohort.path("expression"), tmp / "model", cfg, device="cpu")
    if not root.exists():
        tmp.rename(root)
    return root


def stage_shards(workdir: Path, tiny_cohort) -> list[str]:
    root = built(tiny_cohort)
    names = []
    for shard in sorted((root / "store").glob("*.npz")):
        shutil.copy(shard, workdir / shard.name)
        names.append(shard.name)
    return names


def stage_model(workdir: Path, tiny_cohort) -> str:
    shutil.copytree(built(tiny_cohort) / "model", workdir / "trained_model")
    return "trained_model"
