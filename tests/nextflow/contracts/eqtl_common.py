"""Shared staging for the eqtl module contracts (not a contract itself): featurize, label, train in Python.

The artifacts are built once per tiny cohort (i.e. once per pytest session) in a cache folder beside
the cohort and symlinked into each task's work directory, so the five contracts stay fast.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from varflow.eqtl import steps
from varflow.eqtl.config import load_config


def _build(cache: Path, tiny_cohort) -> None:
    cfg = load_config(None, cohort=tiny_cohort)
    steps.featurize_step(tiny_cohort.path("finemap"), tiny_cohort.path("genes"), cfg, cache / "feat")
    folds = steps.labels_step(tiny_cohort.path("finemap"), cfg, cache / "lab")["folds"]
    train_cfg = load_config(None, resolve_files=False)
    train_cfg.catboost.update(iterations=20, border_count=32)
    for chrom in folds:
        steps.train_step(cache / "feat" / "features.parquet", cache / "feat" / "contract.json",
                         cache / "lab" / "labels.parquet", train_cfg, cache / f"train_{chrom}", chroms=[chrom])


def _cache(tiny_cohort) -> Path:
    cache = Path(tiny_cohort.root).parent / f".{Path(tiny_cohort.root).name}_eqtl_contract"
    if not cache.is_dir():
        tmp = Path(tempfile.mkdtemp(dir=cache.parent, prefix=".eqtl_build_"))
        _build(tmp, tiny_cohort)
        try:
            os.replace(tmp, cache)
        except OSError:  # built concurrently by another test: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
    return cache


def featurize_and_label(workdir: Path, tiny_cohort) -> list[str]:
    """Link feat/ (features.parquet, contract.json) and lab/ (labels.parquet) into workdir; return folds."""
    cache = _cache(tiny_cohort)
    for name in ("feat", "lab"):
        (workdir / name).symlink_to(cache / name, target_is_directory=True)
    return (cache / "lab" / "folds.txt").read_text().split()


def train_folds(workdir: Path, tiny_cohort) -> list[str]:
    """Also link the trained folds (20 trees each) as train_<chrom>/; return the folder names."""
    folds = featurize_and_label(workdir, tiny_cohort)
    cache = _cache(tiny_cohort)
    for chrom in folds:
        (workdir / f"train_{chrom}").symlink_to(cache / f"train_{chrom}", target_is_directory=True)
    return [f"train_{chrom}" for chrom in folds]
