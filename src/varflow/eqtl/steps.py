"""File-level step functions: what ``varflow eqtl <step>`` and the in-process pipeline both call.

Each reads its input files, calls the pure function of its module and writes typed outputs.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from varflow.eqtl.config import EqtlConfig
from varflow.eqtl.contract import FeatureContract
from varflow.eqtl.evaluate import evaluate_dirs
from varflow.eqtl.featurize import featurize_files
from varflow.eqtl.labels import make_labels, negatives_summary
from varflow.eqtl.predict import predict_files
from varflow.eqtl.schemas import FEATURES, LABELS
from varflow.eqtl.search import SEARCHED_MARKER, WeightSearch, compare_weightings, read_searched_weights
from varflow.eqtl.train import MODEL_KINDS, chrom_order, fold_plan, join_training_data, train_loco
from varflow.errors import VarflowError
from varflow.io.atomic import atomic_path, ensure_writable_dir
from varflow.io.finemap import read_finemap
from varflow.io.provenance import Provenance
from varflow.io.tables import read_table, write_table

log = logging.getLogger("varflow")

FEATURES_NAME, CONTRACT_NAME, LABELS_NAME, FOLDS_NAME = "features.parquet", "contract.json", "labels.parquet", "folds.txt"
NEGATIVES_NAME = "negatives.json"


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
    """Write ``labels.parquet``, ``folds.txt`` (chromosomes with test positives, one per line) and
    ``negatives.json`` (``labels.negatives_summary``: each gene's candidate negatives and the genes with
    fewer than ``npr``)."""
    fm = read_finemap(finemap)
    labels = make_labels(fm, config.labels, config.seed if seed is None else seed, where=str(finemap))
    negatives = negatives_summary(fm, config.labels, where=str(finemap))
    outdir = ensure_writable_dir(Path(outdir))
    write_table(labels, outdir / LABELS_NAME, LABELS, provenance)
    _write_json(outdir / NEGATIVES_NAME, negatives)
    test_pos = labels[(labels["set"] == "test") & (labels["label"] == 1)]
    folds = sorted(test_pos["chrom"].unique(), key=chrom_order)
    with atomic_path(outdir / FOLDS_NAME, suffix=".txt") as tmp:
        tmp.write_text("".join(f"{c}\n" for c in folds))
    counts = labels.groupby(["set", "label"]).size()
    return {"train_positives": int(counts.get(("train", 1), 0)), "train_negatives": int(counts.get(("train", 0), 0)),
            "test_positives": int(counts.get(("test", 1), 0)), "folds": folds,
            "genes": len(negatives["candidate_negatives"]),
            "genes_with_too_few_negatives": len(negatives["genes_with_too_few_negatives"])}


def train_step(features: Path, contract: Path, labels: Path, config: EqtlConfig, outdir: Path, *,
               chroms: list[str] | None = None, device: str = "cpu", seed: int | None = None,
               weights: Path | None = None, provenance: Provenance | None = None) -> dict[str, Any]:
    """Train LOCO folds (all, or ``chroms``) into outdir; see ``varflow.eqtl.train``.

    ``weights``: a ``search`` result (or a ``{category: weight}`` JSON) whose per-category weights
    replace the config's fixed ones for the weighted model; it is copied into outdir as
    ``searched_weights.json``, which marks the folder's models as searched ones for ``evaluate``. A
    search result belongs to one held-out chromosome and trains only that fold, and only its weighted
    model (the unweighted one does not depend on weights: ``evaluate`` takes it from the fixed-weight
    folders; here prob_unweighted is NaN).
    """
    if seed is not None:
        config.seed = seed
    if weights is not None:
        searched = read_searched_weights(weights)
        if searched["heldout"] is not None and list(chroms or []) != [searched["heldout"]]:
            raise VarflowError(f"{weights}: weights searched for fold {searched['heldout']} train only that "
                               f"fold (--chrom {searched['heldout']}), got {chroms or 'all folds'}")
        config = replace(config, category_weights={**config.category_weights, **searched["weights"]})
    feats = read_table(features, FEATURES)
    lab = read_table(labels, LABELS)
    res = train_loco(feats, lab, FeatureContract.load(contract), config, outdir, chroms=chroms,
                     device=device, provenance=provenance,
                     kinds=MODEL_KINDS if weights is None else ("weighted",))
    if weights is not None:
        _write_json(Path(outdir) / SEARCHED_MARKER, searched)
    return res


def search_step(features: Path, contract: Path, labels: Path, config: EqtlConfig, outdir: Path, *,
                chroms: list[str] | None = None, seed: int | None = None) -> dict[str, Any]:
    """Search per-category weights for LOCO folds (all, or ``chroms``) on each fold's training chromosomes;
    writes ``weights_<chrom>.json`` per fold (see ``varflow.eqtl.search``)."""
    if seed is not None:
        config.seed = seed
    con = FeatureContract.load(contract)
    data = join_training_data(read_table(features, FEATURES), read_table(labels, LABELS), con)
    run, skipped = fold_plan(data, chroms)
    outdir = ensure_writable_dir(Path(outdir))
    search = WeightSearch(config, con)
    chosen = {}
    for chrom in run:
        doc = search.run(data, chrom)
        _write_json(outdir / f"weights_{chrom}.json", doc)
        chosen[chrom] = doc["weights"]
        log.info("search: fold %s: %d trials, chosen trial %s %s", chrom, len(doc["trials"]),
                 doc["chosen_trial"], {c: round(w, 2) for c, w in doc["weights"].items()})
    return {"folds": run, "skipped": skipped, "weights": chosen}


def evaluate_step(train_dirs: list[Path], outdir: Path, *, n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Evaluate the fixed-weight folds; folders trained with ``--weights`` (marked by
    ``searched_weights.json``) join as the searched model: ``weight_comparison.json`` then holds
    unweighted, fixed and searched side by side with paired bootstrap CIs (key ``weight_comparison``)."""
    searched = [Path(d) for d in train_dirs if (Path(d) / SEARCHED_MARKER).is_file()]
    fixed = [Path(d) for d in train_dirs if Path(d) not in searched]
    report = evaluate_dirs(fixed, outdir, n_boot=n_boot, seed=seed)
    if searched:
        report["weight_comparison"] = compare_weightings(fixed, searched, n_boot=n_boot, seed=seed)
        _write_json(Path(outdir) / "weight_comparison.json", report["weight_comparison"])
    return report


def predict_step(features: Path, model_dirs: list[Path], out_prefix: Path, *, kind: str = "weighted",
                 model: Path | None = None, contract: Path | None = None,
                 provenance: Provenance | None = None) -> pd.DataFrame:
    return predict_files(features, model_dirs, out_prefix, kind=kind, model=model, contract=contract,
                         provenance=provenance)


def _write_json(path: Path, doc: Any) -> None:
    with atomic_path(path, suffix=".json") as tmp:
        tmp.write_text(json.dumps(doc, indent=1, default=float))
