"""File-level step functions: what ``varflow eqtl <step>`` and the in-process pipeline both call.

Each reads its input files, calls the pure function of its module and writes typed outputs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from varflow.eqtl.config import EqtlConfig
from varflow.eqtl.contract import FeatureContract
from varflow.eqtl.evaluate import evaluate_dirs
from varflow.eqtl.featurize import featurize_files
from varflow.eqtl.labels import make_labels
from varflow.eqtl.predict import predict_files
from varflow.eqtl.schemas import FEATURES, LABELS
from varflow.eqtl.train import chrom_order, train_loco
from varflow.io.atomic import atomic_path, ensure_writable_dir
from varflow.io.provenance import Provenance
from varflow.io.tables import read_table, write_table

log = logging.getLogger("varflow")

FEATURES_NAME, CONTRACT_NAME, LABELS_NAME, FOLDS_NAME = "features.parquet", "contract.json", "labels.parquet", "folds.txt"


def featurize_step(finemap: Path, genes: Path, config: EqtlConfig, outdir: Path, *,
                   contract: Path | None = None, provenance: Provenance | None = None) -> dict[str, Any]:
    """Write ``features.parquet`` and ``contract.json`` into outdir."""
    feats, con = featurize_files(finemap, genes, config, contract=contract)
    outdir = ensure_writable_dir(Path(outdir))
    write_table(feats, outdir / FEATURES_NAME, FEATURES, provenance)
    con.save(outdir / CONTRACT_NAME)
    log.info("featurize: %d variant-gene pairs x %d features -> %s", len(feats), len(con.columns), outdir)
    return {"n_pairs": len(feats), "n_features": len(con.columns)}


def labels_step(finemap: Path, config: EqtlConfig, outdir: Path, *, seed: int | None = None,
                provenance: Provenance | None = None) -> dict[str, Any]:
    """Write ``labels.parquet`` and ``folds.txt`` (chromosomes with test positives, one per line)."""
    fm = read_table(finemap, "finemap")
    labels = make_labels(fm, config.labels, config.seed if seed is None else seed, where=str(finemap))
    outdir = ensure_writable_dir(Path(outdir))
    write_table(labels, outdir / LABELS_NAME, LABELS, provenance)
    test_pos = labels[(labels["set"] == "test") & (labels["label"] == 1)]
    folds = sorted(test_pos["chrom"].unique(), key=chrom_order)
    with atomic_path(outdir / FOLDS_NAME, suffix=".txt") as tmp:
        tmp.write_text("".join(f"{c}\n" for c in folds))
    counts = labels.groupby(["set", "label"]).size()
    return {"train_positives": int(counts.get(("train", 1), 0)), "train_negatives": int(counts.get(("train", 0), 0)),
            "test_positives": int(counts.get(("test", 1), 0)), "folds": folds}


def train_step(features: Path, contract: Path, labels: Path, config: EqtlConfig, outdir: Path, *,
               chroms: list[str] | None = None, device: str = "cpu", seed: int | None = None,
               provenance: Provenance | None = None) -> dict[str, Any]:
    """Train LOCO folds (all, or ``chroms``) into outdir; see ``varflow.eqtl.train``."""
    if seed is not None:
        config.seed = seed
    feats = read_table(features, FEATURES)
    lab = read_table(labels, LABELS)
    return train_loco(feats, lab, FeatureContract.load(contract), config, outdir, chroms=chroms,
                      device=device, provenance=provenance)


def evaluate_step(train_dirs: list[Path], outdir: Path, *, n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    return evaluate_dirs(train_dirs, outdir, n_boot=n_boot, seed=seed)


def predict_step(features: Path, model_dirs: list[Path], out_prefix: Path, *, kind: str = "weighted",
                 model: Path | None = None, contract: Path | None = None,
                 provenance: Provenance | None = None) -> pd.DataFrame:
    return predict_files(features, model_dirs, out_prefix, kind=kind, model=model, contract=contract,
                         provenance=provenance)
