"""The shrink workflow end to end on the tiny cohort (in-process and through the CLI), and bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from varflow.cli.main import app
from varflow.io.arrays import read_npz, write_npz
from varflow.io.tables import read_table
from varflow.shrink import schemas
from varflow.shrink.pipeline import run_from_cohort

runner = CliRunner()


@pytest.fixture(scope="module")
def pipeline_run(tiny_cohort, tmp_path_factory):
    out = tmp_path_factory.mktemp("shrink_run")
    return out, run_from_cohort(tiny_cohort, out, seed=0, device="cpu", quick=True)


def test_run_from_cohort_outputs(pipeline_run, tiny_cohort):
    out, figures = pipeline_run
    assert figures["traits"] == ["trait1", "trait2"]
    assert figures["n_snps"] == sum(len(read_npz(p)["snp"]) for p in tiny_cohort.group("ld").values())
    for trait in figures["traits"]:
        eff = pd.concat([read_table(out / "effects" / f"{trait}.{c}.parquet", schemas.EFFECTS)
                         for c in tiny_cohort.group("ld")])
        truth = read_table(tiny_cohort.path("gwas_truth"), "gwas_truth").set_index("SNP")[f"beta_{trait}"]
        b = truth.reindex(eff["SNP"]).to_numpy()
        assert np.corrcoef(eff["BETA_SHRUNK"], b)[0, 1] > np.corrcoef(eff["BETA"], b)[0, 1]
        tests = read_table(out / "gene_tests" / f"{trait}.gene_tests.parquet", schemas.GENE_TESTS)
        assert len(tests) == tiny_cohort.info["n_genes"] or len(tests) == len(read_table(tiny_cohort.path("gwas_genes")))
        tested = tests.dropna(subset=["P"])
        assert ((tested["P"] >= 0) & (tested["P"] <= 1)).all() and (tested["Q"] >= tested["P"] - 1e-12).all()
        assert tested["P_RAW"].between(0, 1).all() and (tested["Q_RAW"] >= tested["P_RAW"] - 1e-12).all()
        assert tested["P_COND"].between(0, 1).all() and (tested["Q_COND"] >= tested["P_COND"] - 1e-12).all()
        assert set(tests["report_statistic"]) == {"conditional"} and figures["gene_report_statistic"] == "conditional"
        assert figures[f"genes_q05_{trait}"] == figures[f"genes_q05_conditional_{trait}"] == \
            int((tests["Q_COND"] < 0.05).sum())
    types = read_table(out / "multitrait" / "cluster_types.parquet", schemas.CLUSTER_TYPES)
    assert len(types) == figures["k_joint"]
    genes = read_table(out / "multitrait" / "genes.parquet", schemas.MULTITRAIT_GENES)
    frac = genes[[c for c in genes.columns if c.startswith("frac_")]].sum(axis=1)
    np.testing.assert_allclose(frac[genes["n_snps"] > 0], 1.0)
    for name in figures["plots"]:
        assert (out / "plots" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_side_by_side_tasks_give_the_one_process_tables(pipeline_run, tiny_cohort, tmp_path):
    """The pipeline's worker processes (one BLAS thread each) change nothing: every table equals that of
    a one-process run with one BLAS thread, value for value."""
    from threadpoolctl import threadpool_limits

    from varflow.shrink.pipeline import run_steps

    args = (tiny_cohort.group("sumstats"), tiny_cohort.group("ld"), tiny_cohort.path("gwas_genes"))
    parallel = run_steps(*args, tmp_path / "parallel", seed=0, quick=True, workers=2)
    with threadpool_limits(1):
        serial = run_steps(*args, tmp_path / "serial", seed=0, quick=True, workers=1)
    assert parallel["workers"] == 2 and serial["workers"] == 1
    tables = sorted(p.relative_to(tmp_path / "parallel") for p in (tmp_path / "parallel").rglob("*.parquet"))
    assert len(tables) >= 8
    for t in tables:
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "parallel" / t), pd.read_parquet(tmp_path / "serial" / t))


def test_gene_statistic_matches_direct_sum(pipeline_run, tiny_cohort):
    """T of a gene = sum of squared shrunk effects of the SNPs in its SNP_START..SNP_END range; T_RAW the
    sum of their z^2; T_COND the sum of (z - what the shrunk effects of the other SNPs of each SNP's own
    LD block predict through the LD)^2, by an explicit loop."""
    out, _ = pipeline_run
    genes = read_table(tiny_cohort.path("gwas_genes"), "gwas_genes")
    tests = read_table(out / "gene_tests" / "trait1.gene_tests.parquet").set_index("gene")
    for g in genes.itertuples():
        eff = read_table(out / "effects" / f"trait1.{g.CHR}.parquet")
        r = read_npz(tiny_cohort.path("ld", g.CHR))["r"].astype(np.float64)
        sel = (eff["ld_index"] >= g.SNP_START) & (eff["ld_index"] < g.SNP_END)
        assert tests.loc[g.gene, "n_snps"] == sel.sum()
        if sel.any():
            assert tests.loc[g.gene, "T"] == pytest.approx(float((eff.loc[sel, "BETA_SHRUNK"] ** 2).sum()))
            z = eff.loc[sel, "BETA"] / eff.loc[sel, "SE"]
            assert tests.loc[g.gene, "T_RAW"] == pytest.approx(float((z ** 2).sum()))
            zeta = (eff["BETA_SHRUNK"] / eff["SE"]).to_numpy()
            li, blk = eff["ld_index"].to_numpy(), eff["block"].to_numpy()
            inside = set(np.flatnonzero(sel.to_numpy()))
            resid = [z.loc[i] - sum(r[li[i], li[k]] * zeta[k] for k in range(len(eff)) if blk[k] == blk[i] and k not in inside)
                     for i in sorted(inside)]
            assert tests.loc[g.gene, "T_COND"] == pytest.approx(float(np.sum(np.square(resid))), rel=1e-6)


def test_truth_counts_match_an_independent_count(pipeline_run, tiny_cohort):
    """genes_<count>_<trait>: genes whose SNP_START..SNP_END range holds a SNP with a non-zero true effect,
    how many of them (and of all genes) are called at Q_COND < 0.05 (the reported statistic), counted here
    from the files directly."""
    out, figures = pipeline_run
    genes = read_table(tiny_cohort.path("gwas_genes"), "gwas_genes")
    truth = read_table(tiny_cohort.path("gwas_truth"), "gwas_truth")
    for trait in figures["traits"]:
        tests = read_table(out / "gene_tests" / f"{trait}.gene_tests.parquet").set_index("gene")
        n_true = n_true_called = n_called = n_false = 0
        for g in genes.itertuples():
            on = truth[truth["CHR"] == g.CHR].reset_index(drop=True)
            has_causal = bool((on[f"beta_{trait}"].iloc[g.SNP_START:g.SNP_END] != 0).any())
            called = bool(tests.loc[g.gene, "Q_COND"] < 0.05)
            n_true += has_causal
            n_true_called += has_causal and called
            n_called += called
            n_false += called and not has_causal
        assert n_true > 0
        assert figures[f"genes_n_true_{trait}"] == n_true
        assert figures[f"genes_n_true_called_{trait}"] == n_true_called
        assert figures[f"genes_n_called_{trait}"] == n_called
        assert figures[f"genes_n_called_without_causal_{trait}"] == n_false


def _cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_cli_steps_and_single_trait_plots(tiny_cohort, tmp_path):
    ld = tiny_cohort.path("ld", "chr2")
    r = _cli("shrink", "ld-blocks", "--ld", ld, "--chrom", "chr2", "--out-blocks", tmp_path / "b.parquet",
             "--out-ld", tmp_path / "b.npz", "--avg-block", 300)
    assert r.exit_code == 0, r.output
    blocks = read_table(tmp_path / "b.parquet", schemas.LD_BLOCKS)
    assert len(blocks) == json.loads(r.output)["n_blocks"] == len(read_npz(ld)["snp"]) // 300 + 2  # floor(J/avg)+1 cuts
    r = _cli("shrink", "effects", "--sumstats", tiny_cohort.path("sumstats", "trait1"), "--block-ld",
             tmp_path / "b.npz", "--out", tmp_path / "e.parquet")
    assert r.exit_code == 0, r.output
    r = _cli("shrink", "cluster", tmp_path / "e.parquet", "--out", tmp_path / "c.parquet",
             "--out-model", tmp_path / "c.json", "--restarts", 3)
    assert r.exit_code == 0, r.output
    r = _cli("shrink", "gene-test", tmp_path / "e.parquet", ld, "--genes",
             tiny_cohort.path("gwas_genes"), "--cluster-model", tmp_path / "c.json", "--out", tmp_path / "g.parquet")
    assert r.exit_code == 0, r.output
    r = _cli("shrink", "plots", tmp_path / "e.parquet", tmp_path / "c.parquet", tmp_path / "c.json",
             tmp_path / "g.parquet", "--outdir", tmp_path / "plots")
    assert r.exit_code == 0, r.output  # a single-trait run plots without crashing
    assert sorted(json.loads(r.output)) == ["clusters_trait1", "effects_trait1", "gene_qq"]
    r = _cli("shrink", "multi-trait", "--clusters", tmp_path / "c.parquet", "--cluster-model", tmp_path / "c.json",
             "--genes", tiny_cohort.path("gwas_genes"), "--out-genes", tmp_path / "m.parquet",
             "--out-types", tmp_path / "t.parquet")
    assert r.exit_code == 1 and "at least 2 traits" in r.output and r.output.count("\n") == 1


def _one_line_error(result, *fragments):
    assert result.exit_code == 1, result.output
    assert result.output.startswith("varflow: error: ") and result.output.count("\n") == 1, result.output
    for f in fragments:
        assert f in result.output, result.output


def test_bad_inputs_give_one_line_errors(tiny_cohort, tmp_path):
    ld = read_npz(tiny_cohort.path("ld", "chr1"))
    ss = read_table(tiny_cohort.path("sumstats", "trait1"), "sumstats")
    bad_ld = tmp_path / "bad_ld.npz"
    write_npz(bad_ld, {**ld, "r": ld["r"][:, :-1]})
    _one_line_error(_cli("shrink", "ld-blocks", "--ld", bad_ld, "--chrom", "chr1", "--out-blocks",
                         tmp_path / "x.parquet", "--out-ld", tmp_path / "x.npz"), "not square")
    assert not (tmp_path / "x.parquet").exists()
    asym = ld["r"].copy()
    asym[0, 5] += 0.3
    write_npz(bad_ld, {**ld, "r": asym})
    _one_line_error(_cli("shrink", "ld-blocks", "--ld", bad_ld, "--chrom", "chr1", "--out-blocks",
                         tmp_path / "x.parquet", "--out-ld", tmp_path / "x.npz"), "not symmetric")
    r = _cli("shrink", "ld-blocks", "--ld", tiny_cohort.path("ld", "chr1"), "--chrom", "chr1", "--out-blocks",
             tmp_path / "b.parquet", "--out-ld", tmp_path / "b.npz")
    assert r.exit_code == 0
    for change, fragment in [(lambda d: d.assign(SE=np.where(d.index == 3, -1.0, d["SE"])), "row 3: SE must be > 0"),
                             (lambda d: d.assign(BETA=np.where(d.index == 7, np.nan, d["BETA"])), "row 7"),
                             (lambda d: d.drop(columns=["SE"]), "missing column(s) SE"),
                             (lambda d: d.assign(SNP=np.where(d.index == 4, d["SNP"][0], d["SNP"])), "duplicate SNP ID"),
                             (lambda d: d.assign(CHR="chr9"), "no SNPs on chromosome chr1")]:
        path = tmp_path / "ss.tsv"
        change(ss).to_csv(path, sep="\t", index=False)
        _one_line_error(_cli("shrink", "effects", "--sumstats", path, "--block-ld", tmp_path / "b.npz",
                             "--out", tmp_path / "e.parquet"), fragment, str(path))
    assert not (tmp_path / "e.parquet").exists()


def test_gene_without_snps_is_reported_not_fatal(tiny_cohort, tmp_path):
    r = _cli("shrink", "ld-blocks", "--ld", tiny_cohort.path("ld", "chr1"), "--chrom", "chr1", "--out-blocks",
             tmp_path / "b.parquet", "--out-ld", tmp_path / "b.npz")
    assert r.exit_code == 0
    assert _cli("shrink", "effects", "--sumstats", tiny_cohort.path("sumstats", "trait1"), "--block-ld",
                tmp_path / "b.npz", "--out", tmp_path / "e.parquet").exit_code == 0
    assert _cli("shrink", "cluster", tmp_path / "e.parquet", "--out", tmp_path / "c.parquet",
                "--out-model", tmp_path / "c.json", "--restarts", 2).exit_code == 0
    genes = pd.DataFrame({"gene": ["real", "desert"], "CHR": ["chr1", "chr1"], "START": [1, 10_000_000],
                          "END": [200_000, 10_000_100]})
    genes.to_csv(tmp_path / "genes.csv", index=False)
    r = _cli("shrink", "gene-test", tmp_path / "e.parquet", "--ld", tiny_cohort.path("ld", "chr1"),
             "--genes", tmp_path / "genes.csv", "--cluster-model", tmp_path / "c.json", "--out", tmp_path / "g.parquet")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output.strip().splitlines()[-1])["genes_without_snps"] == ["desert"]
    out = read_table(tmp_path / "g.parquet").set_index("gene")
    assert out.loc["desert", "n_snps"] == 0 and np.isnan(out.loc["desert", "P"]) and out.loc["real", "n_snps"] > 0
    r = _cli("shrink", "gene-test", tmp_path / "e.parquet", "--ld", tiny_cohort.path("ld", "chr2"),
             "--genes", tmp_path / "genes.csv", "--cluster-model", tmp_path / "c.json", "--out", tmp_path / "g2.parquet")
    _one_line_error(r, "no LD file given whose SNP list matches the effects of chromosome(s) chr1")


def test_a_bad_gene_table_fails_before_any_step_runs(tiny_cohort, tmp_path):
    from varflow.errors import VarflowError
    from varflow.shrink.pipeline import run_steps

    (tmp_path / "genes.gtf").write_text("chr1\tx\texon\t1\t10\t.\t+\t.\tgene_id \"G\";\n")
    with pytest.raises(VarflowError, match="no 'gene' records"):
        run_steps(tiny_cohort.group("sumstats"), tiny_cohort.group("ld"), tmp_path / "genes.gtf", tmp_path / "out")
    assert not (tmp_path / "out").exists()
