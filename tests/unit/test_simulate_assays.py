"""The simulated assay bank behind the dl_* columns, against direct PWM computations on tiny sequences."""

from __future__ import annotations

import numpy as np
import pandas as pd

from varflow.simulate.annotations import dl_scores
from varflow.simulate.assays import (MARKS, AssayBank, assay_effects, calibrate, draw_bank, readouts,
                                     variant_context, window_occupancy)
from varflow.simulate.motifs import CODE, MOTIF_BY_NAME, MOTIFS, best_site_scores, occupancy


def _direct_prediction(seq: str, centre: int, half_width: int, weights: np.ndarray, threshold: float,
                       scale: float) -> float:
    """Saturated box mean of sum_k w_k * occupancy_k, one window at a time (both strands by hand)."""
    total, n = 0.0, 0
    for x in range(max(centre - half_width, 0), min(centre + half_width + 1, len(seq))):
        signal = 0.0
        for w, motif in zip(weights, MOTIFS):
            k = len(motif)
            if x + k <= len(seq):
                fwd = sum(motif.pwm[j, CODE[seq[x + j]]] for j in range(k))
                rev = sum(motif.pwm[::-1, ::-1][j, CODE[seq[x + j]]] for j in range(k))
                signal += w * occupancy(np.array(max(fwd, rev)), motif)
        total, n = total + signal, n + 1
    return 1.0 / (1.0 + np.exp(-(total / n - threshold) / scale))


def _one_assay_bank(weights: np.ndarray, mark: int = 0, threshold: float = 0.002, scale: float = 0.004) -> AssayBank:
    return AssayBank(np.array(["liver"]), np.array([mark]), np.array([0]), weights[None, :],
                     np.array([threshold]), np.array([scale]))


def test_snv_breaking_a_planted_motif_matches_direct_pwm_computation():
    rng = np.random.default_rng(3)
    seq = rng.integers(0, 4, 300).astype(np.uint8)
    ap1 = MOTIF_BY_NAME["AP1"]
    seq[140:140 + len(ap1)] = ap1.sample_site(rng)
    pos0 = 140 + int(ap1.fixed_positions[1])
    ref = "ACGT"[seq[pos0]]
    alt = "ACGT"[(seq[pos0] + 1) % 4]
    variants = pd.DataFrame({"pos": [pos0 + 1, 20 + 1], "ref": [ref, "ACGT"[seq[20]]],
                             "alt": [alt, "ACGT"[(seq[20] + 2) % 4]], "kind": ["snv", "snv"]})
    weights = np.array([m.weight for m in MOTIFS])
    bank = _one_assay_bank(weights)
    got = assay_effects(variant_context(seq, variants), bank)[:, 0]

    ref_seq = "".join("ACGT"[c] for c in seq)
    for i, (p, a) in enumerate([(pos0, alt), (20, variants["alt"].iat[1])]):
        alt_seq = ref_seq[:p] + a + ref_seq[p + 1:]
        want = (_direct_prediction(alt_seq, p, MARKS[0].half_width, weights, 0.002, 0.004)
                - _direct_prediction(ref_seq, p, MARKS[0].half_width, weights, 0.002, 0.004))
        assert np.isclose(got[i], want, rtol=1e-9, atol=1e-12)
    assert got[0] < -0.05  # breaking an activator's site lowers the prediction


def test_window_occupancy_peaks_at_the_best_site():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, (5, 40)).astype(np.uint8)
    for motif in MOTIFS[:4]:
        occ = window_occupancy(codes, motif)
        assert occ.shape == (5, 40 - len(motif) + 1)
        assert np.allclose(occ.max(axis=1), occupancy(best_site_scores(codes, motif), motif))


def test_bank_is_seeded_and_the_focal_cell_type_reads_the_true_weights():
    def bank(seed):
        return draw_bank(("liver", "blood", "brain"), 4, 0.95, 0.4, 0.5, np.random.default_rng(seed))

    a, b = bank(1), bank(1)
    assert np.array_equal(a.weights, b.weights) and a.labels == b.labels
    assert len(a.labels) == 3 * len(MARKS) * 4
    true_w = np.array([m.weight for m in MOTIFS])
    atac = a.mark == 0
    r = {ct: np.mean([np.corrcoef(w, true_w)[0, 1] for w in a.weights[(a.celltype == ct) & atac]])
         for ct in ("liver", "blood", "brain")}
    assert r["liver"] > 0.8 and r["liver"] > max(r["blood"], r["brain"]) + 0.2


def test_dl_scores_deterministic_named_and_calibrated():
    rng = np.random.default_rng(5)
    seq = rng.integers(0, 4, 5_000).astype(np.uint8)
    pos = np.sort(rng.choice(np.arange(100, 4_900), 60, replace=False))
    variants = pd.DataFrame({"pos": pos + 1, "ref": ["ACGT"[seq[p]] for p in pos],
                             "alt": ["ACGT"[(seq[p] + 1) % 4] for p in pos], "kind": "snv"})
    context = variant_context(seq, variants)

    def table(seed):
        r = np.random.default_rng(seed)
        bank = draw_bank(("liver", "blood"), 2, 0.95, 0.4, 0.5, r)
        bank = calibrate(bank, readouts(context, bank)[0])
        return dl_scores(np.arange(60).astype(str), assay_effects(context, bank), bank, 3, r), bank

    (df, what), bank = table(2)
    (df2, what2), _ = table(2)
    pd.testing.assert_frame_equal(df, df2)
    assert what == what2
    n_cols = 2 * len(MARKS) * 2 + 3
    assert list(df.columns) == ["variant_id"] + [f"dl_{i:03d}" for i in range(n_cols)]
    assert sorted(what.values()) == sorted(bank.labels + ["noise"] * 3)
    ref = readouts(context, bank)[0]
    assert np.allclose((ref > bank.threshold).mean(axis=0), 0.03, atol=0.02)


def test_sequence_occupancy_equals_window_occupancy():
    from varflow.simulate.assays import kmer_codes, sequence_occupancy

    seq = np.random.default_rng(1).integers(0, 4, 3_000).astype(np.uint8)
    seq[100:110] = [CODE[b] for b in "GGGGCGGGGC"]
    kmers = kmer_codes(seq)
    for motif in MOTIFS:
        assert np.allclose(sequence_occupancy(seq, motif, kmers), window_occupancy(seq[None], motif)[0], atol=1e-5)
