"""`nf-core pipelines lint` (nf-core tools 4.2.1) passes offline, and fails on a planted defect.

Nextflow cannot run here, so nf-core finds the static stand-in ``tests/nextflow/standin/nextflow`` first on
PATH (it answers ``nextflow -v`` and ``nextflow config -o json DIR`` from nf-lang's config parser). The lint
runs offline: ``NXF_OFFLINE=1``, no nf-core version check, HOME and caches in a temporary folder, and an
unreachable proxy, so any request that slipped through fails at once instead of hanging. ``.nf-core.yml``
switches off only the checks that need the network or nf-core branding. Also here: every local subworkflow
has the nf-core layout (``main.nf``, a ``meta.yml`` matching its take/emit, a stub nf-test).

Without the nf-lang jar, nf-core or Java the lint tests skip on a developer machine and FAIL in CI (CI=true).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import nf_support

REPO_ROOT = nf_support.REPO_ROOT
STANDIN_DIR = Path(__file__).resolve().parent / "standin"
NF_CORE = Path(sys.executable).parent / "nf-core"
LINT_TIMEOUT_S = 240
# What a copy of the pipeline needs for the config and schema checks.
PIPELINE_FILES = ("main.nf", "nextflow.config", "nextflow_schema.json", ".nf-core.yml", "modules.json")
PIPELINE_DIRS = ("conf", "modules", "subworkflows")


def _problem() -> str | None:
    jar = nf_support.jar_path()
    if not jar.is_file():
        return f"nf-lang jar not found at {jar}; fetch it with `make nf-lang`"
    if not NF_CORE.is_file():
        return f"nf-core not installed at {NF_CORE} (pip install -e '.[dev]' installs nf-core==4.2.1)"
    try:
        import jpype

        jpype.getDefaultJVMPath()
    except ImportError:
        return "JPype1 is not installed (pip install -e '.[dev]')"
    except Exception as exc:  # jpype.JVMNotFoundException
        return f"no Java runtime for the nextflow stand-in (install Java >= 17 or set JAVA_HOME): {exc}"
    return None


@pytest.fixture(scope="module")
def lint_tools() -> None:
    problem = _problem()
    if problem is None:
        return
    if nf_support.in_ci():
        pytest.fail(f"{problem} -- CI=true, so the nf-core lint may not be skipped", pytrace=False)
    pytest.skip(problem)


def run_lint(directory: Path, work: Path, keys: tuple[str, ...] = ()) -> dict:
    """Run `nf-core pipelines lint` on ``directory`` offline; return its JSON results."""
    home = work / "home"
    (home / ".nextflow").mkdir(parents=True, exist_ok=True)  # lets nf-core cache the config per run
    results = work / "lint.json"
    unreachable = "http://127.0.0.1:9"
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(STANDIN_DIR), str(NF_CORE.parent), os.environ.get("PATH", "")]),
        "HOME": str(home),
        "NXF_HOME": str(home / ".nextflow"),
        "XDG_CACHE_HOME": str(work / "cache"),
        "XDG_CONFIG_HOME": str(work / "config"),
        "NXF_OFFLINE": "1",
        "NFCORE_NO_VERSION_CHECK": "1",
        "HIDE_PROGRESS": "1",
        "VARFLOW_NF_LANG_JAR": str(nf_support.jar_path().resolve()),
        "HTTP_PROXY": unreachable, "HTTPS_PROXY": unreachable, "http_proxy": unreachable, "https_proxy": unreachable,
        "NO_PROXY": "", "no_proxy": "",
    }
    command = [str(NF_CORE), "pipelines", "lint", "--dir", str(directory), "--json", str(results), "--plain-text"]
    for key in keys:
        command += ["--key", key]
    try:
        proc = subprocess.run(command, env=env, cwd=work, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=LINT_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"nf-core lint did not finish in {LINT_TIMEOUT_S} s:\n{exc.stdout or ''}{exc.stderr or ''}")
    if not results.is_file():
        pytest.fail(f"nf-core lint wrote no results (exit {proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}")
    return json.loads(results.read_text())


def _lines(entries) -> str:
    return "\n".join(f"  {test}: {message}" for test, message in entries)


def test_nf_core_lint_passes(lint_tools, tmp_path):
    results = run_lint(REPO_ROOT, tmp_path)
    print(f"nf-core lint: {results['num_tests_pass']} passed, {results['num_tests_warned']} warned, "
          f"{results['num_tests_ignored']} ignored, {results['num_tests_failed']} failed")
    if results["tests_warned"]:
        print("warnings:\n" + _lines(results["tests_warned"]))
    assert results["num_tests_failed"] == 0, "nf-core lint failures:\n" + _lines(results["tests_failed"])
    assert results["num_tests_pass"] > 100  # the lint really ran (config read through the stand-in)


@pytest.fixture
def pipeline_copy(tmp_path) -> Path:
    """The files the config and schema checks read, copied (the schema symlink resolved) to break safely."""
    root = tmp_path / "pipeline"
    root.mkdir()
    for name in PIPELINE_FILES:
        shutil.copy(REPO_ROOT / name, root / name)
    for folder in PIPELINE_DIRS:
        shutil.copytree(REPO_ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_param_missing_from_the_schema_fails_the_lint(lint_tools, pipeline_copy, tmp_path):
    config = pipeline_copy / "nextflow.config"
    text, count = re.subn(r"^params \{\n", "params {\n    planted_param = 'planted'\n", config.read_text(),
                          count=1, flags=re.MULTILINE)
    assert count == 1, "planted-param anchor `params {` not found in nextflow.config"
    config.write_text(text)
    work = tmp_path / "lint"
    work.mkdir()
    results = run_lint(pipeline_copy, work, keys=("schema_params", "nextflow_config"))
    failures = results["tests_failed"]
    assert failures, "nf-core lint passed a param that nextflow_schema.json does not declare"
    assert any(test == "schema_params" and "planted_param" in message for test, message in failures), _lines(failures)
    # the copy is otherwise clean for these checks: every failure is the planted param's
    assert all("planted_param" in message for _test, message in failures), _lines(failures)


# ---------------------------------------------------------------------------------- subworkflow layout


def _subworkflows() -> list[Path]:
    return sorted((REPO_ROOT / "subworkflows" / "local").glob("*/main.nf"))


def _section(text: str, start: str, end: str) -> list[str]:
    """Names declared between ``start:`` and ``end:`` (the first identifier of each non-comment line)."""
    match = re.search(rf"^\s*{start}:\s*$(.*?)^\s*{end}:", text, re.MULTILINE | re.DOTALL)
    assert match, f"no {start}: section"
    names = []
    for line in match.group(1).splitlines():
        found = re.match(r"\s*([A-Za-z_]\w*)\b", line)
        if found:
            names.append(found.group(1))
    return names


def _emits(text: str) -> list[str]:
    match = re.search(r"^\s*emit:\s*$(.*?)^\}", text, re.MULTILINE | re.DOTALL)
    assert match, "no emit: section"
    return re.findall(r"^\s*([A-Za-z_]\w*)\s*=", match.group(1), re.MULTILINE)


def test_every_local_subworkflow_has_the_nf_core_layout():
    folders = sorted(p.name for p in (REPO_ROOT / "subworkflows" / "local").iterdir() if p.is_dir())
    assert folders == ["eqtl", "s2e", "shrink", "simulate"]
    assert not list((REPO_ROOT / "subworkflows" / "local").glob("*.nf")), "subworkflows/local/*.nf: use <name>/main.nf"


@pytest.mark.parametrize("main_nf", _subworkflows(), ids=lambda p: p.parent.name)
def test_subworkflow_meta_and_test_match_the_subworkflow(main_nf):
    folder = main_nf.parent
    text = main_nf.read_text()
    name = re.search(r"^workflow\s+(\w+)\s*\{", text, re.MULTILINE).group(1)
    assert name == folder.name.upper()
    meta = yaml.safe_load((folder / "meta.yml").read_text())
    assert meta["name"] == folder.name
    for key in ("description", "keywords", "components", "input", "output", "authors"):
        assert meta.get(key), f"{folder.name}/meta.yml: no {key}"
    assert [next(iter(entry)) for entry in meta["input"]] == _section(text, "take", "main"), \
        f"{folder.name}/meta.yml: input must list the take: names in order"
    assert [next(iter(entry)) for entry in meta["output"]] == _emits(text), \
        f"{folder.name}/meta.yml: output must list the emit: names in order"
    included = sorted(set(re.findall(r"from\s+'\.\./\.\./\.\./modules/local/(\w+)/main'", text)))
    assert sorted(meta["components"]) == included, f"{folder.name}/meta.yml: components must be the included modules"
    for entry in meta["input"] + meta["output"]:
        (spec,) = entry.values()
        assert spec.get("type") and spec.get("description"), f"{folder.name}/meta.yml: {entry} needs type and description"
    test = (folder / "tests" / "main.nf.test").read_text()
    assert re.search(rf'^\s*workflow\s+"{name}"', test, re.MULTILINE), f"{folder.name}/tests/main.nf.test: workflow \"{name}\""
    assert 'script "../main.nf"' in test
    assert re.search(r'options\s+"-stub"', test), f"{folder.name}/tests/main.nf.test: needs a stub test"
    for emitted in re.findall(r"workflow\.out\.(\w+)", test):
        assert emitted in _emits(text), f"{folder.name}/tests/main.nf.test asserts on workflow.out.{emitted}, not an emit"
