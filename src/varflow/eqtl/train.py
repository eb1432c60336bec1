"""Step 3: leave-one-chromosome-out (LOCO) CatBoost training.

For each held-out chromosome c: fit on the train set of every other chromosome, score c's test set.
Two models per fold: *weighted* (CatBoost ``feature_weights`` from the config's category weights, e.g.
deep-learning features x10) and *unweighted* (all feature weights 1), both with the PIP-based sample
weights. Each fold quantises its own training rows (float32, ``border_count`` borders per feature) and
shares that Pool between its two models: the held-out chromosome's rows, labelled or not, never shape a
fold's borders, so a fold's models are the same whether or not those rows are in the input tables.

``catboost.early_stopping_rounds`` (off in the published recipe) holds out one more chromosome of the
fold's training set, the first one after the held-out chromosome in genome order, as a validation set:
trees are added until its weighted Logloss has not improved for that many rounds and the model keeps
the best iteration. It changes the model (fewer training rows, fewer trees); see docs/eqtl.md for the
measured speed and AUPRC.

Outputs per fold in ``outdir``: ``model_<c>_weighted.cbm``, ``model_<c>_unweighted.cbm``,
``heldout_<c>.parquet`` (schema eqtl_heldout_predictions), ``importance_<c>.parquet``
(PredictionValuesChange per feature), ``shap_<c>.parquet`` (CatBoost SHAP of the held-out rows summed per
feature category, see ``shap_by_category``), ``fold_<c>.json``; plus ``contract.json`` (the feature contract every model expects).
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
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


@dataclass(frozen=True)
class FoldRows:
    """Row indices into ``TrainingData`` of one LOCO fold.

    fit: (M,) train-set rows the models learn from (and the only rows that shape the borders);
    validation: (V,) early-stopping rows of ``validation_chrom`` (V = 0 without early stopping);
    test: (T,) test-set rows of the held-out chromosome ``chrom``.
    """

    chrom: str
    fit: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    validation_chrom: str | None


def fold_rows(data: TrainingData, chrom: str, *, early_stopping: bool) -> FoldRows:
    """Split ``data`` for the fold holding out ``chrom``; with ``early_stopping`` the next training
    chromosome (``inner_validation_chrom``) becomes the validation set."""
    train = np.flatnonzero(data.is_train & (data.chrom != chrom))
    inner = inner_validation_chrom(data.chrom[train], chrom) if early_stopping else None
    is_inner = (data.chrom[train] == inner) if inner is not None else np.zeros(train.size, dtype=bool)
    test = np.flatnonzero(~data.is_train & (data.chrom == chrom))
    return FoldRows(chrom=chrom, fit=train[~is_inner], validation=train[is_inner], test=test,
                    validation_chrom=inner)


def shap_by_category(shap: np.ndarray, categories: list[str]) -> pd.DataFrame:
    """Per-category SHAP of T rows. shap: (T, F + 1) CatBoost ``ShapValues`` (expected value last);
    categories: (F,) the category of each feature column.

    Returns one row per category (sorted): ``mean_abs_shap`` = mean over rows of sum_{f in category}
    |phi_f| and ``mean_shap`` = mean over rows of sum_{f in category} phi_f (log-odds units).
    """
    phi = pd.DataFrame(shap[:, :-1].T, index=pd.Index(categories, name="category"))   # (F, T)
    return pd.DataFrame({"mean_abs_shap": phi.abs().groupby(level=0).sum().mean(axis=1),
                         "mean_shap": phi.groupby(level=0).sum().mean(axis=1)}).reset_index()


class LocoTrainer:
    """Fits the LOCO folds of one training set. Each fold quantises its own training rows, so nothing
    of the held-out chromosome (not even its unlabelled feature values) shapes a fold's model."""

    def __init__(self, config: EqtlConfig, contract: FeatureContract, device: str = "cpu",
                 kinds: tuple[str, ...] = MODEL_KINDS):
        unknown = set(kinds) - set(MODEL_KINDS)
        if not kinds or unknown:
            raise ValueError(f"model kinds must be a non-empty subset of {MODEL_KINDS}, got {kinds}")
        self.config = config
        self.contract = contract
        self.device = device
        self.kinds = tuple(kinds)

    def fold_pools(self, data: TrainingData, rows: FoldRows):
        """The fold's fit Pool quantised on ``border_count`` borders per feature computed from ``rows.fit``
        alone, and its validation Pool (None without validation rows) quantised on the same borders."""
        fit = self._labelled_pool(data, rows.fit)
        fit.quantize(border_count=int(self.config.catboost["border_count"]))
        if rows.validation.size == 0:
            return fit, None
        validation = self._labelled_pool(data, rows.validation)
        with tempfile.TemporaryDirectory(prefix="varflow_borders_") as tmp:
            borders = str(Path(tmp) / "borders.tsv")
            fit.save_quantization_borders(borders)
            validation.quantize(input_borders=borders)
        return fit, validation

    def fit_fold(self, data: TrainingData, chrom: str) -> dict[str, Any]:
        """Fit the models (``kinds``) with ``chrom`` held out; returns models, held-out predictions (NaN
        prob_<kind> for a kind not fitted), importance, per-category SHAP of the held-out rows and the
        fold's info."""
        from catboost import Pool

        rows = fold_rows(data, chrom, early_stopping=bool(self.config.catboost.get("early_stopping_rounds")))
        fit_pool, eval_pool = self.fold_pools(data, rows)
        test_pool = Pool(data.X[rows.test], feature_names=list(self.contract.columns))
        models = {kind: self._fit_model(kind, data, rows, fit_pool, eval_pool) for kind in self.kinds}
        heldout = data.keys.iloc[rows.test].reset_index(drop=True).copy()
        for kind in MODEL_KINDS:
            heldout[f"prob_{kind}"] = models[kind].predict_proba(test_pool)[:, 1] if kind in models else np.nan
        categories = [self.contract.categories[c] for c in self.contract.columns]
        imp = pd.DataFrame({"feature": self.contract.columns, "category": categories,
                            **{f"importance_{kind}": m.get_feature_importance(type="PredictionValuesChange")
                               for kind, m in models.items()}, "fold": chrom})
        shap = self._heldout_shap(models, test_pool, categories)
        info = {"heldout": chrom, "n_train": int(rows.fit.size), "n_train_pos": int(data.y[rows.fit].sum()),
                "n_test": int(rows.test.size), "n_test_pos": int(data.y[rows.test].sum()),
                "train_chroms": sorted(set(data.chrom[rows.fit]), key=chrom_order), "device": self.device,
                "validation_chrom": rows.validation_chrom,
                "trees": {k: int(m.tree_count_) for k, m in models.items()}}
        return {"models": models, "heldout": heldout, "importance": imp, "shap": shap.assign(fold=chrom),
                "info": info}

    def _fit_model(self, kind: str, data: TrainingData, rows: FoldRows, fit_pool, eval_pool):
        """One fold model: ``weighted`` carries the category feature weights, ``unweighted`` none."""
        from catboost import CatBoostClassifier

        params = catboost_params(self.config, quantised=True)
        if kind == "weighted":
            # a list in contract order: a dict is stored in the .cbm in a form CatBoost cannot re-parse
            weights = self.contract.category_weights(self.config.category_weights)
            params["feature_weights"] = [weights[c] for c in self.contract.columns]
        train_pool = fit_pool
        if self.device == "cuda" and kind == "unweighted":
            # feature_weights is CPU-only, so only the unweighted model can use the GPU; it quantises the
            # same fit rows itself
            params.update(task_type="GPU", devices="0", border_count=int(self.config.catboost["border_count"]))
            params.pop("thread_count", None)
            train_pool = self._labelled_pool(data, rows.fit)
        model = CatBoostClassifier(**params)
        model.fit(train_pool, eval_set=eval_pool)
        return model

    @staticmethod
    def _heldout_shap(models: dict[str, Any], test_pool, categories: list[str]) -> pd.DataFrame:
        """Per-category SHAP of the held-out rows for every model kind: columns category, n_rows,
        mean_abs_shap_<kind>, mean_shap_<kind> (see ``shap_by_category``)."""
        tables = [shap_by_category(m.get_feature_importance(test_pool, type="ShapValues"), categories)
                  .set_index("category").add_suffix(f"_{kind}") for kind, m in models.items()]
        return pd.concat(tables, axis=1).reset_index().assign(n_rows=test_pool.num_row())

    def _labelled_pool(self, data: TrainingData, rows: np.ndarray):
        """Float32 Pool of ``rows`` with labels and sample weights re-balanced within these rows, so that
        both classes carry equal weight in every fold."""
        from catboost import Pool

        return Pool(data.X[rows], label=data.y[rows], weight=balanced_weights(data.y[rows], data.pip[rows]),
                    feature_names=list(self.contract.columns))


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
               provenance: Provenance | None = None, kinds: tuple[str, ...] = MODEL_KINDS) -> dict[str, Any]:
    """Train the LOCO folds (all, or those in ``chroms``) and write their files into ``outdir``; ``kinds``
    the models fitted per fold (``MODEL_KINDS``, or a subset).

    Returns {"folds": [chrom...], "skipped": {chrom: reason}}.
    """
    if device == "cuda" and config.catboost.get("early_stopping_rounds"):
        raise VarflowError("catboost.early_stopping_rounds is CPU-only here: the GPU model would need its "
                           "validation rows quantised on borders of its own; drop it or use --device cpu")
    if device == "cuda":
        log.warning("train --device cuda: weighted models stay on the CPU (CatBoost feature_weights is "
                    "CPU-only); unweighted models train on the GPU, which CatBoost does not make bit-for-bit "
                    "reproducible, and quantise each fold's training rows on borders of their own")
    data = join_training_data(features, labels, contract)
    run, skipped = fold_plan(data, chroms)
    outdir = ensure_writable_dir(Path(outdir))
    contract.save(outdir / "contract.json")
    if not run:
        _write_json(outdir / "skipped.json", skipped)
        return {"folds": [], "skipped": skipped}
    trainer = LocoTrainer(config, contract, device, kinds)
    for chrom in run:
        start = time.perf_counter()
        res = trainer.fit_fold(data, chrom)
        for kind, model in res["models"].items():
            with atomic_path(outdir / f"model_{chrom}_{kind}.cbm", suffix=".cbm") as tmp:
                model.save_model(str(tmp))
        write_table(res["heldout"], outdir / f"heldout_{chrom}.parquet", HELDOUT, provenance)
        write_table(res["importance"], outdir / f"importance_{chrom}.parquet", None, provenance)
        write_table(res["shap"], outdir / f"shap_{chrom}.parquet", None, provenance)
        _write_json(outdir / f"fold_{chrom}.json", res["info"])
        log.info("train: fold %s done in %.1f s (%d train rows, %d test rows)", chrom,
                 time.perf_counter() - start, res["info"]["n_train"], res["info"]["n_test"])
    if skipped:
        _write_json(outdir / "skipped.json", skipped)
    return {"folds": run, "skipped": skipped}


def _write_json(path: Path, doc: Any) -> None:
    with atomic_path(path, suffix=".json") as tmp:
        tmp.write_text(json.dumps(doc, indent=1))
