"""Shared staging for the eqtl module contracts (not a contract itself): featurize, label, train in Python."""

from __future__ import annotations

from pathlib import Path

from varflow.eqtl import steps
from varflow.eqtl.config import load_config


def featurize_and_label(workdir: Path, tiny_cohort) -> list[str]:
    """Write feat/features.parquet, feat/contract.json, lab/labels.parquet; return the fold chromosomes."""
    cfg = load_config(None, cohort=tiny_cohort)
    steps.featurize_step(tiny_cohort.path("finemap"), tiny_cohort.path("genes"), cfg, workdir / "feat")
    res = steps.labels_step(tiny_cohort.path("finemap"), cfg, workdir / "lab")
    return res["folds"]


def train_folds(workdir: Path, tiny_cohort) -> list[str]:
    """Train every fold (20 trees) into train_<chrom>/; return the folder names."""
    folds = featurize_and_label(workdir, tiny_cohort)
    cfg = load_config(None, resolve_files=False)
    cfg.catboost.update(iterations=20, border_count=32)
    names = []
    for chrom in folds:
        steps.train_step(workdir / "feat" / "features.parquet", workdir / "feat" / "contract.json",
                         workdir / "lab" / "labels.parquet", cfg, workdir / f"train_{chrom}", chroms=[chrom])
        names.append(f"train_{chrom}")
    return names
