"""``varflow run <workflow> --params FILE`` on a user's own cohort folder (assembled by hand from the tiny
cohort's files, with a hand-written cohort.yaml): one real shrink run, the params of s2e/eqtl reaching
their pipelines, and a one-line error with exit code 1 for each kind of bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from varflow.cli.main import app
from varflow.io.tables import read_provenance, read_table
from varflow.shrink import schemas

from cli_checks import assert_one_line_error


def _copy(src: Path, dst: Path) -> str:
    shutil.copy(src, dst)
    if Path(f"{src}.tbi").exists():
        shutil.copy(f"{src}.tbi", f"{dst}.tbi")
    return dst.name


@pytest.fixture()
def my_data(tiny_cohort, tmp_path) -> Path:
    """A user's folder: one trait and one chromosome of GWAS, eQTL fine-mapping and the s2e inputs, under
    the user's own file names; the manifest is written by hand (no info beyond chromosomes)."""
    c, root = tiny_cohort, tmp_path / "mydata"
    root.mkdir()
    files = {
        "sumstats": {"ldl": _copy(c.path("sumstats", "trait2"), root / "ldl_gwas.parquet")},
        "ld": {"chr3": _copy(c.path("ld", "chr3"), root / "chr3_ld.npz")},
        "gwas_genes": _copy(c.path("gwas_genes"), root / "gwas_genes.parquet"),
        "finemap": _copy(c.path("finemap"), root / "susie.parquet"),
        "genes": _copy(c.path("genes"), root / "genes.parquet"),
        "vcf": _copy(c.path("vcf"), root / "calls.vcf.gz"),
        "reference": _copy(c.path("reference"), root / "genome.fa"),
        "expression": _copy(c.path("expression"), root / "tpm.parquet"),
    }
    (root / "cohort.yaml").write_text(yaml.safe_dump({"files": files, "info": {"chromosomes": ["chr3"]}}))
    return root


def _params(tmp_path: Path, **params) -> Path:
    path = tmp_path / "my_params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path



def test_shrink_runs_from_a_params_file(my_data, tmp_path):
    """One trait, one chromosome of the user's data; outdir and seed come from the file."""
    out = tmp_path / "results" / "shrink"  # the params file's outdir is the results folder, as for Nextflow
    pfile = _params(tmp_path, cohort=str(my_data), outdir=str(out.parent), seed=5, workflow="shrink",
                    publish_dir_mode="copy")
    result = CliRunner().invoke(app, ["run", "shrink", "--params", str(pfile), "--quick"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["traits"] == ["ldl"] and figures["chromosomes"] == ["chr3"] and "k_joint" not in figures
    assert figures["outdir"] == str(out)
    tests = read_table(out / "gene_tests" / "ldl.gene_tests.parquet", schemas.GENE_TESTS)
    genes = read_table(my_data / "gwas_genes.parquet", "gwas_genes")
    assert set(tests["CHR"]) == {"chr3"} and len(tests) == int((genes["CHR"] == "chr3").sum())
    assert tests["P"].between(0, 1).all()
    assert sorted(figures["plots"]) == ["clusters_ldl", "effects_ldl", "gene_qq"]
    effects = read_table(out / "effects" / "ldl.chr3.parquet")
    assert read_provenance(out / "effects" / "ldl.chr3.parquet").seed == 5
    # shrinkage: the shrunk effects are smaller in total than the raw ones they come from
    assert np.abs(effects["BETA_SHRUNK"]).sum() < np.abs(effects["BETA"]).sum()


def test_shrink_step_options_reach_the_steps(my_data, tmp_path):
    """Step options set in the params file change what the steps compute: the elastic net's effects (no
    PRIOR_VAR), at most 3 mixture components, the raw statistic reported, finer LD blocks."""
    out = {}
    for name, options in (("default", {}), ("set", {"shrink_method": "enet", "shrink_k_max": 3,
                                                    "shrink_report_statistic": "raw", "shrink_avg_block": 100})):
        out[name] = tmp_path / name
        pfile = _params(tmp_path, cohort=str(my_data), outdir=str(out[name]), workflow="shrink", **options)
        result = CliRunner().invoke(app, ["run", "shrink", "--params", str(pfile), "--quick"])
        assert result.exit_code == 0, result.output
    out = {name: folder / "shrink" for name, folder in out.items()}
    default, changed = (json.loads((out[n] / "run.json").read_text()) for n in ("default", "set"))
    assert changed["params"]["shrink_method"] == "enet" and "shrink_method" not in default["params"]
    assert "PRIOR_VAR" in read_table(out["default"] / "effects" / "ldl.chr3.parquet").columns
    assert "PRIOR_VAR" not in read_table(out["set"] / "effects" / "ldl.chr3.parquet").columns
    model = json.loads((out["set"] / "cluster" / "ldl.model.json").read_text())
    assert len(model["weights"]) <= 3
    tests = read_table(out["set"] / "gene_tests" / "ldl.gene_tests.parquet", schemas.GENE_TESTS)
    assert set(tests["report_statistic"]) == {"raw"}
    n_blocks = {n: len(read_table(out[n] / "ld_blocks" / "chr3.blocks.parquet")) for n in out}
    assert n_blocks["set"] > n_blocks["default"]


def test_s2e_and_eqtl_step_options_reach_the_steps(my_data, tiny_cohort, tmp_path, monkeypatch):
    """s2e_val_chroms/test_chroms reach the train step as lists, s2e_snvs_only/min_af/max_af its
    TrainConfig, s2e_enet the evaluate step, eqtl_n_boot the eqtl evaluate step; unset ones stay out."""
    from varflow.eqtl import pipeline as eqtl_pipeline
    from varflow.params import step_options
    from varflow.s2e import pipeline as s2e_pipeline

    params = {"s2e_val_chroms": "chr1,chr2", "s2e_test_chroms": "chr3", "s2e_snvs_only": True, "s2e_min_af": 0.05,
              "s2e_enet": False, "eqtl_n_boot": 50, "shrink_tol": 1e-4}
    assert step_options(params, "s2e", "train") == {"val_chroms": "chr1,chr2", "test_chroms": "chr3",
                                                     "snvs_only": True, "min_af": 0.05}
    assert step_options(params, "shrink", "cluster") == {"tol": 1e-4} and step_options({}, "s2e", "train") == {}
    _, cfg = s2e_pipeline._config(params, quick=True, seed=0)
    assert (cfg.snvs_only, cfg.min_af, cfg.max_af) == (True, 0.05, 1.0)

    calls = {}
    record = lambda name, result: (lambda *a, **kw: calls.setdefault(name, kw) and result)  # noqa: E731
    monkeypatch.setattr(s2e_pipeline.steps, "prepare", record("prepare", None))
    monkeypatch.setattr(s2e_pipeline.steps, "train", record("train", {"best_epoch": 1}))
    monkeypatch.setattr(s2e_pipeline.steps, "evaluate", record("evaluate", {"median_pearson_model": 0.1}))
    monkeypatch.setattr(s2e_pipeline.steps, "effects", record("effects", {"n_scores": 0}))
    s2e_pipeline.run_steps(*(my_data / n for n in ("calls.vcf.gz", "genome.fa", "genes.parquet", "tpm.parquet")),
                           tmp_path / "s2e", params=params, quick=True)
    assert calls["train"]["val_chroms"] == ["chr1", "chr2"] and calls["train"]["test_chroms"] == ["chr3"]
    assert calls["evaluate"]["with_enet"] is False

    seen = {}
    monkeypatch.setattr(eqtl_pipeline, "_run_one", lambda *a, **kw: seen.update(kw) or {})
    eqtl_pipeline.run_from_cohort(tiny_cohort, tmp_path / "eqtl", params={"eqtl_n_boot": 50})
    assert seen["evaluate"] == {"n_boot": 50}


def test_params_reach_each_workflow(my_data, tmp_path, monkeypatch):
    """The params file's own params of each workflow (and use_gpu) arrive in its run_from_cohort."""
    import varflow.eqtl.pipeline as eqtl_pipeline
    import varflow.s2e.pipeline as s2e_pipeline
    import varflow.shrink.pipeline as shrink_pipeline

    calls = {}

    def recorder(name):
        def run_from_cohort(cohort, outdir, **kwargs):
            calls[name] = {"cohort": cohort.root, "outdir": outdir, **kwargs}
            return {}
        return run_from_cohort

    for name, module in (("shrink", shrink_pipeline), ("s2e", s2e_pipeline), ("eqtl", eqtl_pipeline)):
        monkeypatch.setattr(module, "run_from_cohort", recorder(name))
    model = tmp_path / "my_model"
    model.mkdir()
    cfg = tmp_path / "my_eqtl.yaml"
    cfg.write_text(yaml.safe_dump({"sources": []}))
    pfile = _params(tmp_path, cohort=str(my_data), outdir=str(tmp_path / "o"), seed=9, use_gpu=False,
                    shrink_model=str(model), s2e_window=2000, s2e_epochs=1, s2e_ref_epochs=1,
                    eqtl_config=str(cfg), s2e_args="--tiny")
    runner = CliRunner()
    for wf in ("shrink", "s2e", "eqtl"):  # one outdir for all three, each in its own folder
        assert runner.invoke(app, ["run", wf, "--params", str(pfile)]).exit_code == 0
    common = {"cohort": my_data, "seed": 9, "device": "cpu", "quick": False}
    folder = {wf: tmp_path / "o" / wf for wf in calls}
    assert calls["shrink"] == {**common, "outdir": folder["shrink"], "params": {"shrink_model": str(model)}}
    assert calls["s2e"] == {**common, "outdir": folder["s2e"],
                            "params": {"s2e_window": 2000, "s2e_epochs": 1, "s2e_ref_epochs": 1}}
    assert calls["eqtl"] == {**common, "outdir": folder["eqtl"], "params": {"eqtl_config": str(cfg)}}
    # --outdir, --seed and --device on the command line win over the file
    assert runner.invoke(app, ["run", "s2e", "--params", str(pfile), "--outdir", str(tmp_path / "x"), "--seed",
                               "1", "--device", "auto"]).exit_code == 0
    assert (calls["s2e"]["outdir"], calls["s2e"]["seed"], calls["s2e"]["device"]) == (tmp_path / "x" / "s2e", 1, "auto")


def test_bad_params_files_give_one_line_errors(my_data, tmp_path):
    runner = CliRunner()

    def run(workflow, **params):
        return runner.invoke(app, ["run", workflow, "--params", str(_params(tmp_path, **params)), "--outdir",
                                   str(tmp_path / "never")])

    pfile = tmp_path / "my_params.yaml"
    assert_one_line_error(run("shrink", cohort=str(my_data), s2e_windw=8000),
                    f"{pfile}: param 's2e_windw' is not a param of the pipeline")
    assert_one_line_error(run("s2e", cohort=str(my_data), s2e_epochs="ten"),
                    f"{pfile}: param 's2e_epochs': 'ten' is not of type 'integer'")
    assert_one_line_error(run("s2e", cohort=str(my_data), s2e_window=-5),
                    f"{pfile}: param 's2e_window': -5 is less than the minimum of 100")
    assert_one_line_error(run("eqtl", seed=1), f"{pfile}: param 'cohort' is missing")
    assert_one_line_error(run("eqtl", cohort=str(tmp_path / "elsewhere")), "param 'cohort':", "does not exist")
    manifest = my_data / "cohort.yaml"
    # eqtl with the packaged config reads annotation keys this folder does not have
    assert_one_line_error(run("eqtl", cohort=str(my_data)), f"{manifest}: no 'regulatory_bed' (the eqtl workflow needs it)")
    doc = yaml.safe_load(manifest.read_text())
    del doc["files"]["gwas_genes"]
    manifest.write_text(yaml.safe_dump(doc))
    assert_one_line_error(run("shrink", cohort=str(my_data)), f"{manifest}: no 'gwas_genes' (the shrink workflow needs it)")
    (my_data / "tpm.parquet").unlink()
    assert_one_line_error(run("s2e", cohort=str(my_data)),
                    f"{manifest}: 'expression' names {my_data / 'tpm.parquet'}, which does not exist")
    assert not (tmp_path / "never").exists()  # nothing started
