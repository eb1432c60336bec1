"""Summary statistics as each tool writes them: every format read back to the same effect-allele table,
PLINK2 rows whose tested allele is REF flipped (not dropped) when matched to the panel."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from varflow.errors import VarflowError
from varflow.shrink.inputs import LDPanel, match_to_ld, read_sumstats
from varflow.shrink.sumstats_formats import detect_format

# the truth every file encodes: per SNP the effect allele, the other allele, beta per effect allele, SE
CHROM, POS = ["22", "22", "22"], [1000, 2000, 3000]
RSID = ["rs1", "rs2", "rs3"]
EFFECT, OTHER = ["A", "C", "G"], ["G", "T", "A"]
BETA, SE, N = [0.12, -0.05, 0.3], [0.02, 0.01, 0.05], [5000, 5100, 4900]


def _write(tmp_path, name, frame, sep="\t"):
    path = tmp_path / name
    if name.endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            frame.to_csv(fh, sep=sep, index=False)
    else:
        frame.to_csv(path, sep=sep, index=False, na_rep="NA")
    return path


def _files(tmp_path) -> dict[str, tuple]:
    """format name -> (path, expected SNP IDs)."""
    return {
        "regenie": (_write(tmp_path, "t.regenie.gz", pd.DataFrame({
            "CHROM": CHROM, "GENPOS": POS, "ID": RSID, "ALLELE0": OTHER, "ALLELE1": EFFECT, "A1FREQ": 0.3, "INFO": 1,
            "N": N, "TEST": "ADD", "BETA": BETA, "SE": SE, "CHISQ": 1.0, "LOG10P": 1.0}), sep=" "), RSID),
        "saige": (_write(tmp_path, "t.saige.txt", pd.DataFrame({
            "CHR": CHROM, "POS": POS, "MarkerID": RSID, "Allele1": OTHER, "Allele2": EFFECT, "AC_Allele2": 10,
            "AF_Allele2": 0.3, "N": N, "BETA": BETA, "SE": SE, "Tstat": 1.0, "p.value": 0.5})), RSID),
        "bolt_lmm": (_write(tmp_path, "t.bolt", pd.DataFrame({
            "SNP": RSID, "CHR": CHROM, "BP": POS, "GENPOS": 0.1, "ALLELE1": EFFECT, "ALLELE0": OTHER, "A1FREQ": 0.3,
            "F_MISS": 0.0, "BETA": BETA, "SE": SE, "P_BOLT_LMM_INF": 0.5})), RSID),
        "gwas_ssf": (_write(tmp_path, "t.h.tsv.gz", pd.DataFrame({
            "chromosome": CHROM, "base_pair_location": POS, "effect_allele": EFFECT, "other_allele": OTHER,
            "beta": BETA, "standard_error": SE, "effect_allele_frequency": 0.3, "p_value": 0.5, "n": N})),
            [f"22:{p}:{o}:{e}" for p, o, e in zip(POS, OTHER, EFFECT)]),
        "fastgwa": (_write(tmp_path, "t.fastGWA", pd.DataFrame({
            "CHR": CHROM, "SNP": RSID, "POS": POS, "A1": EFFECT, "A2": OTHER, "N": N, "AF1": 0.3, "BETA": BETA,
            "SE": SE, "P": 0.5})), RSID),
    }


@pytest.mark.parametrize("name", ["regenie", "saige", "bolt_lmm", "gwas_ssf", "fastgwa"])
def test_each_format_reads_to_the_same_effect_allele_table(tmp_path, name):
    path, ids = _files(tmp_path)[name]
    df = read_sumstats(path)
    assert df.attrs["format"].startswith(f"format {name}: CHR<-")
    assert list(df["SNP"]) == ids and list(df["POS"]) == POS
    assert list(df["A1"]) == EFFECT and list(df["A2"]) == OTHER
    np.testing.assert_allclose(df["BETA"], BETA)
    np.testing.assert_allclose(df["SE"], SE)


def test_gwas_ssf_rsid_and_odds_ratio(tmp_path):
    path = _write(tmp_path, "t.tsv", pd.DataFrame({
        "chromosome": CHROM, "base_pair_location": POS, "effect_allele": EFFECT, "other_allele": OTHER,
        "odds_ratio": np.exp(BETA), "standard_error": SE, "rsid": RSID, "variant_id": ["v1", "v2", "v3"]}))
    df = read_sumstats(path)
    assert list(df["SNP"]) == RSID
    np.testing.assert_allclose(df["BETA"], BETA)


def _plink2(tmp_path, logistic: bool):
    """PLINK2 --glm rows: rs1 tested on ALT, rs2 tested on REF (A1 = REF: its other allele is ALT), rs3
    tested on REF; an extra DOMDEV row, an unfitted row (NA) and a multi-allelic site tested on REF."""
    rows = pd.DataFrame({
        "#CHROM": CHROM + ["22", "22", "22"], "POS": POS + [1000, 4000, 5000],
        "ID": RSID + ["rs1", "rs4", "rs5"],
        "REF": ["G", "C", "G", "G", "C", "T"], "ALT": ["A", "T", "A", "A", "G", "C,G"],
        "A1": ["A", "C", "G", "A", "G", "T"], "TEST": ["ADD", "ADD", "ADD", "DOMDEV", "ADD", "ADD"],
        "OBS_CT": N + [5000, 5000, 5000]})
    effect = BETA + [9.0, np.nan, 0.1]
    if logistic:
        rows["OR"], rows["LOG(OR)_SE"] = np.exp(effect), SE + [0.1, np.nan, 0.1]
    else:
        rows["BETA"], rows["SE"] = effect, SE + [0.1, np.nan, 0.1]
    rows["P"] = 0.5
    return _write(tmp_path, "t.glm.logistic.hybrid" if logistic else "t.glm.linear", rows)


@pytest.mark.parametrize("logistic", [False, True])
def test_plink2_glm_other_allele_from_ref_alt(tmp_path, logistic):
    path = _plink2(tmp_path, logistic)
    assert detect_format(pd.read_csv(path, sep="\t", nrows=0).columns).name == "plink2_glm"
    df = read_sumstats(path)
    assert list(df["SNP"]) == RSID  # DOMDEV, unfitted and multi-allelic A1 = REF rows dropped and counted
    assert "'test_not_ADD': 1" in df.attrs["format"] and "'BETA_NA': 1" in df.attrs["format"]
    assert "'multiallelic_A1_is_REF': 1" in df.attrs["format"] and "A2<-REF/ALT" in df.attrs["format"]
    assert list(df["A1"]) == EFFECT and list(df["A2"]) == OTHER
    np.testing.assert_allclose(df["BETA"], BETA)
    np.testing.assert_allclose(df["N"], N)


def test_plink2_rows_tested_on_ref_are_flipped_not_dropped(tmp_path):
    """Matched to a panel whose counted allele is ALT, rs2 and rs3 (A1 = REF) keep their SNP with the
    effect negated: nothing is lost to 'mismatched'."""
    df = read_sumstats(_plink2(tmp_path, logistic=False))
    r = np.eye(3, dtype=np.float32)
    panel = LDPanel(r, np.array(RSID), np.array(POS), np.array(["A", "T", "A"]), np.array(["G", "C", "G"]), "panel")
    matched = match_to_ld(df, panel, "22")
    assert matched.counts["matched"] == 3 and matched.counts["mismatched"] == 0 and matched.counts["flipped"] == 2
    np.testing.assert_allclose(matched.beta, [BETA[0], -BETA[1], -BETA[2]])


def test_z_and_n_without_an_effect_size(tmp_path):
    """Z + N: SE = 1 / sqrt(N), BETA = Z SE (z = BETA / SE is the file's Z); with the effect-allele
    frequency, per allele (/ sqrt(2 f (1 - f))); a bad N is named."""
    z, n, f = np.array([3.0, -1.5, 0.2]), np.array(N, dtype=float), np.array([0.1, 0.5, 0.3])
    frame = pd.DataFrame({"CHR": CHROM, "SNP": RSID, "POS": POS, "A1": EFFECT, "A2": OTHER, "Z": z, "N": N})
    df = read_sumstats(_write(tmp_path, "z.tsv", frame))
    np.testing.assert_allclose(df["SE"], 1 / np.sqrt(n))
    np.testing.assert_allclose(df["BETA"] / df["SE"], z)
    assert "BETA, SE from Z and N" in df.attrs["format"]
    df = read_sumstats(_write(tmp_path, "zf.tsv", frame.assign(EAF=f)))
    np.testing.assert_allclose(df["SE"], 1 / np.sqrt(n * 2 * f * (1 - f)))
    np.testing.assert_allclose(df["BETA"] / df["SE"], z)
    with pytest.raises(VarflowError, match="column 'N' row 1: not a finite number"):
        read_sumstats(_write(tmp_path, "zbad.tsv", frame.assign(N=[5000, 0, 4000])))


def _z_of_p(p: float, sign: float) -> float:
    """sign x Phi^-1(1 - p/2) by the standard library's normal (independent of scipy), as -Phi^-1(p/2):
    the same by symmetry, without the cancellation in 1 - p/2 at small p."""
    from statistics import NormalDist

    return -sign * NormalDist().inv_cdf(p / 2)


def test_beta_and_p_or_z_without_se_keep_the_files_units(tmp_path):
    """BETA (or an odds ratio) with a P-value or Z but no SE: SE = |BETA| / |Z| with |Z| = Phi^-1(1 - P/2),
    BETA as the file gives it (log odds for an odds ratio); logged in one line."""
    p = np.array([1e-12, 0.04, 0.9])
    want_z = np.array([_z_of_p(pi, si) for pi, si in zip(p, np.sign(BETA))])
    base = pd.DataFrame({"CHR": CHROM, "SNP": RSID, "POS": POS, "A1": EFFECT, "A2": OTHER, "N": N, "P": p})
    df = read_sumstats(_write(tmp_path, "pb.tsv", base.assign(BETA=BETA)))
    np.testing.assert_allclose(df["BETA"], BETA)
    np.testing.assert_allclose(df["BETA"] / df["SE"], want_z, rtol=1e-9)
    assert "SE = |BETA| / |Z| from P" in df.attrs["format"]
    df = read_sumstats(_write(tmp_path, "zb.tsv", base.drop(columns="P").assign(BETA=BETA, Z=want_z)))
    np.testing.assert_allclose(df["SE"], np.abs(BETA / want_z))
    ssf = pd.DataFrame({"chromosome": CHROM, "base_pair_location": POS, "effect_allele": EFFECT, "other_allele": OTHER,
                        "odds_ratio": np.exp(BETA), "p_value": p, "rsid": RSID})
    df = read_sumstats(_write(tmp_path, "por.h.tsv", ssf))
    np.testing.assert_allclose(df["BETA"], BETA)
    np.testing.assert_allclose(df["BETA"] / df["SE"], want_z, rtol=1e-9)
    assert "odds ratios -> log" in df.attrs["format"]


def test_p_and_a_direction_without_an_effect_give_z_then_beta_and_se(tmp_path):
    """P + a +/- DIRECTION column, N and the frequency, no effect size: Z = sign x Phi^-1(1 - P/2), then SE
    and BETA from Z, N and the frequency as for a Z column; logged in one line."""
    p, f, n = np.array([1e-12, 0.04, 0.9]), np.array([0.1, 0.5, 0.3]), np.array(N, dtype=float)
    sign = np.sign(BETA)
    want_z = [_z_of_p(pi, si) for pi, si in zip(p, sign)]
    base = pd.DataFrame({"CHR": CHROM, "SNP": RSID, "POS": POS, "A1": EFFECT, "A2": OTHER, "N": N, "EAF": f, "P": p})
    df = read_sumstats(_write(tmp_path, "pd.tsv", base.assign(DIRECTION=np.where(sign > 0, "+", "-"))))
    np.testing.assert_allclose(df["BETA"] / df["SE"], want_z, rtol=1e-9)
    np.testing.assert_allclose(df["SE"], 1 / np.sqrt(n * 2 * f * (1 - f)))
    assert "Z from P and the sign of DIRECTION; BETA, SE from Z, N and the effect-allele frequency" in \
        df.attrs["format"]


@pytest.mark.parametrize(("column", "values", "message"), [
    ("P", [0.5, 0.0, 0.1], "column 'P' row 1: P = 0.0 is not in \\(0, 1\\]"),
    ("P", [0.5, 0.2, 1.5], "column 'P' row 2: P = 1.5 is not in \\(0, 1\\]"),
    ("DIRECTION", ["+", "+-?", "-"], "column 'DIRECTION' row 1: '\\+-\\?' is not a sign"),
])
def test_bad_p_or_sign_is_a_one_line_error(tmp_path, column, values, message):
    frame = pd.DataFrame({"CHR": CHROM, "SNP": RSID, "POS": POS, "A1": EFFECT, "A2": OTHER, "N": N, "P": 0.5,
                          "DIRECTION": ["+", "-", "+"]}).assign(**{column: values})
    path = _write(tmp_path, "bad.tsv", frame)
    with pytest.raises(VarflowError, match=f"^{path}: {message}"):
        read_sumstats(path)
