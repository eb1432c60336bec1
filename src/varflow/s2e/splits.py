"""Individual splits (seeded 80/10/10 by default, at least ``MIN_PER_SPLIT`` each, or given) and gene splits
by chromosome."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from varflow.errors import VarflowError
from varflow.io.atomic import atomic_path
from varflow.io.tables import read_frame

SPLITS = ("train", "val", "test")


def _chrom_key(name: str) -> tuple:
    bare = re.sub(r"^chr", "", name, flags=re.IGNORECASE)
    return (0, int(bare), "") if bare.isdigit() else (1, 0, bare)


#: Fewest individuals per split: a per-gene Pearson r over the held-out individuals is undefined
#: below 2 and exactly +-1 at 2, so 3 is the least that measures anything; the training labels'
#: mean and sd need as many.
MIN_PER_SPLIT = 3
MIN_INDIVIDUALS = len(SPLITS) * MIN_PER_SPLIT


def check_individual_count(n: int, source: str) -> None:
    """VarflowError naming ``source`` when ``n`` individuals cannot fill train, val and test."""
    if n < MIN_INDIVIDUALS:
        raise VarflowError(f"{source}: too few individuals with expression and genotypes: {n}; train, val and test "
                           f"each need at least {MIN_PER_SPLIT} ({MIN_INDIVIDUALS} in all), since a per-gene "
                           f"Pearson r over fewer than {MIN_PER_SPLIT} held-out individuals is undefined or +-1")


def split_individuals(samples: list[str], seed: int, fractions=(0.8, 0.1, 0.1)) -> dict[str, list[str]]:
    """Seeded random split of ``samples`` by ``fractions`` (train, val, test), with at least
    ``MIN_PER_SPLIT`` individuals in each (val and test take them from train)."""
    n = len(samples)
    check_individual_count(n, "individual split")
    n_val = max(MIN_PER_SPLIT, int(round(fractions[1] * n)))
    n_test = max(MIN_PER_SPLIT, int(round(fractions[2] * n)))
    n_train = n - n_val - n_test
    if n_train < MIN_PER_SPLIT:
        raise VarflowError(f"individual split: fractions {fractions} leave {n_train} of {n} individuals to train; "
                           f"each split needs at least {MIN_PER_SPLIT}")
    order = np.random.default_rng(seed).permutation(n)
    parts = np.split(order, [n_train, n_train + n_val])
    return {name: sorted(samples[i] for i in part) for name, part in zip(SPLITS, parts)}


def read_individual_splits(path: Path, samples: list[str]) -> dict[str, list[str]]:
    """A table with columns ``sample`` and ``split`` (train | val | test), restricted to ``samples``."""
    df = read_frame(path)
    for col in ("sample", "split"):
        if col not in df.columns:
            raise VarflowError(f"{path}: missing column '{col}' (expects sample, split)")
    bad = ~df["split"].isin(SPLITS)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise VarflowError(f"{path}: row {i + 1}: split must be train, val or test, found {df['split'].iloc[i]!r}")
    known = set(samples)
    out = {name: sorted(str(s) for s in df.loc[df["split"] == name, "sample"] if str(s) in known) for name in SPLITS}
    for name in SPLITS:
        if len(out[name]) < MIN_PER_SPLIT:
            raise VarflowError(f"{path}: {len(out[name])} '{name}' individual(s) among the samples with expression "
                               f"and genotypes; each split needs at least {MIN_PER_SPLIT}, since a per-gene Pearson "
                               f"r over fewer is undefined or +-1")
    return out


def split_genes(genes: pd.DataFrame, val_chroms: list[str] | None = None,
                test_chroms: list[str] | None = None) -> dict[str, list[str]]:
    """Gene split by chromosome. Default: with >= 3 chromosomes the last is test and the one before it
    val; with 2, the last is test; with 1, every gene trains (held-out individuals remain the test)."""
    chroms = sorted(genes["chrom"].astype(str).unique(), key=_chrom_key)
    if val_chroms is None and test_chroms is None:
        test_chroms = chroms[-1:] if len(chroms) >= 2 else []
        val_chroms = chroms[-2:-1] if len(chroms) >= 3 else []
    val_chroms, test_chroms = list(val_chroms or []), list(test_chroms or [])
    for c in val_chroms + test_chroms:
        if c not in chroms:
            raise VarflowError(f"chromosome '{c}' named in the gene split has no gene (have {', '.join(chroms)})")
    role = {c: "train" for c in chroms}
    role.update({c: "val" for c in val_chroms})
    role.update({c: "test" for c in test_chroms})
    if "train" not in role.values():
        raise VarflowError("the gene split leaves no training chromosome")
    split = genes["chrom"].astype(str).map(role)
    return {name: sorted(genes.loc[split == name, "gene_id"].astype(str)) for name in SPLITS}


def write_splits(splits: dict, path: Path) -> Path:
    with atomic_path(Path(path), suffix=".json") as tmp:
        tmp.write_text(json.dumps(splits, indent=1))
    return Path(path)


def read_splits(path: Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise VarflowError(f"{path}: splits file not found")
    doc = json.loads(path.read_text())
    for key in ("individuals", "genes"):
        if key not in doc or not all(s in doc[key] for s in SPLITS):
            raise VarflowError(f"{path}: expected '{key}' with train/val/test lists")
    return doc
