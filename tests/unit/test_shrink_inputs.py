"""Summary-statistics / LD / gene readers of the shrink workflow: aliases, allele matching, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from varflow.errors import VarflowError
from varflow.io.arrays import write_npz
from varflow.shrink.inputs import (LDPanel, check_gene_snp_ranges, gene_rows, match_to_ld, read_genes, read_ld,
                                   read_ld_text, read_sumstats)


def _panel(n=6, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, 3 * n))
    r = np.corrcoef(A).astype(np.float32)
    snp = np.array([f"chr1:{100 * (i + 1)}:{'ACGTAC'[i % 6]}:{'GTACTT'[i % 6]}" for i in range(n)])
    a2 = np.array([s.split(":")[2] for s in snp])
    a1 = np.array([s.split(":")[3] for s in snp])
    return LDPanel(r, snp, np.arange(1, n + 1) * 100, a1, a2, "panel")


def test_aliases_and_odds_ratio(tmp_path):
    path = tmp_path / "ss.tsv"
    pd.DataFrame({"#CHROM": ["1", "1"], "RSID": ["a", "b"], "BP": [5, 9], "ALT": ["a", "C"], "REF": ["G", "T"],
                  "OR": [2.0, 0.5], "STDERR": [0.1, 0.2]}).to_csv(path, sep="\t", index=False)
    df = read_sumstats(path)
    assert list(df["A1"]) == ["A", "C"]
    np.testing.assert_allclose(df["BETA"], np.log([2.0, 0.5]))
    assert df["POS"].dtype == np.int64 and list(df["SNP"]) == ["a", "b"]


@pytest.mark.parametrize("change, message", [
    (lambda d: d.drop(columns="SE"), "missing column"),
    (lambda d: d.assign(SE=[0.1, 0.0]), "row 1: SE must be > 0"),
    (lambda d: d.assign(BETA=[np.nan, 1.0]), "row 0: not a finite number"),
    (lambda d: d.assign(BETA=["1", "inf"]), "row 1: not a finite number"),
    (lambda d: d.assign(SNP=["x", "x"]), "duplicate SNP ID 'x' at row 1"),
])
def test_bad_sumstats(tmp_path, change, message):
    base = pd.DataFrame({"CHR": ["1", "1"], "SNP": ["a", "b"], "A1": ["A", "C"], "A2": ["G", "T"],
                         "BETA": [0.1, 0.2], "SE": [0.1, 0.1]})
    path = tmp_path / "ss.csv"
    change(base).to_csv(path, index=False)
    with pytest.raises(VarflowError, match=message) as err:
        read_sumstats(path)
    assert str(path) in str(err.value)


def test_match_flips_swapped_and_drops_ambiguous():
    panel = _panel()
    # SNP 0: same alleles; 1: swapped (ID kept); 2: ID written with swapped alleles; 3: strand complement;
    # 4: palindromic needing a swap (ambiguous); 5: mismatched alleles.
    a1, a2 = panel.a1, panel.a2
    snp2 = panel.snp[2].split(":")
    comp = str.maketrans("ACGT", "TGCA")
    rows = [
        (panel.snp[0], a1[0], a2[0], 0.5),
        (panel.snp[1], a2[1], a1[1], 0.5),
        (":".join([snp2[0], snp2[1], snp2[3], snp2[2]]), a2[2], a1[2], 0.5),
        (panel.snp[3], a1[3].translate(comp), a2[3].translate(comp), 0.5),
        (panel.snp[4], "T", "A", 0.5),
        (panel.snp[5], "G", "G", 0.5),
    ]
    panel.a1[4], panel.a2[4] = "A", "T"
    ss = pd.DataFrame(rows, columns=["SNP", "A1", "A2", "BETA"]).assign(CHR="chr1", SE=0.1)
    m = match_to_ld(ss, panel, "1", min_fraction=0.1)
    assert list(m.ld_index) == [0, 1, 2, 3]
    np.testing.assert_allclose(m.beta, [0.5, -0.5, -0.5, 0.5])
    assert m.counts["ambiguous"] == 1 and m.counts["mismatched"] == 1 and m.counts["flipped"] == 2


def _palindromic_panel(freq):
    """Four A/T SNPs with the panel's a1 = A at the given a1 frequencies."""
    n = len(freq)
    r = np.eye(n, dtype=np.float32)
    snp = np.array([f"rs{i}" for i in range(n)])
    return LDPanel(r, snp, np.arange(1, n + 1) * 100, np.array(["A"] * n), np.array(["T"] * n), "panel",
                   np.asarray(freq, dtype=float))


def test_frequencies_orient_strand_ambiguous_snps():
    # panel a1 = A at frequency 0.8 (so T at 0.2) everywhere; the GWAS reports:
    # 0: A1=T at 0.2 -> T is the panel's a2 on the same strand: flip (letters alone: ambiguous, dropped)
    # 1: A1=T at 0.8 -> T is the complement of the panel's A (other strand): keep as is
    # 2: A1=A at 0.2 -> A is the complement of the panel's T: flip (letters alone: kept unflipped)
    # 3: A1=T at 0.55 vs the panel's 0.8: MAF >= AMBIGUOUS_MAF, letters decide: swap needed -> dropped
    panel = _palindromic_panel([0.8, 0.8, 0.8, 0.8])
    ss = pd.DataFrame({"SNP": panel.snp, "A1": ["T", "T", "A", "T"], "A2": ["A", "A", "T", "A"],
                       "EAF": [0.2, 0.8, 0.2, 0.55], "BETA": 0.5, "SE": 0.1, "CHR": "1"})
    m = match_to_ld(ss, panel, "1", min_fraction=0.1)
    assert list(m.ld_index) == [0, 1, 2]
    np.testing.assert_allclose(m.beta, [-0.5, 0.5, -0.5])
    assert m.counts["by_frequency"] == 3 and m.counts["ambiguous"] == 1 and m.counts["flipped"] == 2


def test_without_both_frequencies_strand_ambiguous_snps_follow_the_letters():
    panel = _palindromic_panel([0.8, 0.8])
    ss = pd.DataFrame({"SNP": panel.snp, "A1": ["T", "A"], "A2": ["A", "T"], "BETA": 0.5, "SE": 0.1, "CHR": "1"})
    m = match_to_ld(ss, panel, "1", min_fraction=0.1)
    assert list(m.ld_index) == [1] and m.counts["ambiguous"] == 1 and m.counts["by_frequency"] == 0
    panel.freq = None
    m = match_to_ld(ss.assign(EAF=[0.2, 0.2]), panel, "1", min_fraction=0.1)
    assert list(m.ld_index) == [1] and m.counts["by_frequency"] == 0
    np.testing.assert_allclose(m.beta, [0.5])


def test_ld_npz_freq_is_read_and_checked(tmp_path):
    panel = _panel(3)
    path = tmp_path / "ld.npz"
    write_npz(path, {"r": panel.r, "snp": panel.snp, "pos": panel.pos, "a1": panel.a1, "a2": panel.a2,
                     "freq": np.array([0.1, 0.5, 0.9])})
    np.testing.assert_allclose(read_ld(path).freq, [0.1, 0.5, 0.9])
    write_npz(path, {"r": panel.r, "snp": panel.snp, "freq": np.array([0.1, 1.5, 0.9])})
    with pytest.raises(VarflowError, match="'freq' must hold one a1 frequency in \\[0, 1\\] per SNP"):
        read_ld(path)


def test_too_few_matches_is_an_error():
    panel = _panel()
    ss = pd.DataFrame({"CHR": "1", "SNP": ["nope1", "nope2", panel.snp[0]], "A1": "A", "A2": "G",
                       "BETA": 0.1, "SE": 0.1})
    with pytest.raises(VarflowError, match="only 1 of 3 SNPs on 1 match"):
        match_to_ld(ss, panel, "1")
    with pytest.raises(VarflowError, match="no SNPs on chromosome chr2"):
        match_to_ld(ss, panel, "chr2")


def test_ld_readers_agree(tmp_path):
    panel = _panel(7)
    np.savetxt(tmp_path / "m.ld", panel.r, fmt="%.6f")
    pd.DataFrame({"c": 1, "SNP": panel.snp, "cm": 0, "POS": panel.pos, "A1": panel.a1, "A2": panel.a2}).to_csv(
        tmp_path / "m.bim", sep="\t", header=False, index=False)
    np.save(tmp_path / "m.npy", panel.r)
    write_npz(tmp_path / "m.npz", {"r": panel.r, "snp": panel.snp, "pos": panel.pos, "a1": panel.a1, "a2": panel.a2})
    text = read_ld(tmp_path / "m.ld", tmp_path / "m.bim")
    npy = read_ld(tmp_path / "m.npy", tmp_path / "m.bim")
    npz = read_ld(tmp_path / "m.npz")
    np.testing.assert_allclose(text.r, panel.r, atol=1e-6)
    np.testing.assert_array_equal(npy.r, npz.r)
    assert list(text.snp) == list(panel.snp) and list(text.a1) == list(panel.a1)
    # streamed parsing across many small chunks gives the same matrix
    np.testing.assert_allclose(read_ld_text(tmp_path / "m.ld", chunk_bytes=17), panel.r, atol=1e-6)


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r[:, :-1], "not square"),
    (lambda r: r + np.triu(np.full_like(r, 0.1), 1), "not symmetric"),
    (lambda r: np.where(np.eye(len(r), dtype=bool), np.nan, r), "NaN/inf value at row 0, column 0"),
])
def test_bad_ld(tmp_path, mutate, message):
    panel = _panel(5)
    write_npz(tmp_path / "bad.npz", {"r": mutate(panel.r.copy()).astype(np.float32), "snp": panel.snp})
    with pytest.raises(VarflowError, match=message):
        read_ld(tmp_path / "bad.npz")


def _set(r, i, j, value, symmetric=False):
    r[i, j] = value
    if symmetric:
        r[j, i] = value
    return r


@pytest.mark.parametrize("mutate, message", [
    # the checks run on tiles and reductions: a bad value deep inside a large matrix is found and named
    (lambda r: _set(r, 700, 300, 0.5), r"not symmetric \(r\[300,700\]=0 vs r\[700,300\]=0.5\)"),
    (lambda r: _set(r, 12, 901, 1.5, symmetric=True), "LD value 1.5 at row 12, column 901 is outside"),
    (lambda r: _set(r, 650, 3, np.inf, symmetric=True), "NaN/inf value at row 3, column 650"),
])
def test_bad_value_in_a_large_ld_is_located(tmp_path, mutate, message):
    r = np.eye(1000, dtype=np.float32)
    snp = np.array([f"rs{i}" for i in range(1000)])
    write_npz(tmp_path / "bad.npz", {"r": mutate(r), "snp": snp})
    with pytest.raises(VarflowError, match=message):
        read_ld(tmp_path / "bad.npz")


def test_ld_size_must_match_snp_list(tmp_path):
    panel = _panel(5)
    write_npz(tmp_path / "bad.npz", {"r": panel.r, "snp": panel.snp[:4]})
    with pytest.raises(VarflowError, match="SNP list has 4 SNPs"):
        read_ld(tmp_path / "bad.npz")
    np.savetxt(tmp_path / "ragged.ld", panel.r[:, :4])
    with pytest.raises(VarflowError, match="not square"):
        read_ld(tmp_path / "ragged.ld", tmp_path / "list.txt")


def test_gene_rows_per_chromosome(tmp_path):
    table = pd.DataFrame({"CHR": ["chr1"] * 4 + ["chr2"] * 3, "POS": [10, 20, 30, 40, 10, 20, 30],
                          "ld_index": [0, 1, 2, 3, 0, 1, 2]})
    path = tmp_path / "genes.csv"
    pd.DataFrame({"gene": ["g1", "g2", "g3"], "CHR": ["1", "chr2", "chr3"], "START": [15, 15, 1],
                  "END": [30, 30, 100]}).to_csv(path, index=False)
    genes = read_genes(path)
    rows = gene_rows(genes, table)
    assert [list(r) for r in rows] == [[1, 2], [5, 6], []]
    # a table of SNP index ranges only uses them; with START/END beside them the positions decide
    by_index = genes.drop(columns=["START", "END"]).assign(SNP_START=[0, 2, 0], SNP_END=[1, 3, 1])
    assert [list(r) for r in gene_rows(by_index, table)] == [[0], [6], []]
    both = genes.assign(SNP_START=[0, 2, 0], SNP_END=[1, 3, 1])
    assert [list(r) for r in gene_rows(both, table)] == [[1, 2], [5, 6], []]


def test_gene_snp_ranges_are_checked_against_the_ld(tmp_path):
    """SNP_START/SNP_END beyond the chromosome's LD, or disagreeing with START/END, are one-line errors
    naming the gene; a reversed range is refused when the table is read."""
    pos = np.array([10, 20, 30, 40])
    genes = pd.DataFrame({"gene": ["g1", "g2"], "CHR": ["chr1", "chr1"], "START": [15, 35], "END": [30, 50],
                          "SNP_START": [1, 3], "SNP_END": [3, 4]})
    check_gene_snp_ranges(genes, "1", pos, 4, "genes.tsv")  # consistent: no error
    with pytest.raises(VarflowError, match=r"genes.tsv: gene 'g2': SNP_END 9 is beyond the 4 SNPs of 1"):
        check_gene_snp_ranges(genes.assign(SNP_END=[3, 9]), "1", pos, 4, "genes.tsv")
    with pytest.raises(VarflowError, match=r"gene 'g1': SNP_START/SNP_END \(0, 3\) disagree with START/END 15-30, "
                                           r"which hold LD SNPs \(1, 3\)"):
        check_gene_snp_ranges(genes.assign(SNP_START=[0, 3]), "1", pos, 4, "genes.tsv")
    path = tmp_path / "genes.csv"
    genes.assign(START=[31, 35]).to_csv(path, index=False)
    with pytest.raises(VarflowError, match=r"gene 'g1' \(row 0\): START 31 and END 30 are not a range"):
        read_genes(path)


def test_r_squared_and_non_psd_ld_are_refused(tmp_path):
    """r^2 given for r (no negative value) is refused when the LD is read; a block that is not PSD within
    the posterior's ridge is refused by ld-blocks, naming the block and its smallest eigenvalue."""
    from varflow.shrink import steps

    rng = np.random.default_rng(5)
    G = rng.normal(size=(200, 40))
    r = np.corrcoef(G.T).astype(np.float32)
    snp = np.array([f"s{i}" for i in range(40)])
    base = {"snp": snp, "pos": np.arange(1, 41) * 100, "a1": np.full(40, "A"), "a2": np.full(40, "G")}
    write_npz(tmp_path / "r2.npz", {**base, "r": r ** 2})
    with pytest.raises(VarflowError, match="r2.npz: LD matrix of 40 SNPs has no negative value: it looks like r\\^2"):
        read_ld(tmp_path / "r2.npz")
    bad = r.copy()
    bad[3, 4] = bad[4, 3] = -0.99  # with r[3, 4] ~ 0 before: a 2x2 minor stays PSD, the whole block not
    bad[3, 5] = bad[5, 3] = 0.99
    bad[4, 5] = bad[5, 4] = 0.99
    write_npz(tmp_path / "bad.npz", {**base, "r": bad})
    with pytest.raises(VarflowError, match=r"bad.npz: LD block 0 \(SNPs 0-\d+\) is not positive semi-definite: "
                                           r"smallest eigenvalue -"):
        steps.ld_blocks_step(tmp_path / "bad.npz", "chr1", tmp_path / "b.parquet", tmp_path / "b.npz", avg_block=1000)
    assert not (tmp_path / "b.parquet").exists()
    write_npz(tmp_path / "ok.npz", {**base, "r": r})
    steps.ld_blocks_step(tmp_path / "ok.npz", "chr1", tmp_path / "b.parquet", tmp_path / "b.npz", avg_block=1000)


def test_more_than_one_percent_dropped_is_a_warning_naming_the_reasons(caplog):
    import logging

    panel = _panel(6)
    ss = pd.DataFrame({"CHR": "1", "SNP": list(panel.snp) + ["chr1:999:A:C"], "A1": list(panel.a1) + ["A"],
                       "A2": list(panel.a2) + ["C"], "BETA": 0.1, "SE": 0.1})
    ss.loc[2, "A2"] = "N"  # an allele the panel does not have
    with caplog.at_level(logging.WARNING, logger="varflow"):
        m = match_to_ld(ss, panel, "1", where="ss.tsv")
    assert m.counts["matched"] == 5
    assert "ss.tsv: 2 of 7 SNPs on 1 do not reach the shrinkage (1 not in the LD panel, 1 with alleles other " \
           "than the panel's)" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="varflow"):
        match_to_ld(ss.iloc[:2], panel, "1", where="ss.tsv")
    assert "do not reach" not in caplog.text


def test_ids_that_differ_match_by_position_and_alleles():
    """Sumstats with chr:pos IDs against a panel of rsIDs: found by position and alleles (either
    order: a swap is flipped; reverse strand: kept), counted as by_position; another allele at the same
    position is not a match."""
    panel = _panel(6)
    panel = LDPanel(panel.r, np.array([f"rs{i}" for i in range(6)]), panel.pos, panel.a1, panel.a2, "panel")
    comp = str.maketrans("ACGT", "TGCA")
    ss = pd.DataFrame({"CHR": "1", "SNP": [f"1:{p}" for p in panel.pos[:4]], "POS": panel.pos[:4],
                       "A1": [panel.a1[0], panel.a2[1], panel.a1[2].translate(comp), "N"],
                       "A2": [panel.a2[0], panel.a1[1], panel.a2[2].translate(comp), panel.a2[3]],
                       "BETA": [0.1, 0.2, 0.3, 0.4], "SE": 0.1})
    m = match_to_ld(ss, panel, "1")
    assert m.counts["by_position"] == 3 and m.counts["not_in_ld"] == 1 and m.counts["flipped"] == 1
    assert list(m.ld_index) == [0, 1, 2]
    np.testing.assert_allclose(m.beta, [0.1, -0.2, 0.3])
