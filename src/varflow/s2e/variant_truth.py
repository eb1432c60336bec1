"""Variant-effect scores against the simulator's truth: causal vs other variant-gene pairs.

A pair (variant, gene) is causal when the truth table lists it (the variant has a real cis effect
on that gene); every other scored pair is "other", including a causal variant scored in another
gene's window. Pairs are split by class: ``snv`` (REF and ALT of equal length: SNVs and MNVs) and
``indel`` (lengths differ). Per class: AUROC and AUPRC of ``|s2e_ism|`` and ``|s2e_gxi|`` as
detectors of causal pairs, and the share of causal pairs whose ISM has the sign of the true
effect (gradient x input scores the reference base, not the allele, so it has no allele sign).
A class without causal or without other pairs has no AUROC/AUPRC (None, with its counts).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from varflow.eqtl.evaluate import average_precision
from varflow.errors import VarflowError

#: How many of the top |ISM| pairs the indel share is counted over.
TOP_K = 20
CLASSES = ("snv", "indel")


def variant_class(variant_id: pd.Series) -> np.ndarray:
    """(N,) 'snv' | 'indel' from ids ``chrom:pos:ref:alt`` (equal REF/ALT length: 'snv')."""
    parts = variant_id.str.split(":")
    bad = parts.str.len() != 4
    if bad.any():
        raise VarflowError(f"variant id {variant_id[bad].iloc[0]!r} is not chrom:pos:ref:alt")
    return np.where(parts.str[2].str.len() == parts.str[3].str.len(), "snv", "indel").astype(str)


def label_pairs(scores: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Scores (variant_id, gene_id, s2e_ism, s2e_gxi) + ``causal`` (bool), ``effect`` (true effect
    per alt allele, NaN for other pairs) and ``class``; one row per scored pair."""
    effect = truth.groupby(["variant_id", "gene_id"], sort=False)["effect"].sum().rename("effect")
    out = scores.join(effect, on=["variant_id", "gene_id"])
    return out.assign(causal=out["effect"].notna(), **{"class": variant_class(out["variant_id"])})


def auroc(y: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney AUROC of ``score`` (N,) for labels ``y`` (N,) bool, ties counted half; NaN
    without positives or negatives."""
    n_pos, n = int(y.sum()), y.shape[0]
    if n_pos in (0, n):
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (n - n_pos)))


def _finite(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def class_metrics(pairs: pd.DataFrame) -> dict:
    """Counts, AUROC/AUPRC of |ISM| and |gxi|, ISM sign agreement and median |ISM| of one class's pairs."""
    y = pairs["causal"].to_numpy(bool)
    n_causal = int(y.sum())
    out = {"n_causal": n_causal, "n_other": int(y.shape[0] - n_causal),
           "median_ism_abs": _finite(float(np.median(np.abs(pairs["s2e_ism"])))) if len(pairs) else None}
    computable = 0 < n_causal < y.shape[0]
    for name, column in (("ism", "s2e_ism"), ("gxi", "s2e_gxi")):
        s = np.abs(pairs[column].to_numpy(float))
        out[f"auroc_{name}_abs"] = _finite(auroc(y, s)) if computable else None
        out[f"auprc_{name}_abs"] = _finite(average_precision(y, s)) if computable else None
    out["prevalence"] = n_causal / y.shape[0] if computable else None
    causal = pairs[y]
    out["sign_agreement_ism"] = (float((np.sign(causal["s2e_ism"]) == np.sign(causal["effect"])).mean())
                                 if n_causal else None)
    return out


def indel_vs_snv(pairs: pd.DataFrame, top_k: int = TOP_K) -> dict:
    """Comparability of indel and SNV scores: median |ISM| ratio (indel / SNV), indel share of the
    top ``top_k`` pairs by |ISM| and of all pairs (equal shares: the top list is not indel-made)."""
    abs_ism = pairs["s2e_ism"].abs()
    is_indel = pairs["class"].to_numpy() == "indel"
    snv_median = float(abs_ism[~is_indel].median()) if (~is_indel).any() else float("nan")
    ratio = float(abs_ism[is_indel].median()) / snv_median if is_indel.any() and snv_median > 0 else float("nan")
    top = is_indel[np.argsort(-abs_ism.to_numpy(), kind="stable")[:top_k]]
    return {"median_ism_abs_ratio": _finite(ratio), "top_k": top_k,
            "indel_share_top_k": float(top.mean()) if top.size else None,
            "indel_share_all": float(is_indel.mean()) if is_indel.size else None}


def score_against_truth(scores: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """The variant_truth summary: per class (snv, indel, all) metrics, indel/SNV comparability and
    how many truth pairs were scored (a causal variant outside every model window is not)."""
    pairs = label_pairs(scores, truth)
    n_truth = int(truth[["variant_id", "gene_id"]].drop_duplicates().shape[0])
    classes = {c: class_metrics(pairs[pairs["class"] == c]) for c in CLASSES}
    classes["all"] = class_metrics(pairs)
    return {"n_causal_truth": n_truth, "n_causal_scored": classes["all"]["n_causal"],
            "classes": classes, "indel_vs_snv": indel_vs_snv(pairs)}
