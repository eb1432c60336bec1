"""Building blocks of the cohort simulator, each checked against a direct computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pysam
import pytest

from varflow.errors import VarflowError
from varflow.io.genome import ReferenceGenome
from varflow.simulate.alleles import assign_alleles
from varflow.simulate.annotations import pwm_deltas
from varflow.simulate.genome import codes_to_str, place_genes, random_background, write_fasta
from varflow.simulate.genotypes import simulate_haplotypes
from varflow.simulate.motifs import IUPAC, MOTIFS, count_matches, pwm_delta_snv, revcomp
from varflow.simulate.vcfwrite import write_phased_vcf


def naive_count(seq: str, consensus: str) -> int:
    """Offsets where the motif or its reverse complement matches exactly (a site counts once)."""
    k = len(consensus)
    rc = revcomp(consensus)
    hits = 0
    for i in range(len(seq) - k + 1):
        window = seq[i:i + k]
        fwd = all(b in IUPAC[c] for b, c in zip(window, consensus))
        rev = all(b in IUPAC[c] for b, c in zip(window, rc))
        hits += fwd or rev
    return hits


def naive_best(seq: str, pwm: np.ndarray) -> float:
    k = pwm.shape[0]
    idx = {"A": 0, "C": 1, "G": 2, "T": 3}
    return max(sum(pwm[j, idx[seq[i + j]]] for j in range(k)) for i in range(len(seq) - k + 1))


def test_background_composition_is_human_like():
    seq = random_background(300_000, gc=0.41, cpg_retention=0.25, rng=np.random.default_rng(1))
    gc = np.isin(seq, [1, 2]).mean()
    c, g = (seq == 1).mean(), (seq == 2).mean()
    cpg = ((seq[:-1] == 1) & (seq[1:] == 2)).mean()
    assert 0.39 < gc < 0.43
    assert cpg / (c * g) < 0.4  # depleted (random sequence would give about 1.0)


def test_motif_counts_match_a_brute_force_scan():
    rng = np.random.default_rng(2)
    for motif in MOTIFS:
        # Random sequence with two planted sites (one per strand) so counts are not all zero.
        seq = rng.integers(0, 4, 300).astype(np.uint8)
        site = motif.sample_site(rng)
        seq[40:40 + len(motif)] = site
        seq[200:200 + len(motif)] = 3 - site[::-1]
        text = codes_to_str(seq)
        expected = naive_count(text, motif.consensus)
        assert count_matches(text, (motif,))[0] == expected >= 2


def test_pwm_delta_snv_matches_direct_scoring():
    rng = np.random.default_rng(3)
    kmax = max(len(m) for m in MOTIFS)
    windows = rng.integers(0, 4, size=(25, 2 * kmax - 1)).astype(np.uint8)
    motif = MOTIFS[3]
    windows[:10, kmax - 1 - 4: kmax - 1 - 4 + len(motif)] = motif.sample_site(rng)  # sites over the centre
    alt = (windows[:, kmax - 1] + rng.integers(1, 4, size=25)) % 4
    got = pwm_delta_snv(windows, alt.astype(np.uint8))
    for i in range(25):
        ref_s = codes_to_str(windows[i])
        alt_codes = windows[i].copy()
        alt_codes[kmax - 1] = alt[i]
        alt_s = codes_to_str(alt_codes)
        for j, m in enumerate(MOTIFS):
            k = len(m)
            lo, hi = kmax - 1 - (k - 1), kmax + k - 1
            best = 0.0
            for pwm in (m.pwm, m.pwm[::-1, ::-1]):
                d = naive_best(alt_s[lo:hi], pwm) - naive_best(ref_s[lo:hi], pwm)
                best = d if abs(d) > abs(best) + 1e-9 else best
            assert got[i, j] == pytest.approx(best)
    assert (np.abs(got[:10, 3]) > 1).all()  # breaking a planted SP1 site costs score


def test_pwm_deltas_of_an_indel_match_direct_scoring():
    rng = np.random.default_rng(4)
    seq = rng.integers(0, 4, 200).astype(np.uint8)
    site = MOTIFS[0].sample_site(rng)
    seq[100:100 + len(site)] = site
    text = codes_to_str(seq)
    variants = pd.DataFrame({"pos": [103], "ref": [text[102:106]], "alt": [text[102]], "kind": ["del"]})
    got = pwm_deltas(seq, variants)
    kmax = max(len(m) for m in MOTIFS)
    ref_local = text[102 - kmax + 1:106 + kmax - 1]
    alt_local = text[102 - kmax + 1:103] + text[106:106 + kmax - 1]
    for j, m in enumerate(MOTIFS):
        best = 0.0
        for pwm in (m.pwm, m.pwm[::-1, ::-1]):
            d = naive_best(alt_local, pwm) - naive_best(ref_local, pwm)
            best = d if abs(d) > abs(best) + 1e-9 else best
        assert got[0, j] == pytest.approx(best)


def test_genes_keep_their_windows_on_the_chromosome():
    genes = place_genes("chr1", 500_000, 10, flank=20_000, spacing=40_000, rng=np.random.default_rng(5))
    tss = genes["tss"].to_numpy()
    assert (tss - 20_000 >= 0).all() and (tss + 20_000 <= 500_000).all()
    assert (np.diff(tss) >= 40_000).all()
    assert set(genes["strand"]) <= {"+", "-"}
    assert (genes["start"] < genes["end"]).all()
    plus = genes["strand"] == "+"
    assert (genes.loc[plus, "start"] == genes.loc[plus, "tss"]).all()
    assert (genes.loc[~plus, "end"] == genes.loc[~plus, "tss"] + 1).all()


def test_too_many_genes_is_a_clear_error():
    with pytest.raises(VarflowError, match="cannot fit on chr2"):
        place_genes("chr2", 100_000, 5, flank=20_000, spacing=40_000, rng=np.random.default_rng(0))


def test_fasta_round_trips_through_the_reader(tmp_path):
    rng = np.random.default_rng(6)
    seqs = {"chr1": rng.integers(0, 4, 1234).astype(np.uint8), "chr2": rng.integers(0, 4, 120).astype(np.uint8)}
    write_fasta(tmp_path / "ref.fa", seqs)
    with ReferenceGenome(tmp_path / "ref.fa") as ref:
        assert ref.lengths == {"chr1": 1234, "chr2": 120}
        assert ref.fetch("chr1", 0, 1234) == codes_to_str(seqs["chr1"])
        assert ref.fetch("chr2", 59, 61) == codes_to_str(seqs["chr2"][59:61])


def test_alleles_are_anchored_on_the_reference_and_do_not_overlap():
    rng = np.random.default_rng(7)
    seq = rng.integers(0, 4, 50_000).astype(np.uint8)
    positions = np.unique(rng.integers(1, 49_990, 600))
    mask = np.zeros(seq.size, dtype=bool)
    mask[10_000:12_000] = True
    forced_pos = int(positions[(positions > 10_100) & (positions < 11_900)][0])
    forced_alt = (int(seq[forced_pos]) + 2) % 4
    v = assign_alleles("chr1", seq, positions, rng, indel_fraction=0.2, element_mask=mask,
                       forced_alt={forced_pos: forced_alt})
    text = codes_to_str(seq)
    for p, ref, alt, kind in zip(v["pos"], v["ref"], v["alt"], v["kind"]):
        assert text[p - 1:p - 1 + len(ref)] == ref
        assert ref != alt
        if kind != "snv":
            assert ref[0] == alt[0] and (len(ref) == 1) != (len(alt) == 1)
            assert not mask[max(p - 21, 0):p + 20].any()
    end = v["pos"].to_numpy() + v["ref"].str.len().to_numpy() - 1
    assert (v["pos"].to_numpy()[1:] > end[:-1]).all()
    assert v.loc[v["pos"] == forced_pos + 1, "alt"].item() == "ACGT"[forced_alt]
    assert 0.1 < (v["kind"] != "snv").mean() < 0.3


def test_vcf_round_trips_phased_haplotypes(tmp_path):
    haps = simulate_haplotypes(12, 60_000, seed=3)
    rng = np.random.default_rng(8)
    seq = rng.integers(0, 4, 60_000).astype(np.uint8)
    variants = assign_alleles("chr1", seq, haps.positions, rng, indel_fraction=0.1,
                              element_mask=np.zeros(seq.size, bool))
    samples = [f"s{i}" for i in range(12)]
    path = write_phased_vcf(tmp_path / "x.vcf.gz", {"chr1": 60_000}, samples, [(variants, haps.haplotypes)])
    assert (tmp_path / "x.vcf.gz.tbi").exists()
    with pysam.VariantFile(str(path)) as vcf:
        records = list(vcf.fetch("chr1"))
    assert len(records) == len(variants) > 20
    got = np.array([[a for s in r.samples.values() for a in s["GT"]] for r in records])
    assert (got == haps.haplotypes).all()
    assert all(s.phased for r in records for s in r.samples.values())
