"""varflow.io: schema validation, atomic writes, provenance, genomic readers."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from varflow.errors import VarflowError
from varflow.io import Provenance, read_npz, read_table, write_npz, write_table
from varflow.io.arrays import read_npz_provenance
from varflow.io.atomic import atomic_output, atomic_path
from varflow.io.bed import read_bed
from varflow.io.cohort import Cohort
from varflow.io.genome import ReferenceGenome
from varflow.io.tables import read_provenance


def _genes() -> pd.DataFrame:
    return pd.DataFrame({"gene_id": ["g1", "g2"], "chrom": ["chr1", "chr1"], "tss": [100, 500],
                         "strand": ["+", "-"], "start": [100, 300], "end": [200, 500]})


def test_table_roundtrip_keeps_values_and_provenance(tmp_path):
    prov = Provenance.from_cli("varflow test", {"out": tmp_path / "x"}, seed=3)
    path = write_table(_genes(), tmp_path / "genes.parquet", "genes", prov)
    back = read_table(path, "genes")
    pd.testing.assert_frame_equal(back, _genes())
    stamped = read_provenance(path)
    assert stamped.seed == 3 and stamped.command == "varflow test"
    assert stamped.params["out"] == str(tmp_path / "x")


def test_missing_column_names_file_and_column(tmp_path):
    path = tmp_path / "genes.tsv"
    _genes().drop(columns="strand").to_csv(path, sep="\t", index=False)
    with pytest.raises(VarflowError, match=r"genes\.tsv: missing column\(s\) 'strand'"):
        read_table(path, "genes")


def test_wrong_dtype_reports_expected_and_found(tmp_path):
    path = tmp_path / "genes.csv"
    _genes().assign(tss=["a", "b"]).to_csv(path, index=False)
    with pytest.raises(VarflowError, match=r"column 'tss' expected int, found"):
        read_table(path, "genes")


def test_nan_and_inf_are_rejected_with_row(tmp_path):
    df = pd.DataFrame({"variant_id": ["chr1:5:A:G", "chr1:9:C:T"], "maf": [0.1, np.inf]})
    with pytest.raises(VarflowError, match=r"column 'maf' has an infinite value at row 1"):
        write_table(df, tmp_path / "af.parquet", "allele_freq")
    df["maf"] = [np.nan, 0.2]
    with pytest.raises(VarflowError, match=r"column 'maf' has a missing value at row 0"):
        write_table(df, tmp_path / "af.parquet", "allele_freq")
    assert not list(tmp_path.iterdir()), "a failed write must leave nothing behind"


def test_extra_columns_are_typed(tmp_path):
    df = pd.DataFrame({"gene_id": ["g1"], "ind1": [1.0], "ind2": ["x"]})
    with pytest.raises(VarflowError, match="column 'ind2' expected float"):
        write_table(df, tmp_path / "e.parquet", "expression")


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "out.txt") as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_outputs_get_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "f.txt") as tmp:
            tmp.write_text("x")
        with atomic_output(tmp_path / "d"):
            pass
    finally:
        os.umask(old)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755


def test_atomic_output_replaces_folder_only_on_success(tmp_path):
    final = tmp_path / "cohort"
    with atomic_output(final) as tmp:
        (tmp / "a.txt").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_output(final) as tmp:
            (tmp / "b.txt").write_text("2")
            raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort"]
    assert [p.name for p in final.iterdir()] == ["a.txt"]


def test_unwritable_path_under_a_file_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(VarflowError, match="cannot create output directory"):
        write_table(_genes(), blocker / "g.parquet", "genes")


def test_npz_roundtrip_and_validation(tmp_path):
    r = np.eye(3, dtype=np.float32)
    path = write_npz(tmp_path / "ld.npz", {"r": r, "snp": np.array(["a", "b", "c"])},
                     Provenance.from_cli("varflow x", {}, seed=1))
    arrays = read_npz(path, {"r": ("f", 2), "snp": ("U", 1)})
    np.testing.assert_array_equal(arrays["r"], r)
    assert arrays["r"].dtype == np.float32
    assert read_npz_provenance(path).seed == 1
    with pytest.raises(VarflowError, match="array 'pos' missing"):
        read_npz(path, {"pos": ("i", 1)})
    with pytest.raises(VarflowError, match="array 'r' expected 1 dimensions, found 2"):
        read_npz(path, {"r": ("f", 1)})


def test_reference_fetch_pads_and_reconciles_names(tmp_path):
    fasta = tmp_path / "ref.fa"
    fasta.write_text(">chr1\nACGTACGTAC\n>chr2\nGGGG\n")
    with ReferenceGenome(fasta) as ref:
        assert ref.fetch("chr1", 2, 6) == "GTAC"
        assert ref.fetch("1", 2, 6) == "GTAC"
        assert ref.fetch("chr1", -3, 2) == "NNNAC"
        assert ref.fetch("chr1", 8, 13) == "ACNNN"
        assert ref.fetch("chr2", -2, 7) == "NNGGGGNNN"
        assert ref.fetch("chr2", 10, 12) == "NN"
        assert ref.fetch_codes("chr1", 0, 2).tolist() == [ord("A"), ord("C")]
        with pytest.raises(VarflowError, match="contig 'chr9' not in the reference"):
            ref.fetch("chr9", 0, 1)


def test_bed_bad_coordinates_name_the_line(tmp_path):
    bed = tmp_path / "a.bed"
    bed.write_text("chr1\t10\t20\nchr1\t30\t25\n")
    with pytest.raises(VarflowError, match=r"a\.bed: line 2: bad coordinates"):
        read_bed(bed)
    bed.write_text("chr1\t10\t20\tx\t0.5\nchr2\t0\t5\n")
    df = read_bed(bed)
    assert df["start"].tolist() == [10, 0] and df["score"].tolist() == [0.5, 1.0]


def test_cohort_manifest_paths(tmp_path):
    cohort = Cohort(root=tmp_path, files={"genes": "genes.parquet", "ld": {"chr1": "gwas/ld_chr1.npz"}},
                    info={"seed": 1})
    cohort.save()
    loaded = Cohort.load(tmp_path)
    assert loaded.path("genes") == tmp_path / "genes.parquet"
    assert loaded.group("ld") == {"chr1": tmp_path / "gwas/ld_chr1.npz"}
    with pytest.raises(VarflowError, match="no file 'vcf'"):
        loaded.path("vcf")
    with pytest.raises(VarflowError, match="not a cohort folder"):
        Cohort.load(tmp_path / "gwas")
