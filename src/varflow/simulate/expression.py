"""Gene expression from motif activity: baseline across genes, cis effects of variants within genes.

Model (log-scale expression of gene g in individual i, haplotypes h1, h2):

    activity(h)   = sum over elements e of g: strength_e * sum over motifs m: w_m * bound_m(e, h)
    expression_gi = c_g + (activity(h1) + activity(h2)) / 2 + noise_gi

``bound_m`` counts exact motif matches on either strand (``motifs.count_matches``). Because each
variant changes the match count only near itself, activity is additive over variants, and a
variant's effect per ALT allele is ``0.5 * strength_e * sum_m w_m * delta_m`` where ``delta_m`` is
the change in matches the ALT allele makes. Those non-zero effects are the causal-variant truth.
Noise variance is set per gene so that the genetic share of variance equals a heritability drawn
from ``h2_range``; genes without causal variants get the median noise of the others.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from varflow.simulate.genome import codes_to_str
from varflow.simulate.motifs import MOTIFS, Motif, count_matches

KMAX = max(len(m) for m in MOTIFS)


def scan_causal(chrom: str, seq: np.ndarray, variants: pd.DataFrame, elements: pd.DataFrame,
                instances: pd.DataFrame, motifs: tuple[Motif, ...] = MOTIFS) -> pd.DataFrame:
    """Causal variants of one chromosome found by re-scanning the sequence with each ALT allele.

    ``variants`` rows align with the chromosome's sites (pos 1-based, ref, alt, kind, variant_id);
    only SNVs inside elements can matter (indels are kept out of elements by construction).
    Returns variant_id, gene_id, effect, mechanism (motif_break|motif_gain), motif, site (row index).
    """
    weights = np.array([m.weight for m in motifs])
    pos0 = variants["pos"].to_numpy() - 1
    snv = (variants["kind"] == "snv").to_numpy()
    starts, ends = elements["start"].to_numpy(), elements["end"].to_numpy()
    order = np.argsort(starts)
    idx = np.searchsorted(starts[order], pos0, side="right") - 1
    rows = []
    for site in np.flatnonzero(snv & (idx >= 0)):
        el = order[idx[site]]
        p = int(pos0[site])
        if p >= ends[el]:
            continue
        lo, hi = max(p - KMAX + 1, 0), min(p + KMAX, seq.size)
        ref_seq = codes_to_str(seq[lo:hi])
        alt_seq = ref_seq[: p - lo] + variants["alt"].iat[site] + ref_seq[p - lo + 1:]
        delta = count_matches(alt_seq, motifs) - count_matches(ref_seq, motifs)
        if not delta.any():
            continue
        effect = 0.5 * float(elements["strength"].iat[el]) * float(weights @ delta)
        main = int(np.argmax(np.abs(delta * weights)))
        rows.append({"variant_id": variants["variant_id"].iat[site], "gene_id": elements["gene_id"].iat[el],
                     "effect": effect, "mechanism": "motif_gain" if delta[main] > 0 else "motif_break",
                     "motif": motifs[main].name, "site": int(site)})
    return pd.DataFrame(rows, columns=["variant_id", "gene_id", "effect", "mechanism", "motif", "site"])


def element_activity(seq: np.ndarray, elements: pd.DataFrame, motifs: tuple[Motif, ...] = MOTIFS) -> np.ndarray:
    """Reference-haplotype motif activity per element, (n_elements,) float64."""
    weights = np.array([m.weight for m in motifs])
    return np.array([strength * float(weights @ count_matches(codes_to_str(seq[s:e]), motifs))
                     for s, e, strength in zip(elements["start"], elements["end"], elements["strength"])])


def simulate_expression(genes: pd.DataFrame, baseline_activity: np.ndarray, causal: pd.DataFrame,
                        dosage_of: dict[str, np.ndarray], n_individuals: int, rng: np.random.Generator,
                        h2_range: tuple[float, float], base_level: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """Expression (n_genes, n_individuals) float64 and realised h2 per gene (n_genes,).

    ``baseline_activity`` (n_genes,): reference activity of each gene's elements.
    ``causal``: variant_id, gene_id, effect. ``dosage_of``: variant_id -> ALT dosage (n_individuals,).
    """
    n_genes = len(genes)
    genetic = np.zeros((n_genes, n_individuals))
    gene_index = {g: i for i, g in enumerate(genes["gene_id"])}
    for row in causal.itertuples(index=False):
        genetic[gene_index[row.gene_id]] += row.effect * dosage_of[row.variant_id]
    var_gen = genetic.var(axis=1)
    h2 = rng.uniform(*h2_range, size=n_genes)
    has_signal = var_gen > 1e-12
    noise_var = np.where(has_signal, var_gen * (1 - h2) / h2, np.nan)
    fallback = float(np.nanmedian(noise_var)) if has_signal.any() else 0.09
    noise_var = np.where(has_signal, noise_var, fallback)
    # A gene-level offset keeps the baseline learnable from motifs but not perfectly determined.
    level = base_level + rng.normal(0, 0.25, size=n_genes) + baseline_activity
    expr = level[:, None] + genetic + rng.normal(size=(n_genes, n_individuals)) * np.sqrt(noise_var)[:, None]
    realised = np.where(has_signal, var_gen / np.maximum(expr.var(axis=1), 1e-12), 0.0)
    return expr, realised
