"""Variant effects against the truth (AUROC/AUPRC/sign agreement) and the indel length-control rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from varflow.errors import VarflowError
from varflow.io.tables import write_table
from varflow.s2e import steps
from varflow.s2e.haplotypes import apply_copies, haplotype_copies, left_offset, reverse_complement, reverse_copies
from varflow.s2e.variant_effects import control_junctions, ism_scores, length_controls
from varflow.s2e.variant_truth import score_against_truth, variant_class

L = 2_000
PAD = 200
MOTIF = np.frombuffer(b"GATTACAGG", dtype=np.uint8)


def _pairs(rng: np.random.Generator, n_snv: int = 300, n_indel: int = 60) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A scores table over SNV and indel pairs (rounded scores: ties) and a truth table."""
    ids = [f"chr1:{i + 1}:A:G" for i in range(n_snv)] + [f"chr1:{n_snv + i + 1}:AT:A" for i in range(n_indel // 2)] \
        + [f"chr1:{n_snv + n_indel + i + 1}:C:CGG" for i in range(n_indel - n_indel // 2)]
    n = len(ids)
    causal = rng.random(n) < 0.1
    effect = np.where(causal, rng.normal(0, 1, n), np.nan)
    ism = np.round(np.where(causal, 0.7 * effect, 0) + rng.normal(0, 0.5, n), 1)
    scores = pd.DataFrame({"variant_id": ids, "gene_id": "G1", "s2e_ism": ism, "s2e_ism_abs": np.abs(ism),
                           "s2e_gxi": np.round(rng.normal(0, 1, n) + 2 * causal, 1)})
    truth = pd.DataFrame({"variant_id": np.array(ids)[causal], "gene_id": "G1", "effect": effect[causal],
                          "mechanism": "motif_break", "motif": "GATA"})
    # a causal variant of another gene: in G1's window it is an "other" pair; outside every window
    truth = pd.concat([truth, pd.DataFrame({"variant_id": [ids[0], "chr1:99999:A:C"], "gene_id": ["G2", "G1"],
                                            "effect": [0.5, 0.5], "mechanism": "motif_gain", "motif": "SP1"})])
    return scores, truth


def test_metrics_match_sklearn_per_class():
    scores, truth = _pairs(np.random.default_rng(0))
    res = score_against_truth(scores, truth)
    y_all = scores["variant_id"].isin(truth.loc[truth["gene_id"] == "G1", "variant_id"]).to_numpy()
    is_indel = scores["variant_id"].str.split(":").map(lambda p: len(p[2]) != len(p[3])).to_numpy()
    for name, mask in (("snv", ~is_indel), ("indel", is_indel), ("all", np.ones_like(is_indel))):
        got, y, sub = res["classes"][name], y_all[mask], scores[mask]
        assert got["n_causal"] == y.sum() and got["n_other"] == (~y).sum()
        for key, col in (("ism", "s2e_ism"), ("gxi", "s2e_gxi")):
            assert got[f"auroc_{key}_abs"] == pytest.approx(roc_auc_score(y, sub[col].abs()), abs=1e-12)
            assert got[f"auprc_{key}_abs"] == pytest.approx(average_precision_score(y, sub[col].abs()), abs=1e-12)
        eff = truth.set_index("variant_id").loc[sub["variant_id"][y]]
        eff = eff[eff["gene_id"] == "G1"]["effect"].to_numpy()
        assert got["sign_agreement_ism"] == pytest.approx(np.mean(np.sign(sub["s2e_ism"][y]) == np.sign(eff)))
    assert res["n_causal_truth"] == len(truth) and res["n_causal_scored"] == y_all.sum()


def test_class_without_causal_pairs_is_not_computable():
    scores, truth = _pairs(np.random.default_rng(1))
    truth = truth[truth["variant_id"].map(variant_class_of) == "snv"]
    res = score_against_truth(scores, truth)
    indel = res["classes"]["indel"]
    assert indel["n_causal"] == 0 and indel["n_other"] == 60
    assert indel["auroc_ism_abs"] is None and indel["auprc_gxi_abs"] is None and indel["sign_agreement_ism"] is None
    assert res["classes"]["snv"]["auroc_ism_abs"] is not None


def variant_class_of(variant_id: str) -> str:
    return str(variant_class(pd.Series([variant_id]))[0])


def test_variant_class_and_bad_ids():
    ids = pd.Series(["chr1:5:A:G", "chr1:5:AC:GT", "chr1:5:AT:A", "chr1:5:C:CAA"])
    assert variant_class(ids).tolist() == ["snv", "snv", "indel", "indel"]
    with pytest.raises(VarflowError, match="'rs123' is not chrom:pos:ref:alt"):
        variant_class(pd.Series(["chr1:5:A:G", "rs123"]))


def test_indel_share_and_median_ratio():
    ids = [f"chr1:{i}:A:G" for i in range(1, 31)] + [f"chr1:{i}:AT:A" for i in range(31, 41)]
    ism = np.r_[np.arange(1, 31), 100 + np.arange(10)].astype(float)  # every indel outranks every SNV
    scores = pd.DataFrame({"variant_id": ids, "gene_id": "G1", "s2e_ism": -ism, "s2e_ism_abs": ism, "s2e_gxi": 0.0})
    truth = pd.DataFrame({"variant_id": ["chr1:1:A:G"], "gene_id": "G1", "effect": [1.0],
                          "mechanism": "motif_break", "motif": "GATA"})
    comp = score_against_truth(scores, truth)["indel_vs_snv"]
    assert comp["indel_share_top_k"] == pytest.approx(10 / 20) and comp["indel_share_all"] == pytest.approx(10 / 40)
    assert comp["median_ism_abs_ratio"] == pytest.approx(104.5 / 15.5)


def test_step_writes_json_and_rejects_bad_truth(tmp_path):
    scores, truth = _pairs(np.random.default_rng(2))
    write_table(scores, tmp_path / "s.parquet", "variant_scores")
    write_table(truth, tmp_path / "t.parquet", "causal_variants")
    out = steps.variant_truth(tmp_path / "s.parquet", tmp_path / "t.parquet", tmp_path / "vt.json")
    assert (tmp_path / "vt.json").exists() and out["classes"]["snv"]["n_causal"] > 0
    truth.drop(columns="effect").to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(VarflowError, match="bad.parquet: missing column.*'effect'"):
        steps.variant_truth(tmp_path / "s.parquet", tmp_path / "bad.parquet", tmp_path / "vt2.json")
    scores.drop(columns="s2e_gxi").to_parquet(tmp_path / "s2.parquet")
    with pytest.raises(VarflowError, match="s2.parquet: missing column.*s2e_gxi"):
        steps.variant_truth(tmp_path / "s2.parquet", tmp_path / "t.parquet", tmp_path / "vt3.json")


# ---- the indel rule, on windows built by the loader's own copy functions --------------------------

def _windows(buf: np.ndarray, minus: bool, variants: list[tuple[int, str, str]]) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Reference window and one alt window per variant (start in the extended region, REF, ALT),
    with the loader's TSS anchoring; returns (ref (L,), alts (M, L), oriented spans)."""
    ref_len, tss = PAD * 2 + L, PAD + L // 2
    offset = left_offset(L, minus)
    table = np.concatenate([buf] + [np.frombuffer(a.encode(), np.uint8) for _, _, a in variants])
    alt_off = np.cumsum([ref_len] + [len(a) for _, _, a in variants])[:-1]

    def window(k: int | None) -> np.ndarray:
        sel = [] if k is None else [k]
        arr = [np.array(x, dtype=np.int64) for x in ([variants[i][0] for i in sel], [len(variants[i][1]) for i in sel],
                                                     [alt_off[i] for i in sel], [len(variants[i][2]) for i in sel])]
        copies = haplotype_copies(ref_len, tss, offset, L, *arr)
        if minus:
            return apply_copies(reverse_complement(table), reverse_copies(copies, L, table.shape[0]), np.empty(L, np.uint8))
        return apply_copies(table, copies, np.empty(L, np.uint8))

    rel = np.array([s - (tss - offset) for s, _, _ in variants])
    rlen = np.array([len(r) for _, r, _ in variants])
    start = L - rel - rlen if minus else rel
    return window(None), np.stack([window(k) for k in range(len(variants))]), \
        (start, rlen, np.array([len(a) for _, _, a in variants]))


def _score_phased_motifs(windows: np.ndarray) -> np.ndarray:
    """A model with position-dependent pooling: each MOTIF occurrence (either strand) at window
    index k adds 1 + 0.5 cos(2 pi k / 16), so displacing a motif by a non-multiple of 16 changes
    the score although no motif is made or broken. (n, L) codes -> (n,)."""
    hits = np.zeros(windows.shape[:1] + (windows.shape[1] - MOTIF.shape[0] + 1,))
    view = np.lib.stride_tricks.sliding_window_view(windows, MOTIF.shape[0], axis=1)
    for motif in (MOTIF, reverse_complement(MOTIF)):
        hits += (view == motif).all(axis=2)
    return hits @ (1 + 0.5 * np.cos(2 * np.pi * np.arange(hits.shape[1]) / 16))


def _buffer(rng: np.random.Generator, motifs: list[int]) -> np.ndarray:
    buf = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, 2 * PAD + L)].copy()
    for at in motifs:
        buf[at:at + MOTIF.shape[0]] = MOTIF
    return buf


def _allele(buf: np.ndarray, s: int, n_ref: int, inserted: str = "") -> tuple[int, str, str]:
    """(start, REF, ALT) of a VCF-style allele at ``s``: REF ``n_ref`` bases, ALT the anchor + ``inserted``."""
    ref = buf[s:s + n_ref].tobytes().decode()
    return s, ref, ref[0] + inserted


@pytest.mark.parametrize("minus", [False, True])
def test_indel_far_from_signal_scores_near_zero(minus):
    """Genomic layout, left of the TSS (PAD + L/2): a motif at +100 broken by a deletion, four motifs
    at +300..+420 that every allele at +600 displaces, and at +600 a 3-bp deletion, a 5-bp insertion
    and an SNV, 170 bp from any motif. On the minus strand the same alleles lie right of the TSS in
    the oriented window (the mirrored path)."""
    buf = _buffer(np.random.default_rng(3), [PAD + 100, PAD + 300, PAD + 340, PAD + 380, PAD + 420])
    s = PAD + 600
    snv = (s, chr(buf[s]), "A" if buf[s] != ord("A") else "C")
    variants = [_allele(buf, s, 4), _allele(buf, s, 1, "CCGCG"), snv, _allele(buf, PAD + 102, 3)]
    ref, alts, spans = _windows(buf, minus, variants)
    base = _score_phased_motifs(ref[None])[0]
    assert base > 4.5                                          # the five motifs are in the window

    def score(w: np.ndarray) -> np.ndarray:
        return _score_phased_motifs(w) - base

    raw = score(alts)
    ism = ism_scores(score, ref, alts, spans)
    assert abs(raw[0]) > 0.2 and abs(raw[1]) > 0.2            # the displacement alone scores by construction
    assert ism[0] == pytest.approx(0, abs=1e-9) and ism[1] == pytest.approx(0, abs=1e-9)
    assert ism[2] == raw[2] == pytest.approx(0, abs=1e-9)       # SNVs are plain ISM (none near a motif)
    assert -1.75 < ism[3] < -0.5                               # breaking a motif keeps its (phase-weighted) loss


def test_indel_over_the_tss_or_at_the_window_end_keeps_plain_ism():
    buf = _buffer(np.random.default_rng(6), [PAD + 300, PAD + 1_300])
    tss = PAD + L // 2
    variants = [_allele(buf, tss - 2, 5), _allele(buf, tss - 1, 2, "GGT"), _allele(buf, PAD + 1, 1, "AAAA")]
    ref, alts, spans = _windows(buf, False, variants)
    base = _score_phased_motifs(ref[None])[0]

    def score(w: np.ndarray) -> np.ndarray:
        return _score_phased_motifs(w) - base

    assert (ism_scores(score, ref, alts, spans) == score(alts)).all()


def test_controls_are_the_same_length_change_elsewhere():
    buf = _buffer(np.random.default_rng(4), [])
    s = PAD + 400
    ref, alts, (start, rlen, alen) = _windows(buf, False, [_allele(buf, s, 4), _allele(buf, s, 1, "TTT")])
    end = int(start[0] + rlen[0])
    # a deletion control at the allele's own junction is the alt window itself
    assert (length_controls(ref, alts[0], -3, np.array([end]))[0] == alts[0]).all()
    dup = length_controls(ref, alts[1], 3, np.array([1_000]))[0]
    assert (dup[:997] == ref[3:1_000]).all() and (dup[997:1_000] == ref[997:1_000]).all() and (dup[1_000:] == ref[1_000:]).all()
    junctions = control_junctions(end, -3, L // 2, n=4, spacing=50)
    assert junctions.tolist() == [end - 50, end + 50, end - 100, end + 100]
    near_tss = control_junctions(L // 2 - 10, 2, L // 2, n=4, spacing=50)
    assert near_tss.tolist() == [L // 2 - 60, L // 2 - 110, L // 2 - 160, L // 2 - 210]   # never past the TSS
    assert control_junctions(12, -5, L // 2, n=4, spacing=10).tolist() == [22, 32, 42, 52]  # nor the window end


def test_report_shows_the_truth_table(tmp_path):
    from varflow.report.sections import s2e

    scores, truth = _pairs(np.random.default_rng(5))
    truth = truth[truth["variant_id"].map(variant_class_of) == "snv"]
    root = tmp_path / "s2e"
    (root / "evaluate").mkdir(parents=True)
    write_table(scores, root / "variant_effects.parquet", "variant_scores")
    write_table(truth, tmp_path / "t.parquet", "causal_variants")
    assert "causal pairs are not scored" in s2e(tmp_path)
    res = steps.variant_truth(root / "variant_effects.parquet", tmp_path / "t.parquet", root / "variant_truth.json")
    html = s2e(tmp_path)
    assert "AUROC |ISM|" in html and "<td>indel</td><td>0</td><td>60</td><td>n/a</td>" in html
    assert f"{res['classes']['snv']['auroc_ism_abs']:.4g}" in html
