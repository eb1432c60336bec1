"""Building blocks of the cohort simulator, each checked against a direct computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pysam
import pytest

from varflow.errors import VarflowError
from varflow.io.genome import ReferenceGenome
from varflow.simulate.alleles import assign_alleles
from varflow.simulate.annotations import motif_changes
from varflow.simulate.genome import codes_to_str, place_genes, random_background, write_fasta
from varflow.simulate.genotypes import simulate_haplotypes
from varflow.simulate.motifs import IUPAC, MOTIFS, count_matches, revcomp
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


def naive_changes(text: str, pos: int, ref: str, alt: str) -> tuple[list[float], list[float]]:
    """Best-site score and occupancy change per motif, by direct scoring of the 12-bp neighbourhood."""
    flank = max(len(m) for m in MOTIFS) - 1
    p = pos - 1
    left, right = text[p - flank:p], text[p + len(ref):p + len(ref) + flank]
    scores, occs = [], []
    for m in MOTIFS:
        best = [max(naive_best(local, pwm) for pwm in (m.pwm, m.pwm[::-1, ::-1]))
                for local in (left + ref + right, left + alt + right)]
        perfect = sum(max(row) for row in m.pwm)
        occ = [1 / (1 + np.exp(-(b - perfect + 2.5))) for b in best]
        scores.append(best[1] - best[0])
        occs.append(occ[1] - occ[0])
    return scores, occs


def test_motif_changes_match_direct_scoring_for_snvs_and_indels():
    rng = np.random.default_rng(3)
    seq = rng.integers(0, 4, 3_000).astype(np.uint8)
    rows = []
    for i, motif in enumerate(MOTIFS):  # a planted site per motif, hit at a fixed position
        start = 100 + 250 * i
        seq[start:start + len(motif)] = motif.sample_site(rng)
        rows.append(start + int(motif.fixed_positions[0]) + 1)
    text = codes_to_str(seq)
    positions = rows + list(rng.integers(50, 2_900, size=15))
    variants = []
    for j, pos in enumerate(positions):
        ref = text[pos - 1]
        if j % 5 == 4:
            variants.append((pos, text[pos - 1:pos + 3], ref, "del"))
        elif j % 5 == 3:
            variants.append((pos, ref, ref + "GAT", "ins"))
        else:
            variants.append((pos, ref, "ACGT"[("ACGT".index(ref) + 1) % 4], "snv"))
    df = pd.DataFrame(variants, columns=["pos", "ref", "alt", "kind"])
    score, occ = motif_changes(seq, df)
    for i, (pos, ref, alt, _kind) in enumerate(variants):
        want_score, want_occ = naive_changes(text, pos, ref, alt)
        assert score[i] == pytest.approx(want_score)
        assert occ[i] == pytest.approx(want_occ, abs=1e-12)
    # Breaking a fixed position of a perfect site unbinds it: occupancy falls from ~0.92 to ~0.1.
    for i, motif in enumerate(MOTIFS):
        if variants[i][3] == "snv":
            assert occ[i, i] < -0.7


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
