"""Step 2: training and test examples from fine-mapping PIPs.

Train positives: pip > ``train_cs_min_pip`` inside a credible set whose top PIP > ``train_cs_top_pip``,
or pip > ``train_single_pip`` outside any credible set. Test positives: pip >= ``test_pip``.
Negatives: ``npr`` per positive from the same gene with pip < ``negative_max_pip`` and the same variant
type (SNV / insertion / deletion / MNV); drawn without replacement when the pool is large enough, with
replacement (and a warning) otherwise. A positive whose gene has no negative of its type is dropped
(with a warning), so every positive keeps its matched negatives. Weights: negatives 1, positive i
pip_i * N_neg / sum(pip_pos), so both classes carry the same total weight.
:func:`negatives_summary` counts each gene's candidate negatives and names the genes with fewer than
``npr`` (their positives get negatives drawn with replacement, or none at all).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from varflow.eqtl.variants import clean_finemap, variant_type

log = logging.getLogger("varflow")


def balanced_weights(label: np.ndarray, pip: np.ndarray) -> np.ndarray:
    """(N,) sample weights: 1 for negatives, pip_i * N_neg / sum(pip over positives) for positives."""
    label = np.asarray(label).astype(bool)
    pip = np.asarray(pip, dtype=float)
    weight = np.ones(len(label))
    total = pip[label].sum()
    if label.any() and total > 0:
        weight[label] = pip[label] * (~label).sum() / total
    return weight


def positive_masks(pairs: pd.DataFrame, rules: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (N,) masks of train and test positives for a cleaned fine-mapping table."""
    pip = pairs["pip"].to_numpy(dtype=float)
    cs = pairs["cs"].to_numpy()
    in_cs = cs > 0
    top = pairs.loc[in_cs].groupby(["gene_id", "cs"])["pip"].transform("max")
    top_pip = np.zeros(len(pairs))
    top_pip[np.flatnonzero(in_cs)] = top.to_numpy()
    train = ((in_cs & (pip > rules["train_cs_min_pip"]) & (top_pip > rules["train_cs_top_pip"]))
             | (~in_cs & (pip > rules["train_single_pip"])))
    test = pip >= rules["test_pip"]
    return train, test


def _draw_negatives(pairs: pd.DataFrame, vtype: np.ndarray, positive: np.ndarray, pool: np.ndarray,
                    npr: int, rng: np.random.Generator, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of kept positives and of drawn negatives (one entry per draw)."""
    frame = pd.DataFrame({"gene": pairs["gene_id"].to_numpy(), "vtype": vtype})
    pos_groups = frame[positive].groupby(["gene", "vtype"], sort=True).indices
    pool_groups = frame[pool].groupby(["gene", "vtype"], sort=True).indices
    pos_rows, pool_rows = np.flatnonzero(positive), np.flatnonzero(pool)
    kept, negatives = [], []
    n_replace = n_dropped = 0
    for key in sorted(pos_groups):
        members = pos_rows[pos_groups[key]]
        candidates = pool_rows[pool_groups[key]] if key in pool_groups else np.empty(0, dtype=np.int64)
        if candidates.size == 0:
            n_dropped += members.size
            continue
        need = npr * members.size
        replace = candidates.size < need
        n_replace += int(replace)
        negatives.append(rng.choice(candidates, size=need, replace=replace))
        kept.append(members)
    if n_dropped:
        log.warning("labels (%s): %d positive(s) dropped: no negative of the same variant type in their gene",
                    name, n_dropped)
    if n_replace:
        log.warning("labels (%s): %d gene/type group(s) had fewer than npr x positives negatives; "
                    "drew them with replacement", name, n_replace)
    cat = (lambda parts: np.concatenate(parts) if parts else np.empty(0, dtype=np.int64))
    return cat(kept), cat(negatives)


def negatives_summary(finemap: pd.DataFrame, rules: dict[str, Any], where: str = "finemap") -> dict[str, Any]:
    """Candidate negatives (pip < ``negative_max_pip``, any variant type) per gene and the genes with too few.

    Returns {"min_negatives": npr, "candidate_negatives": {gene_id: count} for every gene,
    "genes_with_too_few_negatives": sorted gene ids with count < npr}. Logs one warning naming them.
    """
    pairs = clean_finemap(finemap, where)
    pool = pairs["pip"].to_numpy(dtype=float) < rules["negative_max_pip"]
    counts = pd.Series(pool, index=pairs["gene_id"].to_numpy()).groupby(level=0, sort=True).sum()
    too_few = sorted(str(g) for g in counts.index[counts.to_numpy() < rules["npr"]])
    if too_few:
        shown = ", ".join(too_few[:20]) + (f", ... ({len(too_few) - 20} more)" if len(too_few) > 20 else "")
        log.warning("labels: %d of %d gene(s) have fewer than %d variants with pip < %g (candidate negatives): %s",
                    len(too_few), len(counts), rules["npr"], rules["negative_max_pip"], shown)
    return {"min_negatives": int(rules["npr"]),
            "candidate_negatives": {str(g): int(n) for g, n in counts.items()},
            "genes_with_too_few_negatives": too_few}


def make_labels(finemap: pd.DataFrame, rules: dict[str, Any], seed: int, where: str = "finemap") -> pd.DataFrame:
    """Train and test examples (schema ``eqtl_labels``) from a fine-mapping table; deterministic in seed."""
    pairs = clean_finemap(finemap, where)
    vtype = variant_type(pairs["ref"], pairs["alt"])
    train_pos, test_pos = positive_masks(pairs, rules)
    pool = pairs["pip"].to_numpy(dtype=float) < rules["negative_max_pip"]
    frames = []
    for k, (name, positive) in enumerate((("train", train_pos), ("test", test_pos))):
        rng = np.random.default_rng([seed, k])
        pos_idx, neg_idx = _draw_negatives(pairs, vtype, positive, pool, rules["npr"], rng, name)
        rows = np.concatenate([pos_idx, neg_idx])
        label = np.r_[np.ones(pos_idx.size, dtype=np.int64), np.zeros(neg_idx.size, dtype=np.int64)]
        pip = pairs["pip"].to_numpy(dtype=float)[rows]
        frames.append(pd.DataFrame({
            "variant_id": pairs["variant_id"].to_numpy()[rows].astype(str),
            "gene_id": pairs["gene_id"].to_numpy()[rows].astype(str),
            "chrom": pairs["chrom"].to_numpy()[rows].astype(str),
            "set": name, "label": label, "weight": balanced_weights(label, pip), "pip": pip,
            "vtype": vtype[rows].astype(str)}))
        log.info("labels: %s set %d positives, %d negatives", name, pos_idx.size, neg_idx.size)
    return pd.concat(frames, ignore_index=True)
