"""Module contract tests: every ``modules/local/*/main.nf`` process is checked against the real CLI.

For each module (discovered, never listed by hand):

1. its ``script:`` block, rendered from the nf-lang AST with the values its contract file stages, calls
   exactly one ``varflow <group> <step>`` that exists, with options that exist (introspected from the
   click command behind ``varflow.cli.main.app``);
2. that script, run with bash in a temporary work directory on staged test inputs, exits 0 and leaves
   every declared output path/glob (``optional: true`` ones excepted), like a Nextflow task would;
3. its ``stub:`` block does the same (so ``-stub`` runs and nf-test snapshots see the real names);
4. its ``meta.yml`` names the same inputs and output channels as the process.

The inputs come from ``tests/nextflow/contracts/<module folder>.py`` (see tests/nextflow/README.md).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import nf_support
from script_eval import BlankSeparatedList, Evaluator, NfPath

REPO_ROOT = nf_support.REPO_ROOT
MODULES = sorted((REPO_ROOT / "modules" / "local").glob("*/main.nf"))
CONTRACTS = Path(__file__).resolve().parent / "contracts"
RUN_TIMEOUT_S = 300
OPERATORS = {"|", "||", "&&", ";", "&", "(", ")", "$", "`", ">", ">>", "<", "<<", "<<-"}


def test_modules_are_discovered():
    assert MODULES, "no modules/local/*/main.nf found"


def _module_id(path: Path) -> str:
    return path.parent.name


# ------------------------------------------------------------------------------------- helpers


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _process(nf_lang, module_main: Path) -> nf_support.ProcessSpec:
    processes = nf_lang.processes(module_main)
    assert len(processes) == 1, f"{module_main}: a module holds exactly one process, found {len(processes)}"
    return processes[0]


def _contract(module_main: Path):
    name = module_main.parent.name
    path = CONTRACTS / f"{name}.py"
    if not path.is_file():
        pytest.fail(f"module {name} has no contract file {path.relative_to(REPO_ROOT)}: add one with a "
                    "stage(workdir, ...) function (see tests/nextflow/README.md)", pytrace=False)
    # Contract files import their shared staging helpers (e.g. shrink_common) from this folder.
    if str(CONTRACTS) not in sys.path:
        sys.path.insert(0, str(CONTRACTS))
    spec = importlib.util.spec_from_file_location(f"varflow_nf_contract_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert hasattr(module, "stage"), f"{path}: defines no stage(workdir, ...) function"
    return module


def _input_names(decls: list[nf_support.Decl]) -> list[tuple[str, str]]:
    """[(name, kind)] of the variables a process's inputs bind."""
    names = []
    for decl in decls:
        if decl.kind == "tuple":
            names.extend(_input_names(decl.elements))
        elif decl.kind in ("val", "path", "each"):
            target = decl.target
            if type(target).__name__.endswith("VariableExpression"):
                names.append((str(target.getName()), decl.kind))
            else:
                raise AssertionError(f"input `{decl.text}`: expected a variable name")
        else:
            raise AssertionError(f"input kind `{decl.kind}` is not supported by the contract test")
    return names


class Task:
    """What a staged module run provides: its work dir, the variable scope and the staged inputs."""

    def __init__(self, process: nf_support.ProcessSpec, workdir: Path, scope: dict[str, Any],
                 staged: set[str], contract):
        self.process = process
        self.workdir = workdir
        self.scope = scope
        self.staged = staged
        self.contract = contract


def _stage(nf_lang, module_main: Path, workdir: Path, request, contract=None) -> Task:
    process = _process(nf_lang, module_main)
    contract = contract or _contract(module_main)
    workdir.mkdir(parents=True, exist_ok=True)
    kwargs = {}
    for name in inspect.signature(contract.stage).parameters:
        kwargs[name] = workdir if name == "workdir" else request.getfixturevalue(name)
    staged = contract.stage(**kwargs)
    where = getattr(contract, "__file__", None) or f"contracts/{module_main.parent.name}.py"
    assert isinstance(staged, dict) and "inputs" in staged, f"{where}: stage() must return {{'inputs': ...}}"
    unknown = set(staged) - {"inputs", "ext", "task"}
    assert not unknown, f"{where}: stage() returned unknown keys {sorted(unknown)}"

    declared = _input_names(process.inputs)
    given = staged["inputs"]
    assert set(given) == {n for n, _ in declared}, (
        f"{where}: stage() gives inputs {sorted(given)} but {process.name} declares {[n for n, _ in declared]}")
    scope: dict[str, Any] = {}
    staged_files: set[str] = set()
    for name, kind in declared:
        value = given[name]
        if kind == "path":
            files = value if isinstance(value, (list, tuple)) else [value]
            for f in files:
                assert (workdir / str(f)).exists(), f"{where}: input `{name}` = {f} was not staged in the work dir"
                staged_files.add(str(Path(str(f))))
            value = BlankSeparatedList(NfPath(str(f)) for f in files) if isinstance(value, (list, tuple)) \
                else NfPath(str(value))
        scope[name] = value
    task = {"ext": dict(staged.get("ext", {})), "process": process.name, "name": f"{process.name} (1)",
            "cpus": 1, "attempt": 1, "index": 1, "accelerator": None, "workDir": str(workdir)}
    task.update(staged.get("task", {}))
    scope["task"] = task
    return Task(process, workdir, scope, staged_files, contract)


def _render(nf_lang, task: Task, block: str) -> str:
    statements = task.process.script if block == "script" else task.process.stub
    where = f"{_rel(task.process.path)} ({block})"
    if not statements:
        pytest.fail(f"{where}: block is missing", pytrace=False)
    return Evaluator(nf_lang, task.scope, where).run_block(statements)


def _run(task: Task, script: str) -> subprocess.CompletedProcess:
    (task.workdir / ".command.sh").write_text(script)
    env = dict(os.environ)
    # Nextflow puts the pipeline's bin/ first on PATH; the venv's python3 serves bin/varflow's shebang.
    env["PATH"] = os.pathsep.join([str(REPO_ROOT / "bin"), str(Path(sys.executable).parent), env.get("PATH", "")])
    return subprocess.run(["bash", "-euo", "pipefail", ".command.sh"], cwd=task.workdir, env=env,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S)


def _declared_outputs(nf_lang, task: Task, block: str) -> dict[str, list[Path]]:
    """{emit name: files} after a run; fails naming each declared path that is missing."""
    evaluator = Evaluator(nf_lang, task.scope, f"{_rel(task.process.path)} (outputs)")
    found: dict[str, list[Path]] = {}
    missing = []
    for index, decl in enumerate(task.process.outputs):
        emit = str(decl.options["emit"].getText()) if "emit" in decl.options else f"out{index}"
        optional = "optional" in decl.options and evaluator.eval(decl.options["optional"]) is True
        found[emit] = []
        for element in decl.elements or [decl]:
            if element.kind == "val":
                evaluator.eval(element.target)  # must resolve (e.g. meta)
            elif element.kind == "path":
                pattern = str(evaluator.eval(element.target))
                # Like Nextflow, an input file never counts as an output unless the module says so.
                matches = [p for p in sorted(task.workdir.glob(pattern))
                           if str(p.relative_to(task.workdir)) not in task.staged]
                element_optional = "optional" in element.options and evaluator.eval(element.options["optional"]) is True
                if not matches and not (optional or element_optional):
                    missing.append(f"{emit}: {pattern}")
                found[emit].extend(matches)
            else:
                pytest.fail(f"output kind `{element.kind}` is not checked by the contract test", pytrace=False)
    if missing:
        listing = sorted(str(p.relative_to(task.workdir)) for p in task.workdir.rglob("*"))[:50]
        pytest.fail(f"{task.process.name} ({block}) did not produce declared outputs {missing}; "
                    f"work dir holds {listing}", pytrace=False)
    return found


def _split_substitutions(line: str) -> list[str]:
    """``line`` with each ``$( ... )`` replaced by a placeholder, followed by the substituted commands.

    Bash runs command substitutions even inside double quotes, where a shell tokenizer sees one word.
    """
    pieces, out, depth, start = [], [], 0, None
    i = 0
    while i < len(line):
        if line.startswith("$(", i):
            if depth == 0:
                start = i + 2
            depth += 1
            i += 2
            continue
        if line[i] == ")" and depth:
            depth -= 1
            if depth == 0:
                pieces.append(line[start:i])
                out.append("SUBST")
            i += 1
            continue
        if depth == 0:
            out.append(line[i])
        i += 1
    inner = [p for piece in pieces for p in _split_substitutions(piece)]
    return ["".join(out), *inner]


def varflow_invocations(script: str) -> list[list[str]]:
    """Argument lists of every ``varflow`` command in a bash script (also inside ``$(...)``)."""
    calls = []
    lines = [part for line in script.replace("\\\n", " ").splitlines() for part in _split_substitutions(line)]
    for line in lines:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError:  # unbalanced quotes inside a heredoc body are not commands
            continue
        current = None
        for token in tokens:
            if current is not None:
                if token in OPERATORS:
                    calls.append(current)
                    current = None
                else:
                    current.append(token)
            elif token == "varflow" or token.endswith("/varflow"):
                current = []
        if current is not None:
            calls.append(current)
    return calls


def _option_names(command) -> set[str]:
    names = {"--help"}
    for param in command.params:
        if getattr(param, "param_type_name", "") == "option":
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


def check_cli_call(args: list[str]) -> str:
    """Walk ``args`` through the varflow click tree; return the command path or raise AssertionError."""
    import typer.main

    from varflow.cli.main import app

    command = typer.main.get_command(app)
    path = ["varflow"]
    rest = list(args)
    while hasattr(command, "commands"):
        while rest and rest[0].startswith("-"):
            option = rest.pop(0).split("=", 1)[0]
            assert option in _option_names(command), f"`{' '.join(path)}` has no option {option}"
        if not rest:
            return " ".join(path)
        name = rest.pop(0)
        assert name in command.commands, (
            f"`{' '.join(path)}` has no subcommand `{name}` (has {sorted(command.commands)})")
        command = command.commands[name]
        path.append(name)
    options = _option_names(command)
    for token in rest:
        if token.startswith("--") or (len(token) == 2 and token[0] == "-" and token[1].isalpha()):
            option = token.split("=", 1)[0]
            assert option in options, f"`{' '.join(path)}` has no option {option} (has {sorted(options)})"
    return " ".join(path)


# ---------------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("module_main", MODULES, ids=_module_id)
def test_script_calls_existing_varflow_command(module_main, nf_lang, request, tmp_path):
    task = _stage(nf_lang, module_main, tmp_path / "work", request)
    script = _render(nf_lang, task, "script")
    calls = varflow_invocations(script)
    steps = [c for c in calls if c and not c[0].startswith("-")]
    assert len(steps) == 1, f"{task.process.name}: the script must make exactly one `varflow <group> <step>` call, found {steps}"
    for call in calls:
        check_cli_call(call)
    assert check_cli_call(steps[0]).count(" ") == 2, f"{task.process.name}: `varflow {' '.join(steps[0])}` is not a step command"


@pytest.mark.parametrize("module_main", MODULES, ids=_module_id)
def test_script_produces_declared_outputs(module_main, nf_lang, request, tmp_path):
    task = _stage(nf_lang, module_main, tmp_path / "work", request)
    script = _render(nf_lang, task, "script")
    result = _run(task, script)
    assert result.returncode == 0, (f"{task.process.name} script failed (exit {result.returncode}):\n{script}\n"
                                    f"--- stderr ---\n{result.stderr[-3000:]}")
    outputs = _declared_outputs(nf_lang, task, "script")
    versions = task.workdir / "versions.yml"
    if versions.exists():
        doc = yaml.safe_load(versions.read_text())
        assert doc and task.process.name in doc, f"versions.yml does not name {task.process.name}: {doc}"
        assert all(v not in (None, "") for v in doc[task.process.name].values()), f"empty version in {doc}"
    if hasattr(task.contract, "check"):
        task.contract.check(task.workdir, outputs)


@pytest.mark.parametrize("module_main", MODULES, ids=_module_id)
def test_stub_produces_declared_outputs(module_main, nf_lang, request, tmp_path):
    task = _stage(nf_lang, module_main, tmp_path / "work", request)
    script = _render(nf_lang, task, "stub")
    result = _run(task, script)
    assert result.returncode == 0, (f"{task.process.name} stub failed (exit {result.returncode}):\n{script}\n"
                                    f"--- stderr ---\n{result.stderr[-3000:]}")
    _declared_outputs(nf_lang, task, "stub")


@pytest.mark.parametrize("module_main", MODULES, ids=_module_id)
def test_meta_yml_matches_process(module_main, nf_lang):
    process = _process(nf_lang, module_main)
    meta_path = module_main.parent / "meta.yml"
    assert meta_path.is_file(), f"{module_main.parent.relative_to(REPO_ROOT)} has no meta.yml"
    meta = yaml.safe_load(meta_path.read_text())
    assert meta.get("name", "").upper() == process.name, f"{meta_path}: name {meta.get('name')!r} != {process.name}"
    assert meta.get("description"), f"{meta_path}: no description"

    def names(entries) -> list[str]:
        out = []
        for entry in entries or []:
            items = entry if isinstance(entry, list) else [entry]
            for item in items:
                out.extend(item.keys())
        return out

    assert names(meta.get("input")) == [n for n, _ in _input_names(process.inputs)], (
        f"{meta_path}: input lists {names(meta.get('input'))}, process declares {_input_names(process.inputs)}")
    emits = [str(d.options["emit"].getText()) for d in process.outputs if "emit" in d.options]
    assert sorted((meta.get("output") or {}).keys()) == sorted(emits), (
        f"{meta_path}: output channels {sorted((meta.get('output') or {}).keys())}, process emits {sorted(emits)}")
    nf_test = module_main.parent / "tests" / "main.nf.test"
    assert nf_test.is_file(), f"{module_main.parent.relative_to(REPO_ROOT)} has no tests/main.nf.test"
    assert f'process "{process.name}"' in nf_test.read_text(), f"{nf_test} does not test process {process.name}"


def _selector_matches(selector: str, name: str) -> bool:
    """Nextflow's withName: a regex on the process name ('!' negates; a qualified name's last part)."""
    negate = selector.startswith("!")
    pattern = selector.lstrip("!").rsplit(":", 1)[-1]
    return bool(re.fullmatch(pattern, name)) != negate


def _param_sets(nf_lang) -> list[tuple[str, dict[str, Any]]]:
    """Params as the pipeline sees them: defaults, the test profile, and every null param set."""
    def values(path: Path, known: dict[str, Any] | None = None, where: str = "<top>") -> dict[str, Any]:
        """Params of ``path`` in order; a value may read the params set above it (``params.x``)."""
        out = dict(known or {})
        for name, value in nf_lang.config_params(path).get(where, []):
            out[name] = Evaluator(nf_lang, {"params": out}, str(path)).eval(value)
        return out

    defaults = values(REPO_ROOT / "nextflow.config")
    schema = json.loads((REPO_ROOT / "nextflow_schema.json").read_text())
    types = {name: prop.get("type") for group in schema.get("$defs", {}).values()
             for name, prop in group.get("properties", {}).items()}
    sample = {"integer": 3, "number": 1.5, "boolean": True, "string": "x"}
    filled = {k: (sample.get(types.get(k), "x") if v is None else v) for k, v in defaults.items()}
    return [("defaults", defaults),
            ("test profile", values(REPO_ROOT / "conf" / "test.config", defaults)),
            ("null params set", filled)]


def test_modules_config_selectors_name_existing_processes(nf_lang):
    names = [_process(nf_lang, m).name for m in MODULES]
    for kind, selector, _ in nf_lang.process_selectors(REPO_ROOT / "conf" / "modules.config"):
        if kind == "withName":
            assert any(_selector_matches(selector, n) for n in names), (
                f"conf/modules.config: withName: '{selector}' matches no process (processes: {names})")


def _config_ext(nf_lang, name: str, task: Task, params: dict[str, Any], label: str) -> dict[str, Any]:
    """The ext.* values conf/modules.config gives process ``name`` under ``params``."""
    ext = {}
    for kind, selector, options in nf_lang.process_selectors(REPO_ROOT / "conf" / "modules.config"):
        if kind == "withName" and _selector_matches(selector, name):
            for key, value in options.items():
                if key.startswith("ext."):
                    scope = {**task.scope, "params": params}
                    ext[key[4:]] = Evaluator(nf_lang, scope, f"conf/modules.config ({name}, {label})").eval(value)
    return ext


def _sample_value(prop: dict[str, Any]) -> Any:
    """A valid value of a schema param that is not its default: the last enum value, a number inside the
    bounds, false for a boolean (so the --no- form of a flag pair is tried), a list of chromosomes."""
    if "enum" in prop:
        return prop["enum"][-1]
    return {"integer": max(prop.get("minimum", 0), 2) + 5, "number": 0.25, "boolean": False,
            "string": "chr1,chr2"}[prop["type"]]


def test_every_step_option_param_reaches_its_steps_processes(nf_lang, request, tmp_path):
    """Each param of varflow.params.STEP_OPTIONS is in the schema and nextflow.config (null: the step's
    default), and set, conf/modules.config passes it as its option to the process of each of its steps
    (a boolean as a flag: true -> the option, false -> its --no- form or nothing for a lone flag)."""
    from varflow.params import STEP_OPTIONS

    schema = json.loads((REPO_ROOT / "nextflow_schema.json").read_text())
    props = {k: v for group in schema["$defs"].values() for k, v in group["properties"].items()}
    defaults = _param_sets(nf_lang)[0][1]
    modules = {_process(nf_lang, m).name: m for m in MODULES}
    for param, opt in STEP_OPTIONS.items():
        assert param in props and "default" not in props[param], f"{param}: not in the schema, or given a default"
        assert param in defaults and defaults[param] is None, f"nextflow.config: {param} must be null"
        value = _sample_value(props[param])
        for step in opt.steps:
            name = f"{param.split('_')[0].upper()}_{step.upper().replace('-', '_')}"
            task = _stage(nf_lang, modules[name], tmp_path / f"{param}_{name}", request)
            unset = _config_ext(nf_lang, name, task, defaults, "defaults").get("args") or ""
            args = _config_ext(nf_lang, name, task, {**defaults, param: value}, f"{param} set").get("args") or ""
            assert opt.option not in unset.split(), f"{name}: {opt.option} given while {param} is null: {unset!r}"
            if isinstance(value, bool):
                flag = opt.option if value else opt.option.replace("--", "--no-", 1)
                lone = f"--no-{opt.option[2:]}" not in {o for c in varflow_invocations(_render(nf_lang, task, "script"))
                                                      for o in c}
                assert flag in args.split() or (not value and lone and opt.option not in args.split()), (
                    f"{name}: {param} = {value} gives ext.args {args!r}")
            else:
                assert f"{opt.option} {value}" in args, f"{name}: {param} = {value!r} gives ext.args {args!r}"


@pytest.mark.parametrize("module_main", MODULES, ids=_module_id)
def test_modules_config_ext_args_are_existing_options(module_main, nf_lang, request, tmp_path):
    """ext.args built from params in conf/modules.config must be options the step's command has."""
    name = _process(nf_lang, module_main).name
    for label, params in _param_sets(nf_lang):
        task = _stage(nf_lang, module_main, tmp_path / label.replace(" ", "_"), request)
        ext = _config_ext(nf_lang, name, task, params, label)
        task.scope["task"]["ext"] = ext
        script = _render(nf_lang, task, "script")
        for call in varflow_invocations(script):
            try:
                check_cli_call(call)
            except AssertionError as exc:
                raise AssertionError(f"{name} with conf/modules.config ext {ext} ({label} params): {exc}") from None


# ------------------------------------------------------------ the checker itself can fail


def test_cli_check_rejects_unknown_commands_and_options():
    assert check_cli_call(["simulate", "cohort", "--outdir", "x", "--seed=3"]) == "varflow simulate cohort"
    assert check_cli_call(["--version"]) == "varflow"
    for bad in (["simulate", "cohorts"], ["no_such_group", "step"], ["simulate", "cohort", "--n-genez", "3"],
                ["--no-such-root-option"]):
        with pytest.raises(AssertionError):
            check_cli_call(bad)


def test_varflow_invocations_are_found_in_pipes_and_substitutions():
    script = ('varflow simulate cohort \\\n    --outdir x --seed 1 | tee log\n'
              'echo "$(varflow --version | sed s/a/b/)"\n/opt/bin/varflow eqtl train --a 1 && true\n')
    assert varflow_invocations(script) == [["simulate", "cohort", "--outdir", "x", "--seed", "1"],
                                           ["--version"], ["eqtl", "train", "--a", "1"]]


BROKEN_MODULE = """
process BROKEN {
    tag "${meta.id}"
    label 'process_single'

    input:
    tuple val(meta), path(table)

    output:
    tuple val(meta), path("${prefix}.parquet"), emit: table
    path "versions.yml", emit: versions

    script:
    prefix = task.ext.prefix ?: "${meta.id}.out"
    \"\"\"
    cp ${table} ${prefix}.txt
    echo '"${task.process}": {varflow: 0}' > versions.yml
    \"\"\"

    stub:
    prefix = task.ext.prefix ?: "${meta.id}.out"
    \"\"\"
    touch ${prefix}.parquet versions.yml
    \"\"\"
}
"""


class _BrokenContract:
    __file__ = "broken contract"

    @staticmethod
    def stage(workdir: Path) -> dict:
        (workdir / "in.parquet").write_text("x")
        return {"inputs": {"meta": {"id": "s1"}, "table": "in.parquet"}}


def test_missing_declared_output_is_reported(nf_lang, request, tmp_path):
    module = tmp_path / "modules" / "local" / "broken" / "main.nf"
    module.parent.mkdir(parents=True)
    module.write_text(BROKEN_MODULE)
    task = _stage(nf_lang, module, tmp_path / "work", request, contract=_BrokenContract)
    assert task.scope["table"].baseName == "in"
    result = _run(task, _render(nf_lang, task, "script"))
    assert result.returncode == 0, result.stderr
    assert (task.workdir / "s1.out.txt").is_file()
    with pytest.raises(pytest.fail.Exception, match=r"table: s1\.out\.parquet"):
        _declared_outputs(nf_lang, task, "script")
    stub_task = _stage(nf_lang, module, tmp_path / "stub", request, contract=_BrokenContract)
    assert _run(stub_task, _render(nf_lang, stub_task, "stub")).returncode == 0
    outputs = _declared_outputs(nf_lang, stub_task, "stub")
    assert [p.name for p in outputs["table"]] == ["s1.out.parquet"]


def test_module_without_contract_fails(tmp_path):
    module = tmp_path / "modules" / "local" / "no_contract_here" / "main.nf"
    module.parent.mkdir(parents=True)
    module.write_text(BROKEN_MODULE)
    with pytest.raises(pytest.fail.Exception, match="has no contract file"):
        _contract(module)


def test_stage_must_give_every_declared_input(nf_lang, request, tmp_path):
    module = tmp_path / "modules" / "local" / "broken" / "main.nf"
    module.parent.mkdir(parents=True)
    module.write_text(BROKEN_MODULE)

    class Incomplete:
        __file__ = "incomplete contract"

        @staticmethod
        def stage(workdir: Path) -> dict:
            return {"inputs": {"meta": {"id": "s1"}}}

    with pytest.raises(AssertionError, match="declares"):
        _stage(nf_lang, module, tmp_path / "work", request, contract=Incomplete)


def test_selector_matching_follows_nextflow():
    assert _selector_matches("SIMULATE_COHORT", "SIMULATE_COHORT")
    assert _selector_matches("SIMULATE_.*", "SIMULATE_COHORT")
    assert _selector_matches("EQTL_TRAIN|SIMULATE_COHORT", "SIMULATE_COHORT")
    assert _selector_matches("SIMULATE:SIMULATE_COHORT", "SIMULATE_COHORT")
    assert not _selector_matches("SIMULATE_COHORTS", "SIMULATE_COHORT")
    assert not _selector_matches("!SIMULATE_.*", "SIMULATE_COHORT")
