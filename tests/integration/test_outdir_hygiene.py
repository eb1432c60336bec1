"""A rerun into a workflow folder that holds another run's results: refused in one line before any compute,
replaced with --overwrite, allowed when it is the same run; and the run record (run.json) each run writes."""

from __future__ import annotations

import hashlib
import html
import json
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from varflow.cli.main import app
from varflow.run_record import RUN_RECORD_NAME, RunRecord

from cli_checks import assert_one_line_error


def _gwas_cohort(tiny_cohort, root: Path, traits: list[str]) -> Path:
    """A user's shrink folder: the tiny cohort's GWAS of ``traits`` on chr3 (files linked, manifest by hand)."""
    c = tiny_cohort
    root.mkdir(parents=True)
    files = {"sumstats": {t: c.path("sumstats", t) for t in traits}, "ld": {"chr3": c.path("ld", "chr3")},
             "gwas_genes": c.path("gwas_genes")}
    manifest = {}
    for key, entry in files.items():
        if isinstance(entry, dict):
            manifest[key] = {}
            for name, src in entry.items():
                (root / f"{key}_{name}{src.suffix}").symlink_to(src)
                manifest[key][name] = f"{key}_{name}{src.suffix}"
        else:
            (root / f"{key}{entry.suffix}").symlink_to(entry)
            manifest[key] = f"{key}{entry.suffix}"
    (root / "cohort.yaml").write_text(yaml.safe_dump({"files": manifest, "info": {}}))
    return root


@pytest.fixture()
def cohorts(tiny_cohort, tmp_path) -> dict[str, Path]:
    return {"two": _gwas_cohort(tiny_cohort, tmp_path / "two_traits", ["trait1", "trait2"]),
            "one": _gwas_cohort(tiny_cohort, tmp_path / "one_trait", ["trait1"])}


def _shrink(cohort: Path, outdir: Path, *extra: str):
    """``varflow run shrink --outdir outdir``: the workflow writes (and run.json records) outdir/shrink."""
    return CliRunner().invoke(app, ["run", "shrink", "--cohort", str(cohort), "--outdir", str(outdir), "--quick",
                                    *extra])


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder``: (size, mtime in ns)."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _record(folder: Path) -> dict:
    return json.loads((folder / RUN_RECORD_NAME).read_text())



def test_one_trait_into_two_trait_folder_refuses_then_overwrite_replaces(cohorts, tmp_path):
    results = tmp_path / "results"
    out = results / "shrink"
    assert _shrink(cohorts["two"], results).exit_code == 0
    assert sorted(p.name for p in (out / "effects").iterdir()) == ["trait1.chr3.parquet", "trait2.chr3.parquet"]
    first = _record(out)
    sibling = tmp_path / "results" / "s2e" / "keep.txt"  # another workflow's folder beside it
    sibling.parent.mkdir()
    sibling.write_text("mine")
    before = _snapshot(tmp_path / "results")

    refused = _shrink(cohorts["one"], results)
    assert_one_line_error(refused, f"{out}: holds the results of another run", f"started {first['started']}",
                    first["command"], "params (cohort)", "inputs (", "--overwrite")
    assert _snapshot(tmp_path / "results") == before  # nothing written or deleted

    replaced = _shrink(cohorts["one"], results, "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert not [p for p in out.rglob("*trait2*")], "the older run's trait is left beside the new one"
    assert sorted(p.name for p in (out / "effects").iterdir()) == ["trait1.chr3.parquet"]
    assert not (out / "cluster" / "joint.model.npz").exists() and not list((out / "multitrait").glob("*"))
    assert _record(out)["params"]["cohort"] == str(cohorts["one"].resolve())
    assert sibling.read_text() == "mine"  # only the workflow's own folder was cleared
    # the report lists the run record of each workflow folder
    from varflow.report.build import build_report

    record = _record(out)
    page = build_report(tmp_path / "results", tmp_path / "report.html").read_text()
    runs = page[page.index("<h3>Runs</h3>"):page.index("<h3>Software</h3>")]
    for value in ("shrink", "finished", html.escape(record["command"]), record["started"], record["finished"]):
        assert f"<td>{value}</td>" in runs, value


def test_identical_rerun_is_allowed_and_the_record_holds_the_run(cohorts, tmp_path):
    results = tmp_path / "results"
    out = results / "shrink"
    assert _shrink(cohorts["two"], results, "--seed", "4").exit_code == 0
    first = _record(out)
    again = _shrink(cohorts["two"], results, "--seed", "4")
    assert again.exit_code == 0, again.output
    record = _record(out)
    assert record["command"] == f"varflow run shrink --outdir {results} --cohort {cohorts['two']} --seed 4 --quick"
    assert record["workflow"] == "shrink" and record["status"] == "finished" and record["error"] is None
    assert record["params"] == {"cohort": str(cohorts["two"].resolve()), "seed": 4, "device": "auto", "quick": True}
    started, finished = (datetime.fromisoformat(record[k]) for k in ("started", "finished"))
    assert started.utcoffset().total_seconds() == 0 and first["finished"] <= record["started"] and started <= finished
    assert set(record["inputs"]) == {"cohort.yaml", "sumstats.trait1", "sumstats.trait2", "ld.chr3", "gwas_genes"}
    for entry in record["inputs"].values():
        data = Path(entry["path"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)
    # the device changes speed, not results: not a different run
    assert _shrink(cohorts["two"], results, "--seed", "4", "--device", "cpu").exit_code == 0
    # a changed input file is
    manifest = cohorts["two"] / "cohort.yaml"
    manifest.write_text(manifest.read_text() + "# edited\n")
    assert_one_line_error(_shrink(cohorts["two"], results, "--seed", "4"), "its inputs (cohort.yaml) differ")


def test_failed_run_is_recorded_failed(tiny_cohort, tmp_path):
    cohort = _gwas_cohort(tiny_cohort, tmp_path / "broken", ["trait1"])
    target = cohort / "sumstats_trait1.parquet"
    target.unlink()
    target.write_text("not a table\n")
    out = tmp_path / "shrink"
    result = _shrink(cohort, tmp_path)
    assert result.exit_code == 1, result.output
    record = _record(out)
    assert record["status"] == "failed" and record["finished"] and record["error"]
    assert record["error"] in result.output
    # the same run again (as after an interruption) is not refused: it runs, and fails the same way
    again = _shrink(cohort, tmp_path)
    assert again.exit_code == 1 and record["error"] in again.output and "another run" not in again.output


def test_results_without_a_record_and_unsafe_overwrites_are_refused(cohorts, tiny_cohort, tmp_path):
    out = tmp_path / "shrink"
    out.mkdir()
    (out / "old.parquet").write_text("from before run records")
    assert_one_line_error(_shrink(cohorts["two"], tmp_path), f"{out}: holds results without a run record (run.json)")
    assert (out / "old.parquet").exists()
    # --overwrite never clears a workflow folder holding this run's inputs, nor one holding other runs' folders
    inside = _gwas_cohort(tiny_cohort, tmp_path / "mine" / "shrink" / "data", ["trait1"])
    assert_one_line_error(_shrink(inside, tmp_path / "mine", "--overwrite"),
                          f"{tmp_path / 'mine' / 'shrink'}: holds this run's input")
    results = tmp_path / "results"
    (results / "shrink" / "s2e").mkdir(parents=True)
    (results / "shrink" / "s2e" / RUN_RECORD_NAME).write_text("{}")
    assert_one_line_error(_shrink(cohorts["two"], results, "--overwrite"),
                          f"{results / 'shrink'}: holds other folders' results")
    assert (results / "shrink" / "s2e" / RUN_RECORD_NAME).exists()


def test_a_simulated_cohort_is_compared_by_its_params_not_its_checksums():
    """run all / demo re-simulate their cohort: same preset and seed is the same run, though every
    simulated file's checksum differs (it carries its creation time)."""
    params = {"cohort": "/r/cohort", "preset": "demo", "seed": 0, "device": "auto", "quick": False}
    old = RunRecord("s2e", "varflow demo", params, {"vcf": {"sha256": "a"}}, cohort_simulated=True)
    assert RunRecord("s2e", "varflow demo", params, {"vcf": {"sha256": "b"}}, cohort_simulated=True
                     ).differences(old) == []
    assert RunRecord("s2e", "varflow demo", {**params, "seed": 1}, cohort_simulated=True
                     ).differences(old) == ["params (seed)"]
    given = RunRecord("s2e", "varflow run s2e", params, {"vcf": {"sha256": "a"}})  # a cohort not made by the run
    assert given.differences(old) == ["params (cohort_simulated)"]


def test_large_files_and_folders_are_listed_without_a_checksum(tmp_path, monkeypatch):
    from varflow import run_record

    small, big = tmp_path / "small.txt", tmp_path / "big.bin"
    small.write_bytes(b"abc")
    big.write_bytes(b"x" * 64)
    monkeypatch.setattr(run_record, "MAX_CHECKSUM_BYTES", 16)
    monkeypatch.setattr(run_record, "CHUNK_BYTES", 2)  # several chunks per file
    described = run_record.describe_inputs({"small": small, "big": big, "folder": tmp_path})
    assert described["small"]["sha256"] == hashlib.sha256(b"abc").hexdigest()
    assert described["big"]["sha256"] is None and described["big"]["bytes"] == 64
    assert "not checksummed" in described["big"]["note"] and "not checksummed" in described["folder"]["note"]
