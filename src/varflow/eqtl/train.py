"""Step 3: leave-one-chromosome-out (LOCO) CatBoost training.

For each held-out chromosome c: fit on the train set of every other chromosome, score c's test set.
Two models per fold: *weighted* (CatBoost ``feature_weights`` from the config's category weights, e.g.
deep-learning features x10) and *unweighted* (all feature weights 1), both with the PIP-based sample
weights. The training Pool is built and quantised once (float32, ``border_count`` borders per feature);
each fold is a row slice of it, so no fold re-parses or re-quantises the data.

``catboost.early_stopping_rounds`` (off in the published recipe) holds out one more chromosome of the
fold's training set, the first one after the held-out chromosome in genome order, as a validation set:
trees are added until its weighted Logloss has not improved for that many rounds and the model keeps
the best iteration. It changes the model (fewer training rows, fewer trees); see docs/eqtl.md for the
measured speed and AUPRC.

Outputs per fold in ``outdir``: ``model_<c>_weighted.cbm``, ``model_<c>_unweighted.cbm``,
``heldout_<c>.parquet`` (schema eqtl_heldout_predictions), ``importance_<c>.parquet``,
``fold_<c>.json``; plus ``contract.json`` (the feature contract every model expects).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from varflow.eqtl.config import EqtlConfig
from varflow.eqtl.contract import FeatureContract
from varflow.eqtl.labels import balanced_weights
from varflow.eqtl.schemas import HELDOUT
from varflow.errors import VarflowError
from varflow.io.atomic import atomic_path, ensure_writable_dir
from varflow.io.provenance import Provenance
from varflow.io.tables import write_table

log = logging.getLogger("varflow")

MODEL_KINDS = ("weighted", "unweighted")


@dataclass
class TrainingData:
    """Labelled rows joined to their features. X: (N, F) float32 in contract column order."""

    X: np.ndarray
    y: np.ndarray          # (N,) int 0/1
    pip: np.ndarray        # (N,) float
    chrom: np.ndarray      # (N,) str
    is_train: np.ndarray   # (N,) bool: train set (else test set)
    keys: pd.DataFrame     # variant_id, gene_id, chrom, label, pip, is_SNP, abs_distance_TSS_log


def join_training_data(features: pd.DataFrame, labels: pd.DataFrame, contract: FeatureContract) -> TrainingData:
    """Attach feature rows to label rows (a negative drawn twice appears twice)."""
    contract.check(features, "features")
    if features.duplicated(["variant_id", "gene_id"]).any():
        raise VarflowError("features: duplicate variant-gene rows; re-run featurize")
    idx = pd.Series(np.arange(len(features)),
                    index=pd.MultiIndex.from_frame(features[["variant_id", "gene_id"]]))
    pos = idx.reindex(pd.MultiIndex.from_frame(labels[["variant_id", "gene_id"]])).to_numpy()
    if np.isnan(pos).any():
        i = int(np.flatnonzero(np.isnan(pos))[0])
        raise VarflowError(f"labels: row {i}: {labels['variant_id'].iloc[i]} / {labels['gene_id'].iloc[i]} "
                           "has no features (featurize the same fine-mapping table)")
    rows = pos.astype(np.int64)
    X = features[contract.columns].to_numpy(dtype=np.float32)[rows]
    keys = labels[["variant_id", "gene_id", "chrom", "label", "pip"]].reset_index(drop=True).copy()
    keys["is_SNP"] = features["is_SNP"].to_numpy(dtype=float)[rows]
    keys["abs_distance_TSS_log"] = features["abs_distance_TSS_log"].to_numpy(dtype=float)[rows]
    return TrainingData(X=X, y=labels["label"].to_numpy(dtype=np.int64), pip=labels["pip"].to_numpy(dtype=float),
                        chrom=labels["chrom"].to_numpy().astype(str),
                        is_train=(labels["set"] == "train").to_numpy(), keys=keys)


def fold_plan(data: TrainingData, chroms: list[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """Chromosomes to hold out, and {chrom: reason} for those skipped (no test positives, one class)."""
    all_chroms = sorted(set(data.chrom), key=chrom_order)
    if len(all_chroms) < 2:
        raise VarflowError(f"LOCO needs labelled variants on at least 2 chromosomes, found {all_chroms}")
    wanted = all_chroms if chroms is None else list(chroms)
    unknown = [c for c in wanted if c not in all_chroms]
    if unknown:
        raise VarflowError(f"--chrom {', '.join(unknown)}: no labelled variants there (have {', '.join(all_chroms)})")
    run, skipped = [], {}
    for c in wanted:
        test = ~data.is_train & (data.chrom == c)
        train = data.is_train & (data.chrom != c)
        if not (data.y[test] == 1).any():
            skipped[c] = "no test positives"
        elif len(np.unique(data.y[train])) < 2:
            skipped[c] = "the other chromosomes' train set lacks positives or negatives"
        else:
            run.append(c)
    for c, why in skipped.items():
        log.warning("train: fold %s skipped: %s", c, why)
    return run, skipped


def chrom_order(c: str) -> tuple[int, str]:
    """Sort key: chr1 < chr2 < ... < chr10 < chrX (numeric chromosomes first, by number)."""
    bare = c[3:] if c.lower().startswith("chr") else c
    return (int(bare), "") if bare.isdigit() else (10**6, bare)


def catboost_params(config: EqtlConfig, *, quantised: bool) -> dict[str, Any]:
    params = dict(config.catboost)
    params.update(random_seed=config.seed, allow_writing_files=False, verbose=0)
    if quantised:
        params.pop("border_count", None)  # borders are fixed by the quantised pool
    return params


class LocoTrainer:
    """Fits the LOCO folds of one training set; the quantised Pool is built once and sliced per fold."""

    def __init__(self, config: EqtlConfig, contract: FeatureContract, device: str = "cpu"):
        self.config = config
        self.contract = contract
        self.device = device

    def build_pool(self, data: TrainingData):
        """The train-set rows as one quantised CatBoost Pool (float32, border_count borders) + their row indices."""
        from catboost import Pool

        rows = np.flatnonzero(data.is_train)
        pool = Pool(data.X[rows], label=data.y[rows], feature_names=list(self.contract.columns))
        pool.quantize(border_count=int(self.config.catboost.get("border_count", 254)))
        return pool, rows

    def fit_fold(self, data: TrainingData, pool, pool_rows: np.ndarray, chrom: str) -> dict[str, Any]:
        """Fit both models with ``chrom`` held out; returns models, held-out predictions, importance."""
        from catboost import CatBoostClassifier, Pool

        local = np.flatnonzero(data.chrom[pool_rows] != chrom)   # positions inside the train pool
        stop_rounds = self.config.catboost.get("early_stopping_rounds")
        inner = inner_validation_chrom(data.chrom[pool_rows[local]], chrom) if stop_rounds else None
        eval_pool = None
        if inner is not None:
            is_inner = data.chrom[pool_rows[local]] == inner
            eval_pool = self._weighted_slice(data, pool, pool_rows, local[is_inner])
            local = local[~is_inner]
        rows = pool_rows[local]
        fold_pool = self._weighted_slice(data, pool, pool_rows, local)
        test_rows = np.flatnonzero(~data.is_train & (data.chrom == chrom))
        test_pool = Pool(data.X[test_rows], feature_names=list(self.contract.columns))
        models, probs, importance = {}, {}, {}
        for kind in MODEL_KINDS:
            params = catboost_params(self.config, quantised=True)
            if kind == "weighted":
                # a list in contract order: a dict is stored in the .cbm in a form CatBoost cannot re-parse
                weights = self.contract.category_weights(self.config.category_weights)
                params["feature_weights"] = [weights[c] for c in self.contract.columns]
            train_pool = fold_pool
            if self.device == "cuda" and kind == "unweighted":
                # feature_weights is CPU-only, so only the unweighted model can use the GPU
                params.update(task_type="GPU", devices="0")
                params.pop("thread_count", None)
                train_pool = Pool(data.X[rows], label=data.y[rows], weight=fold_pool.get_weight(),
                                  feature_names=list(self.contract.columns))
                params["border_count"] = int(self.config.catboost.get("border_count", 254))
            model = CatBoostClassifier(**params)
            model.fit(train_pool, eval_set=eval_pool)
            models[kind] = model
            probs[kind] = model.predict_proba(test_pool)[:, 1]
            importance[kind] = model.get_feature_importance(type="PredictionValuesChange")
        heldout = data.keys.iloc[test_rows].reset_index(drop=True).copy()
        heldout["prob_weighted"] = probs["weighted"]
        heldout["prob_unweighted"] = probs["unweighted"]
        imp = pd.DataFrame({"feature": self.contract.columns,
                            "category": [self.contract.categories[c] for c in self.contract.columns],
                            "importance_weighted": importance["weighted"],
                            "importance_unweighted": importance["unweighted"], "fold": chrom})
        info = {"heldout": chrom, "n_train": int(rows.size), "n_train_pos": int(data.y[rows].sum()),
                "n_test": int(test_rows.size), "n_test_pos": int(data.y[test_rows].sum()),
                "train_chroms": sorted(set(data.chrom[rows]), key=chrom_order), "device": self.device,
                "validation_chrom": inner, "trees": {k: int(m.tree_count_) for k, m in models.items()}}
        return {"models": models, "heldout": heldout, "importance": imp, "info": info}


    @staticmethod
    def _weighted_slice(data: TrainingData, pool, pool_rows: np.ndarray, local: np.ndarray):
        """Rows ``local`` of the quantised pool, their sample weights re-balanced within the slice so
        that both classes still carry equal weight."""
        part = pool.slice(local)
        part.set_weight(balanced_weights(data.y[pool_rows[local]], data.pip[pool_rows[local]]))
        return part


def inner_validation_chrom(train_chroms: np.ndarray, heldout: str) -> str | None:
    """The early-stopping validation chromosome of a fold: the first training chromosome after
    ``heldout`` in genome order (wrapping around); None when fewer than two training chromosomes."""
    present = sorted(set(train_chroms.tolist()), key=chrom_order)
    if len(present) < 2:
        return None
    after = [c for c in present if chrom_order(c) > chrom_order(heldout)]
    return after[0] if after else present[0]


def train_loco(features: pd.DataFrame, labels: pd.DataFrame, contract: FeatureContract, config: EqtlConfig,
               outdir: Path, *, chroms: list[str] | None = None, device: str = "cpu",
               provenance: Provenance | None = None) -> dict[str, Any]:
    """Train the LOCO folds (all, or those in ``chroms``) and write their files into ``outdir``.

    Returns {"folds": [chrom...], "skipped": {chrom: reason}}.
    """
    if device == "cuda" and config.catboost.get("early_stopping_rounds"):
        raise VarflowError("catboost.early_stopping_rounds is CPU-only here: the GPU model would need its "
                           "validation rows quantised on borders of its own; drop it or use --device cpu")
    if device == "cuda":
        log.warning("train --device cuda: weighted models stay on the CPU (CatBoost feature_weights is "
                    "CPU-only); unweighted models train on the GPU, which CatBoost does not make bit-for-bit "
                    "reproducible, and GPU borders are computed from each fold's own rows")
    data = join_training_data(features, labels, contract)
    run, skipped = fold_plan(data, chroms)
    outdir = ensure_writable_dir(Path(outdir))
    contract.save(outdir / "contract.json")
    if not run:
        _write_json(outdir / "skipped.json", skipped)
        return {"folds": [], "skipped": skipped}
    trainer = LocoTrainer(config, contract, device)
    pool, pool_rows = trainer.build_pool(data)
    for chrom in run:
        res = trainer.fit_fold(data, pool, pool_rows, chrom)
        for kind, model in res["models"].items():
            with atomic_path(outdir / f"model_{chrom}_{kind}.cbm", suffix=".cbm") as tmp:
                model.save_model(str(tmp))
        write_table(res["heldout"], outdir / f"heldout_{chrom}.parquet", HELDOUT, provenance)
        write_table(res["importance"], outdir / f"importance_{chrom}.parquet", None, provenance)
        _write_json(outdir / f"fold_{chrom}.json", res["info"])
        log.info("train: fold %s done (%d train rows, %d test rows)", chrom, res["info"]["n_train"],
                 res["info"]["n_test"])
    if skipped:
        _write_json(outdir / "skipped.json", skipped)
    return {"folds": run, "skipped": skipped}


def _write_json(path: Path, doc: Any) -> None:
    with atomic_path(path, suffix=".json") as tmp:
        tmp.write_text(json.dumps(doc, indent=1))
