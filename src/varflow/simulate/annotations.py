"""Annotations for the eQTL workflow, derived from the simulator's truth with noise.

- ``regulatory_beds``: per cell type, the planted elements with some dropped, bounds jittered,
  and spurious peaks added (what a noisy ATAC/ChIP peak call would look like).
- ``gene_constraint``: pLI-like / LOEUF-like columns, weakly lower constraint for genes with eQTLs.
- ``dl_scores``: hundreds of ``dl_*`` columns, REF/ALT differences of a bank of simulated sequence
  assays (``assays.py``) plus model error, and a few pure-noise columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from varflow.simulate.assays import MARKS, AssayBank, allele_rows
from varflow.simulate.motifs import MOTIFS, Motif, best_site_scores, occupancy


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
    touch the variant, :func:`assays.allele_rows`). Returns (score_change, occupancy_change), each
    (n_variants, n_motifs) float64: alt minus ref of the best PWM score (log2-odds, both strands)
    and of its soft occupancy.
    """
    ref_rows, alt_rows = allele_rows(seq, variants)
    score = np.zeros((len(variants), len(motifs)))
    occ = np.zeros((len(variants), len(motifs)))
    for j, motif in enumerate(motifs):
        ref_best, alt_best = best_site_scores(ref_rows, motif), best_site_scores(alt_rows, motif)
        score[:, j] = alt_best - ref_best
        occ[:, j] = occupancy(alt_best, motif) - occupancy(ref_best, motif)
    return score, occ


def dl_scores(variant_ids: np.ndarray, effects: np.ndarray, bank: AssayBank, n_noise: int,
              rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, str]]:
    """The ``dl_*`` table and what each of its columns is.

    ``effects`` (n, A): noiseless ALT - REF predictions of the calibrated assay ``bank``
    (:func:`assays.assay_effects`). Each assay column adds model error: normal with SD
    ``error`` of its mark times the mean magnitude of its top 1% of effects (causal variants are
    about 1% of all), so a strong, sharp mark of the focal cell type separates real hits well and a
    broad mark of another cell type barely. Half of the error variance is shared by the columns of
    one model draw (one model errs alike on all its tracks), which correlates the columns. ``n_noise`` further columns are pure noise of assorted
    shapes (normal, log-normal, t), like outputs of a model that learnt nothing about these
    variants. Columns come in a random order, named ``dl_000``...; the returned map names each
    column's ``celltype/mark/draw`` or ``noise``.
    """
    n, n_assays = effects.shape
    top = np.sort(np.abs(effects), axis=0)[-max(n // 100, 1):].mean(axis=0)       # (A,)
    error_sd = np.array([MARKS[m].error for m in bank.mark]) * np.where(top > 0, top, 1.0)
    shared = {d: rng.normal(size=n) for d in np.unique(bank.draw)}
    columns = [effects[:, a] + error_sd[a] * np.sqrt(0.5) * (shared[bank.draw[a]] + rng.normal(size=n))
               for a in range(n_assays)]
    noise_makers = (lambda: rng.normal(size=n), lambda: rng.lognormal(0, 0.7, size=n),
                    lambda: rng.standard_t(4, size=n))
    columns += [noise_makers[i % 3]() for i in range(n_noise)]
    what = bank.labels + ["noise"] * n_noise
    order = rng.permutation(len(columns))
    names = [f"dl_{i:03d}" for i in range(len(columns))]
    df = pd.DataFrame({"variant_id": variant_ids,
                       **{name: columns[j].astype(np.float64) for name, j in zip(names, order)}})
    return df, {name: what[j] for name, j in zip(names, order)}
