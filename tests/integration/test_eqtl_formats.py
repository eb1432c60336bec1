"""``varflow eqtl`` on fine-mapping tables as tools write them: the tiny cohort's native finemap rewritten
as a susieR TSV and an eQTL Catalogue credible_sets TSV (GTEx variant ids) gives the same features and
labels; bad inputs fail with one error line and exit code 1."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from varflow.cli.main import app


def _gtex_ids(variant_ids: pd.Series, *, prefix: bool, build: str) -> pd.Series:
    """``chrN:pos:ref:alt`` -> GTEx style ``chrN_pos_ref_alt<build>`` (``prefix=False`` drops 'chr')."""
    parts = variant_ids.str.split(":", expand=True)
    chrom = parts[0] if prefix else parts[0].str.removeprefix("chr")
    return chrom + "_" + parts[1] + "_" + parts[2] + "_" + parts[3] + build


def _susie_table(fm: pd.DataFrame) -> pd.DataFrame:
    """A susieR-derived table: molecular_trait_id, GTEx ids with the build suffix, cs labels L<k> / NA."""
    return pd.DataFrame({"molecular_trait_id": fm["gene_id"], "variant_id": _gtex_ids(fm["variant_id"], prefix=True,
                                                                                       build="_b38"),
                         "pip": fm["pip"], "cs": np.where(fm["cs"] > 0, "L" + fm["cs"].astype(str), "NA"),
                         "maf": fm["maf"]})


def _catalogue_table(fm: pd.DataFrame) -> pd.DataFrame:
    """The eQTL Catalogue's credible_sets columns; variants as '1_123_A_G', cs_id '<gene>_L<k>' (empty: no set).

    No maf column (the Catalogue has none): featurize takes MAF from the config's allele_freq table,
    which the simulator fills with the same frequencies."""
    in_set = fm["cs"] > 0
    return pd.DataFrame({
        "molecular_trait_id": fm["gene_id"], "gene_id": fm["gene_id"],
        "cs_id": np.where(in_set, fm["gene_id"] + "_L" + fm["cs"].astype(str), ""),
        "variant": _gtex_ids(fm["variant_id"], prefix=False, build=""), "rsid": "rs" + fm.index.astype(str),
        "cs_size": fm.groupby(["gene_id", "cs"])["pip"].transform("size"), "pip": fm["pip"], "pvalue": 0.01,
        "beta": fm["betahat"], "se": fm["se"], "z": fm["betahat"] / fm["se"], "cs_min_r2": 0.8,
        "region": "chr1:1-1000000"})


@pytest.fixture(scope="module")
def native(tiny_cohort, tmp_path_factory):
    """featurize + labels of the cohort's own finemap (the reference every format must reproduce)."""
    out = tmp_path_factory.mktemp("eqtl_native")
    return _steps(tiny_cohort, tiny_cohort.path("finemap"), out)


def _steps(cohort, finemap, out) -> dict:
    """Run ``eqtl featurize`` and ``eqtl labels`` on ``finemap``; returns their tables and the CLI output."""
    runner = CliRunner()
    logs = []
    for step in ("featurize", "labels"):
        res = runner.invoke(app, ["eqtl", step, "--cohort", str(cohort.root), "--finemap", str(finemap),
                                  "--outdir", str(out / step)])
        assert res.exit_code == 0, res.output
        logs.append(res.output)
    return {"features": pd.read_parquet(out / "featurize" / "features.parquet"),
            "contract": json.loads((out / "featurize" / "contract.json").read_text()),
            "labels": pd.read_parquet(out / "labels" / "labels.parquet"),
            "folds": (out / "labels" / "folds.txt").read_text(),
            "negatives": json.loads((out / "labels" / "negatives.json").read_text()), "log": "".join(logs)}


@pytest.mark.parametrize("fmt, name, build", [("susie", "susie.tsv.gz", _susie_table),
                                              ("eqtl_catalogue", "credible_sets.tsv", _catalogue_table)])
def test_tool_formats_give_the_native_features_and_labels(fmt, name, build, native, tiny_cohort, tmp_path):
    fm = pd.read_parquet(tiny_cohort.path("finemap"))
    build(fm).to_csv(tmp_path / name, sep="\t", index=False)
    got = _steps(tiny_cohort, tmp_path / name, tmp_path)
    assert got["log"].count(f"fine-mapping format {fmt} (") == 2   # one line per read, naming the format
    pd.testing.assert_frame_equal(got["features"], native["features"])
    pd.testing.assert_frame_equal(got["labels"], native["labels"])
    for key in ("contract", "folds", "negatives"):
        assert got[key] == native[key], key
    assert (native["labels"]["label"] == 1).sum() > 0 and native["folds"]


def test_gene_table_with_numeric_chromosome_names_is_accepted(native, tiny_cohort, tmp_path):
    genes = pd.read_parquet(tiny_cohort.path("genes"))
    assert genes["chrom"].str.startswith("chr").all()
    genes.assign(chrom=genes["chrom"].str.removeprefix("chr")).to_csv(tmp_path / "genes.tsv", sep="\t", index=False)
    res = CliRunner().invoke(app, ["eqtl", "featurize", "--cohort", str(tiny_cohort.root), "--genes",
                                   str(tmp_path / "genes.tsv"), "--outdir", str(tmp_path / "feat")])
    assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "feat" / "features.parquet"), native["features"])


@pytest.mark.parametrize("kind", ["gtf", "bed"])
def test_gene_annotation_gives_the_native_features(kind, native, tiny_cohort, tmp_path):
    """A GTF (gene records, '1' for 'chr1', a lncRNA the default biotype filter drops) or a BED6 as the
    gene table gives the native features: the TSS is taken from the strand."""
    genes = pd.read_parquet(tiny_cohort.path("genes"))
    path = tmp_path / f"genes.{kind}"
    if kind == "gtf":
        rows = [f'{g.chrom.removeprefix("chr")}\tHAVANA\tgene\t{g.start + 1}\t{g.end}\t.\t{g.strand}\t.\t'
                f'gene_id "{g.gene_id}"; gene_type "protein_coding";' for g in genes.itertuples()]
        rows.append('1\tHAVANA\tgene\t100\t200\t.\t+\t.\tgene_id "LNC1"; gene_type "lncRNA";')
        path.write_text("\n".join(rows) + "\n")
    else:
        genes.assign(score=0)[["chrom", "start", "end", "gene_id", "score", "strand"]].to_csv(
            path, sep="\t", header=False, index=False)
    res = CliRunner().invoke(app, ["eqtl", "featurize", "--cohort", str(tiny_cohort.root), "--genes", str(path),
                                   "--outdir", str(tmp_path / "feat")])
    assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "feat" / "features.parquet"), native["features"])


def _fails(args: list[str]) -> str:
    """Run ``varflow eqtl ...``; assert exit code 1 with exactly one error line, last; return that line."""
    res = CliRunner().invoke(app, ["eqtl", *args])
    lines = res.output.strip().splitlines()
    assert res.exit_code == 1, res.output
    assert [ln for ln in lines if ln.startswith("varflow: error:")] == lines[-1:], res.output
    assert "Traceback" not in res.output
    return lines[-1]


_SUSIE_HEADER = "variant_id\tmolecular_trait_id\tpip\tcs\n"


@pytest.mark.parametrize("text, expected", [
    (_SUSIE_HEADER + "chr1_100_A_G_b38\tg1\t0.5\tL1\nchr1-200-A-G\tg1\t0.1\tNA\n",
     "row 1: malformed variant_id 'chr1-200-A-G' (expected chrN:pos:ref:alt, chrN_pos_ref_alt or "
     "chrN_pos_ref_alt_b38)"),
    ("molecular_trait_id\tvariant\tpip\tcs_id\ng1\t1_100_A_G\t0.5\tg1_L1\ng1\t1_200_A\t0.5\tg1_L1\n",
     "row 1: malformed variant '1_200_A'"),
    ("variant_id\tmolecular_trait_id\tcs\nchr1_100_A_G\tg1\tL1\n",
     "missing column(s) 'pip' (the susieR fine-mapping format has variant_id, pip, cs and one of gene_id, "
     "molecular_trait_id, phenotype_id)"),
    (_SUSIE_HEADER + "chr1_100_A_G\tg1\t0.5\tL1\nchr1_200_A_G\tg1\t1.5\tNA\n",
     "row 1: column 'pip' = 1.5 is outside [0, 1]"),
    (_SUSIE_HEADER + "chr1_100_A_G\tg1\t0.5\tL1\nchr1_200_A_G\tg1\t0.5\tset2\n",
     "row 1: column 'cs' = 'set2' is not a credible-set label"),
], ids=["bad_variant_id", "bad_catalogue_variant", "missing_pip", "pip_above_1", "bad_cs_label"])
def test_bad_finemap_fails_in_one_line_naming_file_row_and_column(text, expected, tmp_path):
    path = tmp_path / "finemap.tsv"
    path.write_text(text)
    line = _fails(["labels", "--finemap", str(path), "--outdir", str(tmp_path / "lab")])
    assert line.startswith(f"varflow: error: {path}: ") and expected in line
    assert not (tmp_path / "lab" / "labels.parquet").exists()


def test_catboost_typo_fails_at_config_load_naming_the_closest_parameter(tmp_path):
    fm = tmp_path / "finemap.tsv"
    fm.write_text(_SUSIE_HEADER + "chr1_100_A_G\tg1\t0.5\tL1\n")
    cfg = tmp_path / "typo.yaml"
    cfg.write_text("catboost: {iterations: 10, detph: 4}\n")
    line = _fails(["labels", "--finemap", str(fm), "--config", str(cfg), "--outdir", str(tmp_path / "lab")])
    assert line == (f"varflow: error: {cfg}: catboost.detph: not a CatBoostClassifier parameter "
                    "(did you mean 'depth'?)")
