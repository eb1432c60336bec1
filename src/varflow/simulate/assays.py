"""A bank of simulated sequence assays, read at the REF and ALT allele of every variant.

Real deep-learning variant scores (Enformer, Borzoi, Sei, ...) are differences between a model's
predicted tracks (cell type x mark) for the ALT and the REF sequence. Here each *assay* a is a noisy
view of the simulator's own regulatory grammar (``motifs.py``), made in four steps:

1. **motif occupancy**: ``o_k(x)``, the soft bound probability (:func:`motifs.occupancy`) of the better
   strand of motif k's PWM in the window that starts at base x;
2. **assay signal**: ``T_a(x) = sum_k w_ak o_k(x)`` with assay-specific motif weights ``w_a``;
3. **accessibility-like smoothing**: the readout at a variant at base p is the mean of ``T_a`` over
   the windows starting in ``[p - h, p + h]``, h the half-width of the assay's mark (50 bp for a sharp
   ATAC-like mark, 2 kb for a broad histone mark);
4. **saturation**: the prediction is ``logistic((R - threshold_a) / scale_a)``: flat in background
   sequence (chance sites stay below the threshold), steep in regulatory elements, flat again in
   very dense ones.

A variant changes only the windows that touch its allele, so the ALT readout is the REF readout plus
``sum_k w_ak dO_k / n_box`` where ``dO_k`` is the summed occupancy change of those windows and
``n_box`` the number of windows in the box: one pass over each chromosome per motif for the REF
boxes, one over the variants' short allele rows for ``dO``, then matrix products for all assays.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from varflow.simulate.expression import KMAX
from varflow.simulate.motifs import CODE, MOTIFS, PAD, Motif, occupancy

# The readout threshold sits at this quantile of the REF readouts of all variants: regulatory
# elements cover a few percent of the simulated genome, so background stays below it.
THRESHOLD_QUANTILE = 0.97


@dataclass(frozen=True)
class Mark:
    """One assay type: ``half_width`` (bp) of its smoothing box; ``fidelity`` how closely its motif
    weights follow the cell type's (negative: a repressive mark, which reads them with flipped sign);
    ``error`` the SD of its model error relative to its strongest variant effects."""

    name: str
    half_width: int
    fidelity: float
    error: float


MARKS: tuple[Mark, ...] = (
    Mark("ATAC", 75, 1.0, 0.3),
    Mark("DNase", 100, 0.95, 0.4),
    Mark("CAGE", 50, 0.9, 0.7),
    Mark("TF_ChIP", 50, 0.85, 0.8),
    Mark("H3K4me3", 300, 0.7, 1.0),
    Mark("H3K27ac", 500, 0.8, 1.0),
    Mark("H3K4me1", 1_000, 0.6, 1.5),
    Mark("H3K27me3", 2_000, -0.5, 2.0),
)


@dataclass(frozen=True)
class AssayBank:
    """``A`` assays over ``K`` motifs.

    celltype (A,) str; mark (A,) int index into :data:`MARKS`; draw (A,) int model draw;
    weights (A, K) float64 motif weights (log-expression-like units per bound site);
    threshold, scale (A,) float64 of the saturating readout (NaN until :func:`calibrate`).
    """

    celltype: np.ndarray
    mark: np.ndarray
    draw: np.ndarray
    weights: np.ndarray
    threshold: np.ndarray
    scale: np.ndarray

    @property
    def labels(self) -> list[str]:
        """``celltype/mark/draw`` of each assay (A,)."""
        return [f"{c}/{MARKS[m].name}/{d}" for c, m, d in zip(self.celltype, self.mark, self.draw)]


def draw_bank(celltypes: tuple[str, ...], n_draws: int, focal_fidelity: float, other_fidelity: float,
              other_tf_fraction: float, rng: np.random.Generator, motifs: tuple[Motif, ...] = MOTIFS) -> AssayBank:
    """Assays for every cell type x mark x draw (A = len(celltypes) * len(MARKS) * n_draws).

    The first cell type is the focal one (whose expression the cohort simulates): its preference
    vector follows the true motif weights with correlation ``focal_fidelity``. Each other cell type
    expresses a random ``other_tf_fraction`` of the motifs' factors (at least one; the rest weigh 0)
    and weighs them with correlation ``other_fidelity`` to the truth. A mark scales the correlation
    by its fidelity; each draw (another model, another training run) perturbs the weights a little.
    """
    true_w = np.array([m.weight for m in motifs])
    spread = true_w.std()
    rows, meta = [], []
    for ci, ct in enumerate(celltypes):
        rho = focal_fidelity if ci == 0 else other_fidelity
        expressed = np.ones(true_w.size, dtype=bool)
        if ci > 0:
            expressed = rng.random(true_w.size) < other_tf_fraction
            expressed[rng.integers(true_w.size)] = True
        own = rng.normal(0.0, spread, true_w.size)
        pref = (rho * true_w + np.sqrt(1.0 - rho**2) * own) * expressed
        for mi, mark in enumerate(MARKS):
            fid = abs(mark.fidelity)
            mark_w = np.sign(mark.fidelity) * (fid * pref + np.sqrt(1.0 - fid**2) * rng.normal(0.0, spread, true_w.size))
            for d in range(n_draws):
                rows.append(mark_w + rng.normal(0.0, 0.25 * spread, true_w.size))
                meta.append((ct, mi, d))
    celltype, mark, draw = (np.array(col) for col in zip(*meta))
    nan = np.full(len(rows), np.nan)
    return AssayBank(celltype, mark.astype(np.int64), draw.astype(np.int64), np.array(rows), nan, nan.copy())


def window_occupancy(codes: np.ndarray, motif: Motif) -> np.ndarray:
    """Occupancy (n, W - k + 1) of the better strand of ``motif`` in every window of each row of ``codes`` (n, W).

    Codes 0..3 are bases, 4 (N) scores 0 and PAD makes every window that touches it unbound.
    """
    k = len(motif)
    n_win = codes.shape[1] - k + 1
    if n_win <= 0:
        return np.zeros((codes.shape[0], 0))
    best = np.full((codes.shape[0], n_win), -np.inf)
    for pwm in (motif.pwm, motif.pwm[::-1, ::-1]):  # forward and reverse-complement strands
        table = np.concatenate([pwm, np.zeros((k, 1)), np.full((k, 1), -1e9)], axis=1)  # (k, 6)
        score = np.zeros((codes.shape[0], n_win))
        for j in range(k):
            score += table[j][codes[:, j:j + n_win]]
        best = np.maximum(best, score)
    with np.errstate(over="ignore"):  # windows touching PAD score -1e9: exp overflows to inf, occupancy 0
        return occupancy(best, motif)


def sequence_occupancy(seq: np.ndarray, motif: Motif, kmer_codes: np.ndarray) -> np.ndarray:
    """Occupancy (L - k + 1,) float32 of the better strand of ``motif`` in every window of a plain
    sequence ``seq`` (L,) of codes 0..3; ``kmer_codes`` from :func:`kmer_codes` of the same sequence.

    Equals ``window_occupancy(seq[None], motif)[0]``, about 3x faster: each gather reads a 4-mer's
    summed PWM entries, so a k-bp motif costs ceil(k / 4) gathers per strand instead of k.
    """
    k = len(motif)
    n_win = seq.size - k + 1
    best = None
    for pwm in (motif.pwm, motif.pwm[::-1, ::-1]):  # forward and reverse-complement strands
        padded = np.concatenate([pwm, np.zeros((-k % 4, 4))])  # zero rows past the motif's end
        score = np.zeros(n_win, dtype=np.float32)
        for j in range(0, k, 4):
            # table[c] = sum over the 4-mer's bases i of pwm[j + i, base i], c = 64 b0 + 16 b1 + 4 b2 + b3
            table = (padded[j, :, None, None, None] + padded[j + 1, None, :, None, None]
                     + padded[j + 2, None, None, :, None] + padded[j + 3, None, None, None, :]).ravel()
            score += table.astype(np.float32).take(kmer_codes[j:j + n_win])
        best = score if best is None else np.maximum(best, score)
    return occupancy(best, motif)


def kmer_codes(seq: np.ndarray) -> np.ndarray:
    """Code (L,) intp of the 4-mer starting at each base of ``seq`` (L,) codes 0..3, A-padded at the end."""
    s = np.concatenate([seq, np.zeros(3, np.uint8)]).astype(np.intp)
    return 64 * s[:-3] + 16 * s[1:-2] + 4 * s[2:-1] + s[3:]


def allele_rows(seq: np.ndarray, variants: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """REF and ALT rows (n, W) uint8 of each variant's allele with KMAX - 1 bases on each side.

    W = 2 * (KMAX - 1) + the longest allele; shorter rows end in PAD. These rows hold every window
    that could touch the allele. SNV rows are gathered in one vectorised step; indels build ragged rows.
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
    return ref_rows, alt_rows


@dataclass
class VariantContext:
    """What the assays need of each variant: ``ref_box`` (n, len(MARKS), K) mean REF occupancy of
    each motif over each mark's box; ``box_size`` (n, len(MARKS)) windows in that box; ``delta``
    (n, K) summed ALT - REF occupancy of the windows that touch the allele."""

    ref_box: np.ndarray
    box_size: np.ndarray
    delta: np.ndarray

    @staticmethod
    def concat(parts: list["VariantContext"]) -> "VariantContext":
        return VariantContext(*(np.concatenate([getattr(p, f.name) for p in parts])
                                for f in dataclasses.fields(VariantContext)))


def variant_context(seq: np.ndarray, variants: pd.DataFrame, motifs: tuple[Motif, ...] = MOTIFS) -> VariantContext:
    """:class:`VariantContext` of one chromosome's variants; ``seq`` (L,) base codes 0..3, ``variants``
    with pos (1-based), ref, alt, kind. The box of a variant at 0-based p holds window starts
    [p - h, p + h] clipped to the chromosome."""
    pos0 = variants["pos"].to_numpy() - 1
    halves = np.array([m.half_width for m in MARKS])
    lo = np.clip(pos0[:, None] - halves[None, :], 0, seq.size)          # (n, n_marks)
    hi = np.clip(pos0[:, None] + halves[None, :] + 1, 0, seq.size)
    ref_box = np.zeros((len(variants), len(MARKS), len(motifs)))
    ref_rows, alt_rows = allele_rows(seq, variants)
    delta = np.zeros((len(variants), len(motifs)))
    kmers = kmer_codes(seq)
    for k, motif in enumerate(motifs):
        track = sequence_occupancy(seq, motif, kmers).astype(np.float64)
        cum = np.concatenate([[0.0], np.cumsum(track)])
        cum = np.concatenate([cum, np.full(seq.size + 1 - cum.size, cum[-1])])  # windows past the end: 0
        ref_box[:, :, k] = (cum[hi] - cum[lo]) / (hi - lo)
        delta[:, k] = window_occupancy(alt_rows, motif).sum(axis=1) - window_occupancy(ref_rows, motif).sum(axis=1)
    return VariantContext(ref_box, (hi - lo).astype(np.float64), delta)


def readouts(context: VariantContext, bank: AssayBank) -> tuple[np.ndarray, np.ndarray]:
    """Pre-saturation REF and ALT readouts (n, A) of every assay (units of motif weight per window)."""
    ref = np.empty((context.delta.shape[0], len(bank.mark)))
    alt = np.empty_like(ref)
    for m in np.unique(bank.mark):
        cols = np.flatnonzero(bank.mark == m)
        w = bank.weights[cols].T                                             # (K, a_m)
        ref[:, cols] = context.ref_box[:, m, :] @ w
        alt[:, cols] = ref[:, cols] + (context.delta @ w) / context.box_size[:, m, None]
    return ref, alt


def calibrate(bank: AssayBank, ref: np.ndarray) -> AssayBank:
    """The bank with each assay's threshold at :data:`THRESHOLD_QUANTILE` of its REF readouts ``ref``
    (n, A) and its scale the SD of those readouts above the median (so elements span the steep part)."""
    threshold = np.quantile(ref, THRESHOLD_QUANTILE, axis=0)
    upper = np.where(ref > np.median(ref, axis=0), ref, np.nan)
    scale = np.nanstd(upper, axis=0)
    return dataclasses.replace(bank, threshold=threshold, scale=np.where(scale > 0, scale, 1.0))


def saturate(readout: np.ndarray, bank: AssayBank) -> np.ndarray:
    """Predicted assay value (n, A) in (0, 1) from readouts (n, A)."""
    return 1.0 / (1.0 + np.exp(-(readout - bank.threshold) / bank.scale))


def assay_effects(context: VariantContext, bank: AssayBank) -> np.ndarray:
    """Noiseless ALT - REF prediction (n, A) of every calibrated assay."""
    ref, alt = readouts(context, bank)
    return saturate(alt, bank) - saturate(ref, bank)
