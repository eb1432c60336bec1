"""Annotations for the eQTL workflow, derived from the simulator's truth with noise.

- ``regulatory_beds``: per cell type, the planted elements with some dropped, bounds jittered,
  and spurious peaks added (what a noisy ATAC/ChIP peak call would look like).
- ``gene_constraint``: pLI-like / LOEUF-like columns, weakly lower constraint for genes with eQTLs.
- ``dl_scores``: many ``dl_*`` columns; a few carry motif-disruption signal, the rest are noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from varflow.simulate.expression import KMAX
from varflow.simulate.motifs import CODE, MOTIFS, PAD, Motif, best_site_scores, occupancy


def regulatory_beds(elements: pd.DataFrame, chrom_lengths: dict[str, int], celltypes: list[str],
                    rng: np.random.Generator, keep_promoter: float = 0.95, keep_enhancer: float = 0.75,
                    spurious_fraction: float = 0.25) -> dict[str, pd.DataFrame]:
    """One BED table per cell type: chrom, start, end, name, score (0-based half-open).

    True elements score higher on average than spurious peaks, scaled by element strength.
    """
    chrom_order = {c: i for i, c in enumerate(chrom_lengths)}
    out = {}
    for ct in celltypes:
        keep_p = np.where(elements["kind"] == "promoter", keep_promoter, keep_enhancer)
        kept = elements[rng.random(len(elements)) < keep_p]
        size = (kept["end"] - kept["start"]).to_numpy()
        lengths = kept["chrom"].map(chrom_lengths).to_numpy()
        start = kept["start"].to_numpy() + (rng.uniform(-0.25, 0.25, len(kept)) * size).astype(np.int64)
        end = kept["end"].to_numpy() + (rng.uniform(-0.25, 0.25, len(kept)) * size).astype(np.int64)
        start = np.clip(start, 0, lengths - 2)
        end = np.clip(np.maximum(end, start + 50), start + 1, lengths)
        score = np.clip(rng.normal(8.0, 2.0, len(kept)) * (0.5 + kept["strength"].to_numpy()), 0.1, None)
        true_peaks = pd.DataFrame({"chrom": kept["chrom"].to_numpy(), "start": start, "end": end, "score": score})

        n_spur = int(round(spurious_fraction * len(elements)))
        chroms = rng.choice(list(chrom_lengths), size=n_spur)
        clen = np.array([chrom_lengths[c] for c in chroms])
        width = rng.integers(200, 800, size=n_spur)
        sstart = (rng.random(n_spur) * (clen - width)).astype(np.int64)
        spurious = pd.DataFrame({"chrom": chroms, "start": sstart, "end": sstart + width,
                                 "score": np.clip(rng.normal(4.0, 2.0, n_spur), 0.1, None)})
        bed = pd.concat([true_peaks, spurious], ignore_index=True)
        bed = bed.assign(_o=bed["chrom"].map(chrom_order)).sort_values(["_o", "start", "end"], kind="stable")
        bed = bed.drop(columns="_o").reset_index(drop=True)
        bed.insert(3, "name", [f"{ct}_peak{i + 1}" for i in range(len(bed))])
        bed["score"] = bed["score"].round(3)
        out[ct] = bed
    return out


def gene_constraint(genes: pd.DataFrame, causal_genes: set[str], rng: np.random.Generator) -> pd.DataFrame:
    """gene_id, pLI, LOEUF, mis_z: genes with eQTLs are (weakly) less constrained, as in real data."""
    has_eqtl = genes["gene_id"].isin(causal_genes).to_numpy()
    logit = rng.normal(0.5, 1.5, len(genes)) - 1.0 * has_eqtl
    pli = 1 / (1 + np.exp(-logit))
    loeuf = np.clip(1.3 - 0.9 * pli + rng.normal(0, 0.25, len(genes)), 0.03, 2.0)
    mis_z = rng.normal(2.5 * pli - 0.5, 1.0)
    return pd.DataFrame({"gene_id": genes["gene_id"].to_numpy(), "pLI": pli, "LOEUF": loeuf, "mis_z": mis_z})


def motif_changes(seq: np.ndarray, variants: pd.DataFrame, motifs: tuple[Motif, ...] = MOTIFS
                  ) -> tuple[np.ndarray, np.ndarray]:
    """How each variant changes the best site of each motif in its neighbourhood.

    The neighbourhood is the allele plus KMAX - 1 bases on each side (every window that could
    touch the variant). Returns (score_change, occupancy_change), each (n_variants, n_motifs)
    float64: alt minus ref of the best PWM score (log2-odds, both strands) and of its soft
    occupancy. SNV rows are gathered in one vectorised step; indels (a few percent) build ragged rows.
    """
    n = len(variants)
    flank = KMAX - 1
    pos0 = variants["pos"].to_numpy() - 1
    kinds = variants["kind"].to_numpy()
    longest = max(int(variants["ref"].str.len().max()), int(variants["alt"].str.len().max())) if n else 1
    width = 2 * flank + longest
    padded = np.concatenate([np.full(flank, 4, np.uint8), seq, np.full(flank + longest, 4, np.uint8)])
    ref_rows = np.full((n, width), PAD, dtype=np.uint8)
    alt_rows = np.full((n, width), PAD, dtype=np.uint8)
    snv = np.flatnonzero(kinds == "snv")
    if snv.size:
        around = padded[pos0[snv, None] + np.arange(2 * flank + 1)[None, :]]  # (n_snv, 2 * flank + 1)
        ref_rows[snv, :2 * flank + 1] = around
        around[:, flank] = [CODE[a] for a in variants["alt"].to_numpy()[snv]]
        alt_rows[snv, :2 * flank + 1] = around
    for i in np.flatnonzero(kinds != "snv"):
        p = int(pos0[i]) + flank  # position in ``padded``
        ref, alt = variants["ref"].iat[i], variants["alt"].iat[i]
        left, right = padded[p - flank:p], padded[p + len(ref):p + len(ref) + flank]
        ref_row = np.concatenate([left, padded[p:p + len(ref)], right])
        alt_row = np.concatenate([left, np.array([CODE[b] for b in alt], np.uint8), right])
        ref_rows[i, :ref_row.size] = ref_row
        alt_rows[i, :alt_row.size] = alt_row
    score = np.zeros((n, len(motifs)))
    occ = np.zeros((n, len(motifs)))
    for j, motif in enumerate(motifs):
        ref_best, alt_best = best_site_scores(ref_rows, motif), best_site_scores(alt_rows, motif)
        score[:, j] = alt_best - ref_best
        occ[:, j] = occupancy(alt_best, motif) - occupancy(ref_best, motif)
    return score, occ


def dl_scores(variant_ids: np.ndarray, occupancy_change: np.ndarray, in_element: np.ndarray,
              causal_effect: np.ndarray, rng: np.random.Generator, n_columns: int = 40, n_informative: int = 4
              ) -> tuple[pd.DataFrame, list[str]]:
    """The ``dl_*`` table and the names of its informative columns.

    ``occupancy_change`` (n, n_motifs) from :func:`motif_changes`; ``in_element`` (n,) bool;
    ``causal_effect`` (n,) the true effect of each variant on its gene (0 when not causal).
    Informative columns carry, in order: binding disruption from sequence alone (sum over motifs of
    |occupancy change|; also fires on chance sites outside elements), the same inside regulatory
    elements, the motif-weighted signed occupancy change inside elements, and the magnitude of the
    true effect. Each signal is scaled so a real hit is about 1 (the mean magnitude of its top 1%),
    about one noise SD above background: AUC well below 1, as for real predictors.
    Noise SD per column is drawn from U(0.6, 1.2). The other columns are noise of assorted shapes.
    """
    n = len(variant_ids)
    weights = np.array([m.weight for m in MOTIFS])
    disruption = np.abs(occupancy_change).sum(axis=1)
    signals = [
        disruption,
        disruption * in_element,
        (occupancy_change @ weights) * in_element,
        np.abs(causal_effect),
    ][:n_informative]
    names = [f"dl_{i:03d}" for i in range(n_columns)]
    informative_idx = np.sort(rng.choice(n_columns, size=len(signals), replace=False))
    data = {}
    sig_iter = iter(signals)
    for i, name in enumerate(names):
        if i in informative_idx:
            s = next(sig_iter).astype(np.float64)
            # Scale so a real hit is about 1: causal variants are ~1% of all, so use the mean
            # magnitude of the top 1% of entries.
            top = np.sort(np.abs(s))[-max(n // 100, 1):]
            s = s / top.mean() if top.mean() > 0 else s
            data[name] = s + rng.normal(0, rng.uniform(0.6, 1.2), n)
        else:
            shape = i % 3  # noise of assorted shapes, like real model outputs
            if shape == 0:
                data[name] = rng.normal(size=n)
            elif shape == 1:
                data[name] = rng.lognormal(0, 0.7, size=n)
            else:
                data[name] = rng.standard_t(4, size=n)
    df = pd.DataFrame({"variant_id": variant_ids, **{k: v.astype(np.float64) for k, v in data.items()}})
    return df, [names[i] for i in informative_idx]
