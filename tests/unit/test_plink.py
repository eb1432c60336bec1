"""PLINK 1 reader (bed-reader) against a .bed file encoded here by hand, and LD against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from varflow.errors import VarflowError
from varflow.io.plink import ld_from_dosage, plink_prefix, read_plink

# PLINK 1 SNP-major .bed: magic 0x6c 0x1b, mode 0x01, then per SNP ceil(n/4) bytes, 2 bits per sample
# (low bits first): 00 = homozygous A1, 01 = missing, 10 = heterozygous, 11 = homozygous A2.
_CODE = {2: 0b00, -1: 0b01, 1: 0b10, 0: 0b11}  # A1 count -> code


def _write_plink(prefix, a1_counts: np.ndarray) -> None:
    """``a1_counts`` (n_samples, J) ints in {0, 1, 2, -1 missing}."""
    n, J = a1_counts.shape
    out = bytearray([0x6C, 0x1B, 0x01])
    for j in range(J):
        for start in range(0, n, 4):
            byte = 0
            for k, g in enumerate(a1_counts[start:start + 4, j]):
                byte |= _CODE[int(g)] << (2 * k)
            out.append(byte)
    prefix.with_suffix(".bed").write_bytes(bytes(out))
    prefix.with_suffix(".bim").write_text("".join(f"7\trs{j}\t0\t{1000 + 10 * j}\tA\tG\n" for j in range(J)))
    prefix.with_suffix(".fam").write_text("".join(f"f{i} i{i} 0 0 0 -9\n" for i in range(n)))


def test_dosages_and_ld_match_the_encoded_genotypes(tmp_path):
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 3, size=(9, 6))  # 9 samples: the last byte of each SNP is partly padding
    counts[2, 1] = -1
    _write_plink(tmp_path / "panel", counts)
    geno = read_plink(tmp_path / "panel.bed")
    expect = counts.astype(np.float32)
    expect[counts < 0] = np.nan
    np.testing.assert_array_equal(geno.dosage, expect)
    assert geno.snps["SNP"].tolist() == [f"rs{j}" for j in range(6)] and geno.snps["POS"].iloc[2] == 1020
    sub = read_plink(tmp_path / "panel", slice(2, 5))
    np.testing.assert_array_equal(sub.dosage, expect[:, 2:5])
    assert sub.snps["SNP"].tolist() == ["rs2", "rs3", "rs4"]
    r, freq = ld_from_dosage(geno.dosage)
    filled = np.where(np.isnan(expect), np.nanmean(expect, axis=0), expect)
    np.testing.assert_allclose(r, np.corrcoef(filled.T), atol=1e-6)
    np.testing.assert_allclose(freq, np.nanmean(expect, axis=0) / 2)


def test_incomplete_fileset_is_named(tmp_path):
    _write_plink(tmp_path / "panel", np.zeros((4, 2), int))
    (tmp_path / "panel.fam").unlink()
    with pytest.raises(VarflowError, match=r"panel: PLINK fileset incomplete, missing \.fam"):
        plink_prefix(tmp_path / "panel.bim")
