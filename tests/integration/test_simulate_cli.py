"""``varflow simulate cohort``: a small run end to end, and every bad input the issue lists."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from varflow.cli.main import app
from varflow.io.cohort import Cohort

SMALL = ["--preset", "tiny", "--n-chromosomes", "1", "--n-genes-per-chrom", "3", "--n-individuals", "30",
         "--gwas-individuals", "150"]
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, ["simulate", "cohort", *args])


def one_line_error(result) -> str:
    lines = [ln for ln in result.output.splitlines() if ln.startswith("varflow: error:")]
    assert len(lines) == 1, result.output
    return lines[0]


def leftovers(folder):
    return [p.name for p in folder.iterdir()] if folder.exists() else []


def test_small_cohort_runs_and_says_where_it_is(tmp_path):
    out = tmp_path / "cohort"
    result = invoke("--outdir", str(out), "--seed", "3", "--n-traits", "3", "--gwas-h2", "0.4", *SMALL)
    assert result.exit_code == 0, result.output
    assert str(out) in result.output
    cohort = Cohort.load(out)
    assert cohort.info["seed"] == 3 and cohort.info["n_individuals"] == 30 and cohort.info["n_genes"] == 3
    assert cohort.info["traits"] == ["trait1", "trait2", "trait3"] and cohort.info["gwas_n"] == 150
    assert cohort.path("vcf").exists() and cohort.path("finemap").exists()
    # Re-running into an existing cohort folder replaces it.
    again = invoke("--outdir", str(out), "--seed", "4", *SMALL)
    assert again.exit_code == 0, again.output
    assert Cohort.load(out).info["seed"] == 4
    assert sorted(leftovers(tmp_path)) == ["cohort"]  # no temporary folders left behind


def test_seed_must_be_an_integer(tmp_path):
    result = invoke("--outdir", str(tmp_path / "c"), "--seed", "seven")
    assert result.exit_code == 2
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("args", [["--seed", "1"], ["--outdir", "x", "--colour", "red"],
                                  ["--outdir", "x", "--preset", "huge"]])
def test_missing_or_unknown_options_are_usage_errors(args, tmp_path):
    result = runner.invoke(app, ["simulate", "cohort", *args])
    assert result.exit_code == 2


def test_more_genes_than_the_chromosome_holds(tmp_path):
    out = tmp_path / "c"
    result = invoke("--outdir", str(out), "--preset", "tiny", "--n-genes-per-chrom", "500")
    assert result.exit_code == 1
    assert "cannot fit" in one_line_error(result)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("option, value, word", [("--n-individuals", "0", "n-individuals"),
                                                 ("--scale", "0", "scale"),
                                                 ("--n-traits", "0", "n_traits"),
                                                 ("--gwas-h2", "1.5", "h2")])
def test_bad_sizes_are_one_line_errors(tmp_path, option, value, word):
    result = invoke("--outdir", str(tmp_path / "c"), "--preset", "tiny", option, value)
    assert result.exit_code == 1
    assert word in one_line_error(result)
    assert leftovers(tmp_path) == []


def test_unwritable_outdir_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = invoke("--outdir", str(blocker / "cohort"), *SMALL)
    assert result.exit_code == 1
    assert str(blocker) in one_line_error(result)
    if os.geteuid() != 0:  # root may write anywhere; the permission case only means something for users
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        result = invoke("--outdir", str(locked / "cohort"), *SMALL)
        assert result.exit_code == 1 and "not writable" in one_line_error(result)


def test_a_folder_that_is_not_a_cohort_is_never_replaced(tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.txt").write_text("keep me")
    result = invoke("--outdir", str(out), *SMALL)
    assert result.exit_code == 1
    assert "refusing" in one_line_error(result)
    assert (out / "thesis.txt").read_text() == "keep me"


def test_the_working_directory_is_never_the_cohort_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("--outdir", ".", *SMALL)
    assert result.exit_code == 1
    assert "working directory" in one_line_error(result)
    assert leftovers(tmp_path) == []


def test_failure_half_way_leaves_nothing(tmp_path, monkeypatch):
    import varflow.simulate.cohort as cohort_module
    from varflow.errors import VarflowError

    def broken(*args, **kwargs):
        raise VarflowError("fine-mapping exploded")

    monkeypatch.setattr(cohort_module, "finemap_gene", broken)
    result = invoke("--outdir", str(tmp_path / "c"), *SMALL)
    assert result.exit_code == 1
    assert "fine-mapping exploded" in one_line_error(result)
    assert leftovers(tmp_path) == []
