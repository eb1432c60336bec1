"""The nf-test pipeline test (tests/main.nf.test), checked without Nextflow or nf-test.

What can be checked statically: it runs main.nf with a profile of nextflow.config, sets only params of
nextflow_schema.json, and every output path it asserts is one the pipeline publishes. The published
paths are derived from the code, not listed a second time: the folder from conf/modules.config's
publishDir rules (the default ``<process name in lower case>`` or a ``withName`` block's own path), the
process names from the subworkflows' includes (aliases included), and the file names from each module's
``output:`` patterns (``${...}`` parts match any name).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_FILE = REPO_ROOT / "tests" / "main.nf.test"
WORKFLOWS = ("simulate", "shrink", "s2e", "eqtl")


def _schema_params() -> set[str]:
    schema = json.loads((REPO_ROOT / "nextflow_schema.json").read_text())
    props = set(schema.get("properties", {}))
    for group in schema.get("$defs", {}).values():
        props |= set(group.get("properties", {}))
    return props


def _profiles() -> set[str]:
    """Names of the profiles of nextflow.config (the blocks directly inside ``profiles { }``)."""
    text = (REPO_ROOT / "nextflow.config").read_text()
    body = text[text.index("profiles {"):]
    names, depth = [], 0
    for line in body.splitlines()[1:]:
        match = re.match(r"\s*(\w+)\s*\{\s*$", line)
        if depth == 0 and match:
            names.append(match.group(1))
        depth += line.count("{") - line.count("}")
        if depth < 0:
            break
    return set(names)


def _process_modules() -> dict[str, Path]:
    """Process name (alias included) -> its module's main.nf, from the subworkflows' include lines."""
    out = {}
    pattern = re.compile(r"include\s*\{\s*(\w+)(?:\s+as\s+(\w+))?\s*\}\s*from\s*'([^']+)'")
    for wf in sorted((REPO_ROOT / "subworkflows" / "local").glob("*/main.nf")):
        for name, alias, source in pattern.findall(wf.read_text()):
            out[alias or name] = (wf.parent / f"{source}.nf").resolve()
    return out


def _publish_folders(processes: set[str]) -> dict[str, str]:
    """Process name -> the folder under outdir it publishes to, read from conf/modules.config."""
    text = (REPO_ROOT / "conf" / "modules.config").read_text()
    # the default rule applies to every process unless a withName block sets its own publishDir path
    assert "task.process.tokenize(':')[-1].toLowerCase()" in text, "modules.config's default publishDir changed"
    folders = {name: name.lower() for name in processes}
    for selector, block in re.findall(r"withName:\s*'([^']+)'\s*\{(.*?)\n    \}", text, re.S):
        custom = re.search(r'publishDir\s*=\s*\[\s*path:\s*\{\s*"\$\{params\.outdir\}/([^"]+)"', block)
        if custom:
            for name in processes:
                if re.fullmatch(selector, name):
                    folders[name] = custom.group(1)
    return folders


def _output_patterns(module: Path) -> list[re.Pattern]:
    """The module's declared output files as regexes; ``${...}`` and a glob ``*`` match within one path
    component."""
    text = module.read_text()
    section = text[text.index("output:"):text.index("script:")]
    patterns = []
    for glob in re.findall(r'path\s*\(?\s*"([^"]+)"', section):
        if glob == "versions.yml":
            continue  # modules.config's saveAs keeps versions.yml out of outdir
        parts = re.split(r"(\$\{[^}]+\})", glob)
        regex = "".join("[^/]+" if p.startswith("${") else re.escape(p).replace(r"\*", "[^/]*") for p in parts)
        patterns.append(re.compile(rf"{regex}(/.+)?"))  # a file inside an output folder counts too
    return patterns


def published_paths_regexes() -> dict[str, list[re.Pattern]]:
    """Publish folder -> regexes of the paths published into it."""
    modules = _process_modules()
    assert {"SIMULATE_COHORT", "SHRINK_CLUSTER_JOINT", "S2E_TRAIN", "EQTL_PREDICT"} <= set(modules)
    out: dict[str, list[re.Pattern]] = {}
    for name, folder in _publish_folders(set(modules)).items():
        out.setdefault(folder, []).extend(_output_patterns(modules[name]))
    return out


def is_published(rel: str, published: dict[str, list[re.Pattern]]) -> bool:
    """Whether path ``rel`` (relative to outdir) is one the pipeline publishes."""
    folder, _, rest = rel.partition("/")
    if folder not in published:
        return False
    if Path(rest).name == "versions.yml":
        return False  # modules.config's saveAs drops it
    return not rest or any(p.fullmatch(rest) for p in published[folder])


def _test_text() -> str:
    assert TEST_FILE.is_file(), "tests/main.nf.test (the nf-test pipeline test) is missing"
    return TEST_FILE.read_text()


def _tests(text: str) -> list[str]:
    """The body of each ``test("...") { }`` block."""
    starts = [m.start() for m in re.finditer(r'^\s*test\("', text, re.M)]
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)])]


def test_it_is_a_pipeline_test_of_main_nf():
    text = _test_text()
    assert re.search(r"^nextflow_pipeline \{", text, re.M)
    script = re.search(r'^\s*script "([^"]+)"', text, re.M).group(1)
    # nf-test resolves the script relative to the test file (as the module tests in this repo do)
    assert (TEST_FILE.parent / script).resolve() == REPO_ROOT / "main.nf"
    config = (REPO_ROOT / "nf-test.config").read_text()
    assert re.search(r'testsDir "\."', config) and re.search(r'configFile "tests/nextflow.config"', config)
    assert (REPO_ROOT / "tests" / "nextflow.config").is_file()


def test_profiles_exist_and_params_are_schema_params():
    text = _test_text()
    profiles, schema = _profiles(), _schema_params()
    assert {"test", "docker", "gpu"} <= profiles  # the parser sees the real profile list
    tests = _tests(text)
    assert len(tests) >= 2
    for body in tests:
        for profile in re.findall(r'^\s*profile "([^"]+)"', body, re.M):
            for name in profile.split(","):
                assert name in profiles, f"profile {name!r} is not in nextflow.config"
        params_block = re.search(r"params \{(.*?)\}", body, re.S)
        assert params_block, "every test sets params (outdir at least)"
        names = re.findall(r"^\s*(\w+)\s*=", params_block.group(1), re.M)
        assert "outdir" in names
        unknown = set(names) - schema
        assert not unknown, f"tests/main.nf.test sets params not in nextflow_schema.json: {sorted(unknown)}"


def test_asserted_outputs_are_published_paths():
    text = _test_text()
    published = published_paths_regexes()
    asserted = re.findall(r'path\("\$outputDir/([^"]+)"\)', text)
    assert len(asserted) >= 10
    for rel in asserted:
        assert is_published(rel, published), (
            f"{rel}: not a path the pipeline publishes (conf/modules.config publishDir + the modules' output: "
            f"patterns; published folders: {sorted(published)})")
    # the full test (-profile test = --workflow all) checks outputs of every workflow
    full = _tests(text)[0]
    assert 'profile "test"' in full and "workflow =" not in full
    folders = {rel.split("/")[0] for rel in re.findall(r'path\("\$outputDir/([^"]+)"\)\.exists\(\)', full)}
    for wf in WORKFLOWS:
        assert any(f == wf or f.startswith(f"{wf}_") for f in folders), f"the full test asserts no {wf} output"


@pytest.mark.parametrize("bad", ["shrink/effects/trait1.chr1.parquet", "eqtl_predict/cohort.tsv",
                                 "s2e_train/versions.yml"])
def test_the_path_check_rejects_unpublished_paths(bad):
    """The in-process layout, a wrong name and versions.yml are not published paths."""
    published = published_paths_regexes()
    assert not is_published(bad, published)
    assert is_published("shrink_effects/trait1.chr1.effects.parquet", published)
