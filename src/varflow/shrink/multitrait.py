"""Multi-trait summaries of a clustering of shrunk effects: the association type of each cluster from
the eigen-structure of its covariance, and per-gene cluster fractions, mean cross-trait products and
sums of |effect| by association type."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from varflow.errors import VarflowError


def type_thresholds(n_traits: int) -> tuple[float, float]:
    """(eigenvalue ratio, max angle in degrees) for calling a cluster trait-specific."""
    return (2.0, 15.0) if n_traits == 2 else (5.0, 15.0)  # 3+ traits: pi/12 and ratio 5


def cluster_types(cov: np.ndarray, weights: np.ndarray, traits: list[str]) -> pd.DataFrame:
    """Association type of each component: ``cov`` (K, D, D), ``weights`` (K,).

    Main axis = top eigenvector of Sigma_k; ratio = lambda_1 / lambda_2; angle = angle between the
    main axis and the nearest trait axis. specific_<trait>: ratio above the threshold and angle within
    it (effects on one trait only); shared otherwise, as in the method, which has only these two types.
    Borderline components (an elongated axis 15-30 degrees from a trait axis, or a ratio between 1.5
    and the threshold) are shared: some of their SNPs' effect falls on a second trait, which is what
    "shared" means; their ratio and angle stay in the table for whoever wants a finer cut.
    """
    D = cov.shape[1]
    if D < 2:
        raise VarflowError("multi-trait needs at least 2 traits")
    ratio_thr, angle_thr = type_thresholds(D)
    rows = []
    for k in range(cov.shape[0]):
        vals, vecs = np.linalg.eigh(cov[k])
        vals = np.clip(vals[::-1], 1e-300, None)
        main = vecs[:, -1]
        ratio = float(vals[0] / vals[1])
        nearest = int(np.argmax(np.abs(main)))
        angle = float(np.degrees(np.arccos(np.clip(np.abs(main[nearest]), 0.0, 1.0))))
        kind = f"specific_{traits[nearest]}" if ratio > ratio_thr and angle <= angle_thr else "shared"
        rows.append({"cluster": k, "weight": float(weights[k]), "type": kind, "eig_ratio": ratio, "angle_deg": angle})
    return pd.DataFrame(rows)


def gene_summaries(genes: pd.DataFrame, snp_gene: list[np.ndarray], labels: np.ndarray, effects: np.ndarray,
                   traits: list[str], types: pd.DataFrame) -> pd.DataFrame:
    """Per-gene multi-trait summary.

    ``genes`` rows (gene, CHR); ``snp_gene[g]`` int indices of gene g's SNPs into ``labels`` (J,) and
    ``effects`` (J, D). Columns: n_snps, frac_c<k> (fraction of the gene's SNPs in cluster k, k >= 0),
    frac_unclustered, prod_c<k>_<t1>_<t2> (mean of beta_t1 * beta_t2 over the gene's SNPs in cluster k;
    NaN when none), sum_abs_<type>_<trait> (sum of |beta_trait| over the gene's SNPs in clusters of
    that type; unclustered SNPs count in no type).
    """
    K = len(types)
    type_of = types["type"].to_numpy()
    kinds = sorted(set(type_of))
    pairs = list(itertools.combinations(range(len(traits)), 2))
    out: dict[str, list] = {"gene": [], "CHR": [], "n_snps": []}
    cols: dict[str, list] = {}
    for (_, g), idx in zip(genes.iterrows(), snp_gene):
        out["gene"].append(g["gene"])
        out["CHR"].append(g["CHR"])
        out["n_snps"].append(len(idx))
        lab = labels[idx]
        eff = effects[idx]
        n = max(len(idx), 1)
        rec = {f"frac_c{k}": float((lab == k).sum() / n) for k in range(K)}
        rec["frac_unclustered"] = float((lab < 0).sum() / n) if len(idx) else np.nan
        for k in range(K):
            sel = lab == k
            for a, b in pairs:
                rec[f"prod_c{k}_{traits[a]}_{traits[b]}"] = float(np.mean(eff[sel, a] * eff[sel, b])) if sel.any() else np.nan
        clustered = lab >= 0
        lab_type = np.full(len(idx), "", dtype=object)
        lab_type[clustered] = type_of[lab[clustered]]  # lab indexes types row k directly (no offset)
        for kind in kinds:
            sel = lab_type == kind
            for d, trait in enumerate(traits):
                rec[f"sum_abs_{kind}_{trait}"] = float(np.abs(eff[sel, d]).sum())
        for key, value in rec.items():
            cols.setdefault(key, []).append(value)
    return pd.DataFrame({**out, **cols})
