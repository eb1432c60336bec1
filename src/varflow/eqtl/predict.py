"""Step 5: score featurized variant-gene pairs with the LOCO models.

Each row is scored by the model that held out its chromosome, so no variant is scored by a model that
trained on its chromosome; rows on a chromosome without a fold (skipped, or unseen in training) get the
mean probability of all fold models. ``model`` names one .cbm to score every row with instead.
Writes Parquet (schema eqtl_predictions) and a bgzipped, tabix-indexed TSV
``#CHROM POS ID REF ALT GENE_ID PIP PRED_PROBABILITY`` sorted by chromosome and position.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from varflow.eqtl.contract import FeatureContract
from varflow.eqtl.schemas import FEATURES, PREDICTIONS
from varflow.eqtl.train import chrom_order
from varflow.errors import VarflowError
from varflow.io.atomic import ensure_writable_dir
from varflow.io.provenance import Provenance
from varflow.io.tables import read_table, write_table

log = logging.getLogger("varflow")


def _load_model(path: Path, contract: FeatureContract):
    from catboost import CatBoostClassifier

    model = CatBoostClassifier()
    try:
        model.load_model(str(path))
    except Exception as exc:  # CatBoostError for a corrupt or foreign file
        raise VarflowError(f"{path}: not a CatBoost model ({str(exc).splitlines()[0]})") from None
    if list(model.feature_names_) != list(contract.columns):
        raise VarflowError(f"{path}: the model's feature names differ from the feature contract "
                           f"({len(model.feature_names_)} vs {len(contract.columns)} columns)")
    return model


def fold_models(model_dir: Path, kind: str) -> dict[str, Path]:
    """{held-out chromosome: model path} of one kind (weighted/unweighted) in a train folder."""
    pat = re.compile(rf"^model_(.+)_{kind}\.cbm$")
    return {m.group(1): p for p in sorted(Path(model_dir).glob(f"model_*_{kind}.cbm"))
            if (m := pat.match(p.name))}


def predict(features: pd.DataFrame, contract: FeatureContract, model_dirs: list[Path], *,
            kind: str = "weighted", model: Path | None = None, where: str = "features") -> pd.DataFrame:
    """P(causal) for every row of ``features``; returns a frame in PREDICTIONS schema, sorted."""
    contract.check(features, where)
    X = features[contract.columns].to_numpy(dtype=np.float32)
    chrom = features["chrom"].to_numpy().astype(str)
    prob = np.full(len(features), np.nan)
    used = np.empty(len(features), dtype=object)
    if model is not None:
        prob[:] = _load_model(Path(model), contract).predict_proba(X)[:, 1]
        used[:] = Path(model).name
    else:
        models: dict[str, Path] = {}
        for d in model_dirs:
            models.update(fold_models(d, kind))
        if not models:
            raise VarflowError(f"no model_*_{kind}.cbm in {', '.join(map(str, model_dirs))}")
        loaded = {c: _load_model(p, contract) for c, p in models.items()}
        for c in np.unique(chrom):
            rows = np.flatnonzero(chrom == c)
            if c in loaded:
                prob[rows] = loaded[c].predict_proba(X[rows])[:, 1]
                used[rows] = models[c].name
            else:
                log.info("predict: no fold held out %s; scoring it with the mean of %d fold models", c, len(loaded))
                prob[rows] = np.mean([m.predict_proba(X[rows])[:, 1] for m in loaded.values()], axis=0)
                used[rows] = f"mean_of_{len(loaded)}_{kind}"
    out = pd.DataFrame({"variant_id": features["variant_id"].astype(str), "gene_id": features["gene_id"].astype(str),
                        "chrom": chrom, "pos": features["pos"].astype("int64"), "ref": features["ref"],
                        "alt": features["alt"], "pip": features["pip"].astype(float),
                        "pred_probability": prob, "model": used.astype(str)})
    names = sorted(set(chrom), key=chrom_order)
    rank = pd.Series(np.arange(len(names)), index=names).loc[chrom].to_numpy()
    order = np.lexsort((out["gene_id"].to_numpy(), out["pos"].to_numpy(), rank))
    return out.iloc[order].reset_index(drop=True)


def write_tabix(pred: pd.DataFrame, path: Path) -> Path:
    """Write ``#CHROM POS ID REF ALT GENE_ID PIP PRED_PROBABILITY`` as bgzip + .tbi (path ends .tsv.gz)."""
    import pysam

    path = Path(path)
    tsv = pd.DataFrame({"#CHROM": pred["chrom"], "POS": pred["pos"], "ID": pred["variant_id"],
                        "REF": pred["ref"], "ALT": pred["alt"], "GENE_ID": pred["gene_id"],
                        "PIP": pred["pip"].map(lambda v: "." if np.isnan(v) else f"{v:.6g}"),
                        "PRED_PROBABILITY": pred["pred_probability"].map(lambda v: f"{v:.6g}")})
    ensure_writable_dir(path.parent)
    with tempfile.TemporaryDirectory(prefix=f".{path.name}.", dir=path.parent) as tmp:
        plain, gz = Path(tmp) / "p.tsv", Path(tmp) / "p.tsv.gz"
        tsv.to_csv(plain, sep="\t", index=False)
        pysam.tabix_compress(str(plain), str(gz), force=True)
        pysam.tabix_index(str(gz), seq_col=0, start_col=1, end_col=1, meta_char="#", force=True,
                          zerobased=False)
        os.replace(str(gz) + ".tbi", str(path) + ".tbi")
        os.replace(gz, path)
    return path


def predict_files(features: Path, model_dirs: list[Path], out_prefix: Path, *, kind: str = "weighted",
                  model: Path | None = None, contract: Path | None = None,
                  provenance: Provenance | None = None) -> pd.DataFrame:
    """``predict`` on files; writes ``<prefix>.parquet`` and ``<prefix>.tsv.gz`` (+ .tbi)."""
    if kind not in ("weighted", "unweighted"):
        raise VarflowError(f"--kind must be weighted or unweighted, got {kind!r}")
    if contract is None:
        if not model_dirs:
            raise VarflowError("give --models (a train folder) or --contract with --model")
        contract = Path(model_dirs[0]) / "contract.json"
    feats = read_table(features, FEATURES)
    pred = predict(feats, FeatureContract.load(contract), model_dirs, kind=kind, model=model, where=str(features))
    out_prefix = Path(out_prefix)
    write_table(pred, out_prefix.with_name(out_prefix.name + ".parquet"), PREDICTIONS, provenance)
    write_tabix(pred, out_prefix.with_name(out_prefix.name + ".tsv.gz"))
    return pred
