"""s2e inputs as studies have them: GTF and BED6 genes build the same store as varflow's gene table,
phenotype-BED and GCT expression read as the same matrix as the Parquet one (also with versioned gene
ids), and bad inputs stop before any work with a one-line error naming the file."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pysam
import pytest
from typer.testing import CliRunner

from varflow.cli.main import app
from varflow.io.arrays import read_npz
from varflow.io.contigs import normalise_chrom_names
from varflow.io.expression import expression_format, read_expression
from varflow.io.gene_tss import GeneTssOptions, place_genes, read_gene_tss
from varflow.s2e.dataset import align_expression
from varflow.s2e.steps import prepare
from varflow.s2e.store import HaplotypeStore

WINDOW = 1_000
CHROM = "chr1"
runner = CliRunner()


@pytest.fixture(scope="module")
def native(tiny_cohort, tmp_path_factory):
    """The tiny cohort's gene table, expression matrix and the chr1 store built from them."""
    out = tmp_path_factory.mktemp("s2e_inputs")
    genes = pd.read_parquet(tiny_cohort.path("genes"))
    prepare(tiny_cohort.path("vcf"), tiny_cohort.path("reference"), tiny_cohort.path("genes"), [CHROM],
            out / "store", window=WINDOW)
    return genes, pd.read_parquet(tiny_cohort.path("expression")), out / "store" / f"{CHROM}.npz"


def write_gtf(genes: pd.DataFrame, path) -> None:
    """GENCODE-like GTF of ``genes`` (0-based start/end -> 1-based inclusive), versioned ids, chromosome
    names without 'chr', a transcript record per gene and a lncRNA gene the biotype filter drops."""
    lines = ["##description: varflow test"]
    for g in genes.itertuples():
        attrs = f'gene_id "{g.gene_id}.3"; gene_type "protein_coding"; gene_name "N{g.gene_id}";'
        fields = [g.chrom.removeprefix("chr"), "HAVANA", "gene", g.start + 1, g.end, ".", g.strand, "."]
        lines.append("\t".join(map(str, fields)) + "\t" + attrs)
        lines.append("\t".join(map(str, [*fields[:2], "transcript", *fields[3:]])) + "\t" + attrs)
    lines.append(f'1\tHAVANA\tgene\t100\t200\t.\t+\t.\tgene_id "LNC1.1"; gene_type "lncRNA";')
    path.write_text("\n".join(lines) + "\n")


def write_bed6(genes: pd.DataFrame, path) -> None:
    genes.assign(score=0)[["chrom", "start", "end", "gene_id", "score", "strand"]].to_csv(
        path, sep="\t", header=False, index=False)


def test_bcf_builds_the_native_store(native, tiny_cohort, tmp_path):
    """The cohort VCF rewritten as a BCF with a .csi index (pysam) gives the same store shard."""
    bcf = tmp_path / "cohort.bcf"
    with pysam.VariantFile(str(tiny_cohort.path("vcf"))) as vin, \
            pysam.VariantFile(str(bcf), "wb", header=vin.header) as vout:
        for record in vin:
            vout.write(record)
    pysam.tabix_index(str(bcf), preset="vcf", csi=True, force=True)
    prepare(bcf, tiny_cohort.path("reference"), tiny_cohort.path("genes"), [CHROM], tmp_path / "store",
            window=WINDOW)
    expect, got = read_npz(native[2]), read_npz(tmp_path / "store" / f"{CHROM}.npz")
    assert sorted(got) == sorted(expect) and got["var_pos"].size > 0
    for key in expect:
        np.testing.assert_array_equal(got[key], expect[key], err_msg=key)


@pytest.mark.parametrize("kind", ["gtf", "bed"])
def test_gtf_and_bed6_build_the_native_store(native, tiny_cohort, tmp_path, kind):
    genes, _, store = native
    path = tmp_path / f"genes.{kind}"
    (write_gtf if kind == "gtf" else write_bed6)(genes, path)
    stats = prepare(tiny_cohort.path("vcf"), tiny_cohort.path("reference"), path, None, tmp_path / "store",
                    window=WINDOW, gene_options=GeneTssOptions(strip_version=True))
    assert sorted(stats) == sorted(genes["chrom"].unique())  # names follow the FASTA, not the GTF's '1'
    expect, got = read_npz(store), read_npz(tmp_path / "store" / f"{CHROM}.npz")
    assert sorted(got) == sorted(expect)
    for key in expect:  # same genes, TSS, strands, windows and variants
        np.testing.assert_array_equal(got[key], expect[key], err_msg=key)


def test_gtf_biotypes_and_gene_versions(native, tmp_path):
    genes, _, _ = native
    write_gtf(genes, tmp_path / "genes.gtf")
    kept = read_gene_tss(tmp_path / "genes.gtf")
    assert kept["gene_id"].tolist() == [f"{g}.3" for g in genes["gene_id"]]
    np.testing.assert_array_equal(kept["tss"], genes["tss"])
    every = read_gene_tss(tmp_path / "genes.gtf", GeneTssOptions(biotypes=None, strip_version=True))
    assert every["gene_id"].tolist() == [*genes["gene_id"], "LNC1"] and every["tss"].iat[-1] == 99


def test_chromosome_names_follow_the_reference(caplog):
    assert normalise_chrom_names(["1", "chr2", "MT", "M", "chrX", "7"], ["chr1", "chr2", "chrM", "X"]) == \
        ["chr1", "chr2", "chrM", "chrM", "X", None]
    genes = pd.DataFrame({"gene_id": ["a", "b", "c", "d"], "chrom": ["1", "2", "Y", "MT"], "tss": [5, 6, 7, 8],
                          "strand": "+"})
    kept, targets = place_genes(genes, "g.tsv", {"chr1": 100, "chr2": 100, "chrM": 100}, ["1", "MT"], None,
                                reference="r.fa", vcf="v.vcf.gz")
    assert targets == {"chr1": "chr1", "chrM": "chrM"} and kept["gene_id"].tolist() == ["a", "d"]
    assert "1 gene(s) on chromosomes absent from r.fa (Y) and 1 on chromosomes absent from v.vcf.gz (2)" in caplog.text


def write_phenotype_bed(genes: pd.DataFrame, expr: pd.DataFrame, path, *, index: bool) -> None:
    """tensorQTL layout (#chr start end phenotype_id samples...), sorted, bgzipped (+ .tbi)."""
    bed = genes[["chrom", "tss", "gene_id"]].merge(expr, on="gene_id").sort_values(["chrom", "tss"])
    bed.insert(2, "end", bed["tss"] + 1)
    bed = bed.rename(columns={"chrom": "#chr", "tss": "start", "gene_id": "phenotype_id"})
    plain = path.with_suffix("")
    bed.to_csv(plain, sep="\t", index=False)
    pysam.tabix_compress(str(plain), str(path), force=True)
    if index:
        pysam.tabix_index(str(path), preset="bed", force=True)


def write_gct(expr: pd.DataFrame, path) -> None:
    with open(path, "w") as fh:
        fh.write(f"#1.2\n{len(expr)}\t{expr.shape[1] - 1}\n")
        expr.rename(columns={"gene_id": "Name"}).assign(Description="d").pipe(
            lambda t: t[["Name", "Description", *expr.columns[1:]]]).to_csv(fh, sep="\t", index=False)


@pytest.mark.parametrize("kind, versioned", [("bed_tbi", False), ("bed", True), ("gct", False), ("gct", True)])
def test_phenotype_bed_and_gct_equal_the_native_matrix(native, tmp_path, kind, versioned):
    genes, expr, store_path = native
    shuffled = expr.sample(frac=1.0, random_state=1).reset_index(drop=True)  # row order must not matter
    if versioned:
        shuffled["gene_id"] = shuffled["gene_id"] + ".12"
    path = tmp_path / ("expr.gct" if kind == "gct" else "expr.bed.gz")
    if kind == "gct":
        write_gct(shuffled, path)
    else:
        write_phenotype_bed(genes.assign(gene_id=genes["gene_id"] + (".12" if versioned else "")), shuffled,
                            path, index=kind == "bed_tbi")
    assert expression_format(path) == ("gct" if kind == "gct" else "phenotype_bed")
    got = read_expression(path)
    pd.testing.assert_frame_equal(got.set_index("gene_id").loc[shuffled["gene_id"]].reset_index(),
                                  shuffled, check_names=False)
    store = HaplotypeStore.load(store_path)
    expect_values, expect_shared = align_expression(expr, store)
    values, shared = align_expression(got, store, str(path))
    assert shared == expect_shared
    np.testing.assert_array_equal(values, expect_values)


def one_line_error(result) -> str:
    lines = [ln for ln in result.output.splitlines() if ln.startswith("varflow: error:")]
    assert result.exit_code == 1 and len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def _duplicate(genes, length):
    return pd.concat([genes, genes.iloc[[2]]], ignore_index=True)


def _past_end(genes, length):
    return genes.assign(tss=np.where(genes.index == 1, length + 5, genes["tss"]))


@pytest.mark.parametrize("corrupt, chrom, message", [
    (_duplicate, None, r"gene id 'VFG00003' appears 2 times \(row 3 at chr1:\d+, row 28 at chr1:\d+\); expected one"),
    (_past_end, None, r"gene VFG00002: TSS (\d+) \(0-based\) lies outside chr1, which is (\d+) bp in .*reference"),
    (lambda genes, length: genes, "chr9", r"--chrom chr9: chromosome absent from .*reference\.fa"),
])
def test_bad_gene_inputs_stop_prepare(native, tiny_cohort, tmp_path, corrupt, chrom, message):
    genes, _, _ = native
    length = pysam.FastaFile(str(tiny_cohort.path("reference"))).get_reference_length(CHROM)
    path = tmp_path / "genes.tsv"
    corrupt(genes, length).to_csv(path, sep="\t", index=False)
    args = ["s2e", "prepare", "--vcf", str(tiny_cohort.path("vcf")), "--reference", str(tiny_cohort.path("reference")),
            "--genes", str(path), "--outdir", str(tmp_path / "store"), "--window", str(WINDOW)]
    error = one_line_error(runner.invoke(app, args + (["--chrom", chrom] if chrom else [])))
    found = re.search(message, error)
    assert found, error
    if corrupt is _past_end:
        assert found.groups() == (str(length + 5), str(length))
    assert not (tmp_path / "store").exists()  # nothing written before the check


def test_too_few_individuals_stop_train(native, tmp_path):
    _, expr, store = native
    path = tmp_path / "expr.tsv"
    expr.iloc[:, :9].to_csv(path, sep="\t", index=False)  # gene_id + 8 individuals
    result = runner.invoke(app, ["s2e", "train", str(store), "--expression", str(path), "--outdir",
                                 str(tmp_path / "model"), "--tiny", "--device", "cpu"])
    error = one_line_error(result)
    assert f"{path}: too few individuals with expression and genotypes: 8" in error
    assert "at least 3 (9 in all)" in error
    assert not (tmp_path / "model").exists()
