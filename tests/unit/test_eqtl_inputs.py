"""eqtl inputs as tools write them: variant-id spellings, fine-mapping formats, gene tables, CatBoost keys."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import yaml

from varflow.eqtl.config import catboost_parameters, parse_config
from varflow.eqtl.featurize import featurize, read_genes
from varflow.errors import VarflowError
from varflow.io.finemap import (NO_CREDIBLE_SET, detect_format, map_finemap, numbered_credible_sets,
                                susie_credible_sets)
from varflow.io.variant_ids import canonical_variant_ids, chr_style, parse_variant_ids


def test_every_variant_id_spelling_becomes_chrN_pos_ref_alt():
    ids = pd.Series(["chr1:100:a:g", "chr1_100_A_G", "chr1_100_A_G_b38", "1_100_A_G", "1:100:A:G",
                     "X_5_A_AT_b37", "MT:7:C:T", "chrM_7_C_T", "chr22_9_GA_G"])
    assert canonical_variant_ids(ids, "t").tolist() == [
        "chr1:100:A:G"] * 5 + ["chrX:5:A:AT", "chrM:7:C:T", "chrM:7:C:T", "chr22:9:GA:G"]
    parsed = parse_variant_ids(ids, "t")
    assert parsed["pos"].dtype == np.int64 and parsed["pos"].iloc[5] == 5


def test_chr_style_prefixes_primary_chromosomes_only():
    names = ["1", "chr1", "Chr1", "x", "chrY", "MT", "M", "chrMT", "GL000220.1", "chrUn_KI270302v1"]
    assert [chr_style(n) for n in names] == ["chr1", "chr1", "chr1", "chrX", "chrY", "chrM", "chrM", "chrM",
                                             "GL000220.1", "chrUn_KI270302v1"]


@pytest.mark.parametrize("bad", ["chr1-100-A-G", "chr1:100_A_G", "chr1_100_A_G_b39", "rs123", "chr1:100:A"])
def test_malformed_variant_id_names_where_row_and_column(bad):
    with pytest.raises(VarflowError, match=re.escape(f"f.tsv: row 1: malformed variant {bad!r} (expected chrN:")):
        parse_variant_ids(pd.Series(["chr1:1:A:C", bad]), "f.tsv", column="variant")
    with pytest.raises(VarflowError, match=r"row 0: variant_id 'chr1_0_A_G' has a position < 1"):
        parse_variant_ids(pd.Series(["chr1_0_A_G"]), "f.tsv")


def test_susie_labels_map_to_set_numbers_and_no_set():
    text = pd.Series(["L1", "L2", np.nan, "", "-1", "NA", "L10", " L3 "], dtype=object)
    assert susie_credible_sets(text, "t").tolist() == [1, 2, 0, 0, 0, 0, 10, 3]
    assert susie_credible_sets(pd.Series([1.0, np.nan, -1.0, 2.0]), "t").tolist() == [1, 0, 0, 2]
    assert susie_credible_sets(pd.Series([-1, 3]), "t").tolist() == [0, 3]
    assert NO_CREDIBLE_SET == 0
    with pytest.raises(VarflowError, match=r"t: row 1: column 'cs' = 'cs1' is not a credible-set label"):
        susie_credible_sets(pd.Series(["L1", "cs1"]), "t")


def test_catalogue_cs_ids_are_numbered_per_gene_in_order_of_appearance():
    gene = pd.Series(["A", "A", "A", "A", "B", "B"])
    cs_id = pd.Series(["A_L2", "A_L1", "A_L2", np.nan, "B_L1", ""], dtype=object)
    assert numbered_credible_sets(gene, cs_id).tolist() == [1, 2, 1, 0, 1, 0]


@pytest.mark.parametrize("columns, cs, expected", [
    (["variant_id", "gene_id", "pip", "cs"], [0, 1], "varflow"),
    (["variant_id", "gene_id", "pip", "cs"], [-1, 1], "susie"),
    (["variant_id", "gene_id", "pip", "cs"], ["L1", None], "susie"),
    (["variant_id", "molecular_trait_id", "pip", "cs"], [0, 1], "susie"),
    (["variant_id", "phenotype_id", "pip", "cs"], [0, 1], "susie"),
    (["molecular_trait_id", "variant", "pip", "cs_id"], ["g_L1", "g_L1"], "eqtl_catalogue"),
])
def test_format_is_told_from_the_columns(columns, cs, expected):
    df = pd.DataFrame({c: ["x", "y"] for c in columns})
    df[columns[-1]] = cs
    assert detect_format(df) == expected


@pytest.mark.parametrize("df, message", [
    (pd.DataFrame({"variant_id": ["chr1:1:A:G"], "molecular_trait_id": ["g"], "cs": ["L1"]}),
     r"f.tsv: missing column\(s\) 'pip' \(the susieR fine-mapping format has variant_id, pip, cs and one of"),
    (pd.DataFrame({"variant": ["chr1_1_A_G"], "pip": [0.5], "cs_id": ["g_L1"]}),
     r"f.tsv: no gene column \(the eQTL Catalogue fine-mapping format has variant, pip, cs_id and one of gene_id, "
     r"molecular_trait_id\)"),
    (pd.DataFrame({"variant_id": ["chr1:1:A:G"], "gene_id": ["g"], "pip": [0.5]}),
     r"f.tsv: missing column\(s\) 'cs' \(table 'finemap' expects"),
    (pd.DataFrame({"molecular_trait_id": ["g"], "variant": ["chr1-1-A-G"], "pip": [0.5], "cs_id": ["g_L1"]}),
     r"f.tsv: row 0: malformed variant 'chr1-1-A-G'"),
])
def test_mapping_errors_name_file_and_column(df, message):
    with pytest.raises(VarflowError, match=message):
        map_finemap(df, "f.tsv")


def test_catalogue_table_prefers_gene_id_and_keeps_maf():
    df = pd.DataFrame({"molecular_trait_id": ["ENST1", "ENST2"], "gene_id": ["ENSG1", "ENSG1"],
                       "variant": ["chr1_5_A_G", "1_6_C_T"], "pip": [0.7, 0.2], "cs_id": ["ENST1_L1", "ENST2_L1"],
                       "rsid": ["rs1", "rs2"], "maf": [0.1, 0.2]})
    out, fmt, _ = map_finemap(df, "f.tsv")
    assert fmt == "eqtl_catalogue"
    assert out.to_dict("list") == {"variant_id": ["chr1:5:A:G", "chr1:6:C:T"], "gene_id": ["ENSG1", "ENSG1"],
                                   "pip": [0.7, 0.2], "cs": [1, 2], "maf": [0.1, 0.2]}


def _scores_config(tmp_path, spell):
    """A config with one variant_scores source and an allele_freq table, both keyed by ``spell(id)``."""
    ids = ["chr1:1000:A:C", "chr1:1011:A:AGG", "chr2:5100:G:T"]
    pd.DataFrame({"variant_id": [spell(v) for v in ids], "dl_a": [1.0, 2.0, 3.0]}).to_parquet(tmp_path / "dl.parquet")
    pd.DataFrame({"variant_id": [spell(v) for v in ids], "maf": [0.1, 0.2, 0.3]}).to_parquet(tmp_path / "af.parquet")
    doc = {"allele_freq": {"path": "af.parquet"}, "categories": {"deep_learning": 10},
           "sources": [{"name": "dl", "type": "variant_scores", "path": "dl.parquet", "category": "deep_learning"}]}
    return parse_config(doc, path=tmp_path / "cfg.yaml")


def _gtex(vid: str) -> str:
    chrom, pos, ref, alt = vid.split(":")
    return f"{chrom[3:]}_{pos}_{ref}_{alt}_b38"


def test_score_and_allele_freq_tables_keyed_by_gtex_ids_join_like_native_ones(tmp_path):
    genes = pd.DataFrame({"gene_id": ["g1", "g2"], "chrom": ["chr1", "chr2"], "tss": [999, 4999]})
    fm = pd.DataFrame({"variant_id": ["chr1:1000:A:C", "chr1_1011_A_AGG_b38", "2_5100_G_T"],
                       "gene_id": ["g1", "g1", "g2"], "pip": [0.9, 0.1, 0.5], "cs": [1, 1, 0]})
    (tmp_path / "native").mkdir()
    (tmp_path / "gtex").mkdir()
    native, _ = featurize(fm, genes, _scores_config(tmp_path / "native", lambda v: v))
    gtex, _ = featurize(fm, genes, _scores_config(tmp_path / "gtex", _gtex))
    pd.testing.assert_frame_equal(gtex, native)
    assert native["variant_id"].tolist() == ["chr1:1000:A:C", "chr1:1011:A:AGG", "chr2:5100:G:T"]
    assert native["dl__dl_a"].tolist() == [1.0, 2.0, 3.0] and native["MAF"].tolist() == [0.1, 0.2, 0.3]


def test_gene_table_with_numeric_chromosomes_reads_and_joins(tmp_path):
    (tmp_path / "genes.tsv").write_text("gene_id\tchrom\ttss\ng1\t1\t999\ng2\t2\t4999\n")
    genes = read_genes(tmp_path / "genes.tsv")
    assert genes["chrom"].tolist() == ["1", "2"]
    fm = pd.DataFrame({"variant_id": ["chr1:1000:A:C", "chr2:5100:G:T"], "gene_id": ["g1", "g2"],
                       "pip": [0.9, 0.5], "cs": [1, 0]})
    cfg = parse_config({}, path=tmp_path / "cfg.yaml")
    numeric, _ = featurize(fm, genes, cfg)
    prefixed, _ = featurize(fm, genes.assign(chrom=["chr1", "chr2"]), cfg)
    pd.testing.assert_frame_equal(numeric, prefixed)
    mito = pd.DataFrame({"gene_id": ["m"], "chrom": ["MT"], "tss": [99]})
    feats, _ = featurize(pd.DataFrame({"variant_id": ["chrM:100:A:G"], "gene_id": ["m"], "pip": [0.1], "cs": [0]}),
                         mito, cfg)
    assert feats["chrom"].tolist() == ["chrM"]
    with pytest.raises(VarflowError, match="row 0: variant chr2:1000:A:C is on chr2 but gene g1 is on 1"):
        featurize(fm.assign(variant_id=["chr2:1000:A:C", "chr2:5100:G:T"]), genes, cfg)


def test_catboost_keys_are_checked_at_config_load(tmp_path):
    path = tmp_path / "typo.yaml"
    with pytest.raises(VarflowError, match=r"typo.yaml: catboost.detph: not a CatBoostClassifier parameter "
                                           r"\(did you mean 'depth'\?\)"):
        parse_config(yaml.safe_load("catboost: {detph: 4}"), path=path)
    with pytest.raises(VarflowError, match="catboost: must be a mapping"):
        parse_config({"catboost": [1]}, path=path)
    with pytest.raises(VarflowError, match="catboost.random_seed: set through"):
        parse_config({"catboost": {"random_seed": 1}}, path=path)
    cfg = parse_config({"catboost": {"rsm": 0.5, "early_stopping_rounds": 20, "depth": 4}}, path=path)
    assert cfg.catboost["depth"] == 4 and cfg.catboost["rsm"] == 0.5 and cfg.catboost["iterations"] == 1000
    assert {"depth", "border_count", "leaf_estimation_method", "thread_count"} <= catboost_parameters()
