"""eqtl config validation and featurize on hand-made inputs (checked against direct computation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from varflow.eqtl.config import load_config, parse_config
from varflow.eqtl.contract import FeatureContract
from varflow.eqtl.featurize import bed_overlap, featurize
from varflow.errors import VarflowError


def _inputs(tmp_path):
    genes = pd.DataFrame({"gene_id": ["g1", "g2"], "chrom": ["chr1", "chr2"], "tss": [999, 4999],
                          "strand": ["+", "-"]})
    fm = pd.DataFrame({
        "variant_id": ["chr1:1000:A:C", "chr1:1011:A:AGG", "chr1:990:ACT:A", "chr2:5100:G:T", "chr2:5000:C:G"],
        "gene_id": ["g1", "g1", "g1", "g2", "g2"], "pip": [0.9, 0.1, 0.0, 0.5, 0.2], "cs": [1, 1, 0, 0, 0]})
    (tmp_path / "reg.bed").write_text("chr1\t1005\t1012\nchr2\t4000\t4500\n")
    (tmp_path / "score.bed").write_text("chr1\t985\t995\tx\t3.5\nchr1\t990\t1000\ty\t7\n")
    pd.DataFrame({"variant_id": ["chr1:1000:A:C", "chr2:5100:G:T", "chr1:990:ACT:A"],
                  "dl_a": [-2.0, 1.0, 0.5], "dl_b": [0.1, 0.2, 0.3], "other": [9.0, 9.0, 9.0]}
                 ).to_parquet(tmp_path / "dl.parquet")
    pd.DataFrame({"gene_id": ["g1"], "loeuf": [0.3]}).to_parquet(tmp_path / "con.parquet")
    pd.DataFrame({"variant_id": ["chr1:1000:A:C", "chr1:1011:A:AGG", "chr2:5100:G:T"],
                  "maf": [0.1, 0.3, 0.4]}).to_parquet(tmp_path / "af.parquet")
    doc = {"name": "t", "seed": 1, "allele_freq": {"path": "af.parquet"},
           "sources": [{"name": "reg", "type": "bed", "path": "reg.bed", "category": "regulatory"},
                       {"name": "sc", "type": "bed", "path": "score.bed", "category": "regulatory",
                        "value": "score", "window": 2},
                       {"name": "dl", "type": "variant_scores", "path": "dl.parquet", "columns": "dl_*",
                        "category": "deep_learning", "abs": True},
                       {"name": "con", "type": "gene_scores", "path": "con.parquet", "category": "constraint"}],
           "categories": {"deep_learning": 10, "regulatory": 1, "constraint": 1}}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(doc))
    return fm, genes, path, doc


def test_featurize_values_against_hand_computation(tmp_path):
    fm, genes, path, _ = _inputs(tmp_path)
    feats, contract = featurize(fm, genes, load_config(path))
    f = feats.set_index("variant_id")
    # distance on the 0-based scale: pos 1000 (1-based) is base 999 = the TSS -> ln 0 = -inf -> 0
    assert f.loc["chr1:1000:A:C", "abs_distance_TSS_log"] == 0.0
    assert np.isclose(f.loc["chr1:1011:A:AGG", "abs_distance_TSS_log"], np.log(11))
    assert np.isclose(f.loc["chr2:5100:G:T", "abs_distance_TSS_log"], np.log(100))
    ins, dele = f.loc["chr1:1011:A:AGG"], f.loc["chr1:990:ACT:A"]
    assert (ins["length_diff"], ins["is_insertion"], ins["is_deletion"], ins["is_indel"], ins["is_SNP"]) == (2, 1, 0, 1, 0)
    assert (dele["length_diff"], dele["is_insertion"], dele["is_deletion"], dele["is_indel"]) == (-2, 0, 1, 1)
    # MAF: the two missing values get the median of the known ones (0.1, 0.3, 0.4)
    assert f.loc["chr1:990:ACT:A", "MAF"] == 0.3 and f.loc["chr2:5000:C:G", "MAF"] == 0.3
    # BED binary: [1005,1012) overlaps the insertion at base 1010; the deletion spans bases 989..991
    assert f["reg"].tolist() == [0, 1, 0, 0, 0]
    # BED score, window 2: base 999 +-2 hits [990,1000) (7); deletion [987,994) hits both -> max 7
    assert f["sc"].tolist() == [7, 0, 7, 0, 0]
    assert f["dl__dl_a"].iloc[0] == -2 and f["dl__dl_a_abs"].iloc[0] == 2
    assert np.isnan(f.loc["chr1:1011:A:AGG", "dl__dl_a"])       # variant-level gaps stay NaN
    assert "dl__other" not in f.columns                           # column glob respected
    assert f["con__loeuf"].tolist() == [0.3] * 5                  # g2 missing -> median of g1's value
    assert contract.columns == [c for c in feats.columns if c not in
                                ("variant_id", "gene_id", "chrom", "pos", "ref", "alt", "pip")]
    assert contract.categories["dl__dl_b_abs"] == "deep_learning"
    assert contract.category_weights({"deep_learning": 10})["dl__dl_a"] == 10
    assert contract.imputation["MAF"] == 0.3


def test_contract_reuses_training_imputation_and_rejects_mismatch(tmp_path):
    fm, genes, path, doc = _inputs(tmp_path)
    cfg = load_config(path)
    _, contract = featurize(fm, genes, cfg)
    contract.save(tmp_path / "c.json")
    loaded = FeatureContract.load(tmp_path / "c.json")
    new = pd.DataFrame({"variant_id": ["chr2:1500:A:G"], "gene_id": ["g2"], "pip": [0.0], "cs": [0]})
    feats, _ = featurize(new, genes, cfg, contract=loaded)
    assert feats["MAF"].iloc[0] == 0.3 and feats["con__loeuf"].iloc[0] == 0.3   # from training, not new frame
    doc2 = dict(doc, sources=doc["sources"][:2])
    with pytest.raises(VarflowError, match="differ from the feature contract"):
        featurize(new, genes, parse_config(doc2, path=path), contract=loaded)


def test_bed_overlap_matches_brute_force():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 1000, 60)
    bed = pd.DataFrame({"chrom": rng.choice(["chr1", "2"], 60), "start": s, "end": s + rng.integers(1, 80, 60),
                        "score": rng.normal(size=60)})
    qs = rng.integers(0, 1100, 300)
    qe = qs + rng.integers(1, 5, 300)
    qc = rng.choice(["chr1", "chr2", "chr3"], 300)
    for value in ("binary", "score"):
        got = bed_overlap(qc, qs, qe, bed, value)
        bare = bed["chrom"].str.replace("chr", "")
        want = []
        for c, a, b in zip(qc, qs, qe):
            hit = (bare == c.replace("chr", "")) & (bed["start"] < b) & (bed["end"] > a)
            want.append(0.0 if not hit.any() else (1.0 if value == "binary" else bed.loc[hit, "score"].max()))
        assert np.allclose(got, want)


def test_config_errors(tmp_path):
    fm, genes, path, doc = _inputs(tmp_path)
    bad = dict(doc, sources=[dict(doc["sources"][0], path="nope.bed")])
    with pytest.raises(VarflowError, match=r"sources\[0\]: file not found: .*nope.bed"):
        parse_config(bad, path=path)
    bad = dict(doc, sources=[dict(doc["sources"][0], category="chromatin")])
    with pytest.raises(VarflowError, match="unknown category 'chromatin'"):
        parse_config(bad, path=path)
    with pytest.raises(VarflowError, match="labels.npr"):
        parse_config(dict(doc, labels={"npr": 0}), path=path)
    with pytest.raises(VarflowError, match="catboost.feature_weights"):
        parse_config(dict(doc, catboost={"feature_weights": [1]}), path=path)
    with pytest.raises(VarflowError, match="no cohort folder"):
        parse_config(dict(doc, sources=[{"name": "r", "type": "bed", "cohort": "x", "category": "regulatory"}]),
                     path=path)


def test_bad_bed_and_unknown_gene(tmp_path):
    fm, genes, path, _ = _inputs(tmp_path)
    (tmp_path / "reg.bed").write_text("chr1\t1005\t1012\nchr1\t50\t40\n")
    with pytest.raises(VarflowError, match=r"reg.bed: line 2: bad coordinates"):
        featurize(fm, genes, load_config(path))
    with pytest.raises(VarflowError, match="gene_id 'g2' is not in the gene table"):
        featurize(fm, genes.iloc[:1], load_config(path))


def _s2e_like(tmp_path):
    """A variant_scores table keyed by (variant_id, gene_id), shaped like the s2e variant effects."""
    table = pd.DataFrame({"variant_id": ["chr1:1000:A:C", "chr2:5100:G:T", "chr1:1000:A:C"],
                          "gene_id": ["g1", "g2", "g2"], "s2e_ism": [0.4, -0.2, 9.0],
                          "s2e_ism_abs": [0.4, 0.2, 9.0], "s2e_gxi": [0.01, 0.03, 9.0]})
    table.to_parquet(tmp_path / "effects.parquet")
    return tmp_path / "effects.parquet"


def test_extra_scores_join_as_deep_learning_features(tmp_path):
    fm, genes, path, doc = _inputs(tmp_path)
    effects = _s2e_like(tmp_path)
    base_feats, base_con = featurize(fm, genes, load_config(path))
    feats, con = featurize(fm, genes, load_config(path, extra_scores=[effects, f"mine={effects}"]))
    # the config's own features are unchanged; the extra ones follow in the order given
    assert con.columns[:len(base_con.columns)] == base_con.columns
    assert feats[base_con.columns].equals(base_feats[base_con.columns])
    added = con.columns[len(base_con.columns):]
    assert added == [f"{n}__{c}" for n in ("extra1", "mine") for c in ("s2e_ism", "s2e_ism_abs", "s2e_gxi")]
    assert {con.categories[c] for c in added} == {"deep_learning"}
    assert con.category_weights(load_config(path).category_weights)["extra1__s2e_gxi"] == 10
    # matched on (variant_id, gene_id): chr1:1000 scores 0.4 for g1, its g2 row (9.0) belongs to no pair
    f = feats.set_index(["variant_id", "gene_id"])
    assert f.loc[("chr1:1000:A:C", "g1"), "extra1__s2e_ism"] == 0.4
    assert f.loc[("chr2:5100:G:T", "g2"), "mine__s2e_gxi"] == 0.03
    assert np.isnan(f.loc[("chr2:5000:C:G", "g2"), "extra1__s2e_ism"])
    assert not (feats[added] == 9.0).any().any()


def test_extra_scores_category_defaults_to_weight_one_and_errors(tmp_path):
    fm, genes, path, doc = _inputs(tmp_path)
    effects = _s2e_like(tmp_path)
    no_dl = dict(doc, sources=doc["sources"][:2], categories={"regulatory": 1})
    path2 = tmp_path / "no_dl.yaml"
    path2.write_text(yaml.safe_dump(no_dl))
    cfg = load_config(path2, extra_scores=[effects])
    assert cfg.weight_of("deep_learning") == 1.0 and cfg.sources[-1].name == "extra1"
    with pytest.raises(VarflowError, match=r"sources\[4\]: file not found: .*nope.parquet"):
        load_config(path, extra_scores=[tmp_path / "nope.parquet"])
    with pytest.raises(VarflowError, match="source names must be unique"):
        load_config(path, extra_scores=[f"dl={effects}"])
    assert load_config(path, extra_scores=[]).sources == load_config(path).sources
