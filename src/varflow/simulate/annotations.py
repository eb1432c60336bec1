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
from varflow.simulate.motifs import CODE, MOTIFS, Motif, pwm_delta_snv


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


PAD = 5  # code for "no base here" in ragged batches; N (4) inside a sequence scores 0


def _best_scores(codes: np.ndarray, pwm: np.ndarray) -> np.ndarray:
    """Best window score of each row of ``codes`` (n, W), shape (n,).

    Codes 0..3 are bases, 4 (N) scores 0, PAD marks the unused tail of a shorter row and no window
    that touches it can win.
    """
    k = pwm.shape[0]
    table = np.concatenate([pwm, np.zeros((k, 1)), np.full((k, 1), -1e9)], axis=1)  # (k, 6)
    best = np.full(codes.shape[0], -np.inf)
    for offset in range(codes.shape[1] - k + 1):
        best = np.maximum(best, table[np.arange(k), codes[:, offset:offset + k]].sum(axis=1))
    return best


def _ragged(rows: list[np.ndarray]) -> np.ndarray:
    out = np.full((len(rows), max(r.size for r in rows)), PAD, dtype=np.uint8)
    for i, r in enumerate(rows):
        out[i, :r.size] = r
    return out


def pwm_deltas(seq: np.ndarray, variants: pd.DataFrame, motifs: tuple[Motif, ...] = MOTIFS) -> np.ndarray:
    """Best-PWM-score change (alt - ref) per variant and motif, (n_variants, n_motifs) float64.

    Both strands count; the change reported is the larger in magnitude. SNVs are scored on fixed
    windows centred on the site; indels on ragged batches of their local ref and alt sequences.
    """
    n = len(variants)
    out = np.zeros((n, len(motifs)))
    pos0 = variants["pos"].to_numpy() - 1
    kinds = variants["kind"].to_numpy()
    padded = np.concatenate([np.full(KMAX, 4, np.uint8), seq, np.full(KMAX + 12, 4, np.uint8)])
    snv = np.flatnonzero(kinds == "snv")
    if snv.size:
        offsets = np.arange(-(KMAX - 1), KMAX)
        windows = padded[pos0[snv, None] + KMAX + offsets[None, :]]
        alt = np.array([CODE[a] for a in variants["alt"].to_numpy()[snv]], dtype=np.uint8)
        out[snv] = pwm_delta_snv(windows, alt, motifs)
    indel = np.flatnonzero(kinds != "snv")
    if indel.size:
        ref_rows, alt_rows = [], []
        for i in indel:
            p = int(pos0[i]) + KMAX
            ref, alt = variants["ref"].iat[i], variants["alt"].iat[i]
            left = padded[p - KMAX + 1:p]
            right = padded[p + len(ref):p + len(ref) + KMAX - 1]
            ref_rows.append(np.concatenate([left, padded[p:p + len(ref)], right]))
            alt_rows.append(np.concatenate([left, np.array([CODE[b] for b in alt], np.uint8), right]))
        ref_codes, alt_codes = _ragged(ref_rows), _ragged(alt_rows)
        for j, motif in enumerate(motifs):
            best = np.zeros(indel.size)
            for pwm in (motif.pwm, motif.pwm[::-1, ::-1]):
                d = _best_scores(alt_codes, pwm) - _best_scores(ref_codes, pwm)
                best = np.where(np.abs(d) > np.abs(best) + 1e-9, d, best)  # ties keep the forward strand
            out[indel, j] = best
    return out


def dl_scores(variant_ids: np.ndarray, deltas: np.ndarray, in_element: np.ndarray, causal_effect: np.ndarray,
              rng: np.random.Generator, n_columns: int = 40, n_informative: int = 4
              ) -> tuple[pd.DataFrame, list[str]]:
    """The ``dl_*`` table and the names of its informative columns.

    ``deltas`` (n, n_motifs) PWM score changes; ``in_element`` (n,) bool; ``causal_effect`` (n,) the
    true effect of each variant on its gene (0 when not causal). Informative columns carry, in order:
    sequence-only disruption (max |PWM change|; weak, most variants touch some weak site), disruption
    inside regulatory elements, the signed motif-weighted change inside elements, and the magnitude of
    the true effect. Dense signals are standardised; sparse ones are scaled so their non-zero values
    average 1, which keeps them about one noise SD above background (AUC well below 1, as for real
    predictors). Noise SD per column is drawn from U(0.6, 1.2). The other columns are noise of assorted
    shapes.
    """
    n = len(variant_ids)
    weights = np.array([m.weight for m in MOTIFS])
    disruption = np.abs(deltas).max(axis=1)
    signals = [
        disruption,
        disruption * in_element,
        (deltas @ weights) * in_element,
        np.abs(causal_effect),
    ][:n_informative]
    names = [f"dl_{i:03d}" for i in range(n_columns)]
    informative_idx = np.sort(rng.choice(n_columns, size=len(signals), replace=False))
    data = {}
    sig_iter = iter(signals)
    for i, name in enumerate(names):
        if i in informative_idx:
            s = next(sig_iter).astype(np.float64)
            nonzero = s != 0
            if nonzero.mean() < 0.5:
                s = s / (np.abs(s[nonzero]).mean() if nonzero.any() else 1.0)
            else:
                s = (s - s.mean()) / (s.std() + 1e-12)
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
