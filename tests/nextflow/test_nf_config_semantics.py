"""What the config files mean, evaluated from the nf-lang AST: labels, GPU handling, retry policy.

The lint proves the configs parse and name real options; these tests prove the values do what the
design says (DESIGN.md, "Nextflow conventions") for each container engine and profile.
"""

from __future__ import annotations

import pytest

import nf_support
from script_eval import Evaluator

REPO_ROOT = nf_support.REPO_ROOT
BASE = REPO_ROOT / "conf" / "base.config"
LABELS = {"process_single", "process_low", "process_medium", "process_high", "process_gpu"}
PARAMS = {"use_gpu": False, "cpu_container": "varflow-cpu:0.1.0", "gpu_container": "varflow-gpu:0.1.0",
          "google_gpu_type": "nvidia-tesla-t4"}


def _labels(nf_lang, path=BASE, profile=None) -> dict[str, dict]:
    return {sel: opts for kind, sel, opts in nf_lang.process_selectors(path, profile) if kind == "withLabel"}


def _value(nf_lang, node, *, use_gpu=False, engine=None, exit_status=None, attempt=1):
    scope = {"params": {**PARAMS, "use_gpu": use_gpu}, "workflow": {"containerEngine": engine},
             "task": {"exitStatus": exit_status, "attempt": attempt}}
    return Evaluator(nf_lang, scope, "config").eval(node)


def test_base_config_defines_every_resource_label(nf_lang):
    assert set(_labels(nf_lang)) == LABELS


def test_every_module_uses_a_defined_label_and_a_tag(nf_lang):
    modules = sorted((REPO_ROOT / "modules" / "local").glob("*/main.nf"))
    assert modules
    for module in modules:
        for process in nf_lang.processes(module):
            labels = [str(a.getText()) for a in process.directives.get("label", [])]
            assert labels and set(labels) <= LABELS, f"{process.name}: label {labels} not one of {sorted(LABELS)}"
            assert "tag" in process.directives, f"{process.name}: no tag directive (nf-core: tag \"${{meta.id}}\")"


@pytest.mark.parametrize(("engine", "expected"), [("docker", "--gpus all"), ("singularity", "--nv"),
                                                  ("apptainer", "--nv"), (None, "")])
def test_gpu_label_exposes_one_gpu_per_engine(nf_lang, engine, expected):
    gpu = _labels(nf_lang)["process_gpu"]
    assert _value(nf_lang, gpu["accelerator"], use_gpu=True, engine=engine) == 1
    assert _value(nf_lang, gpu["containerOptions"], use_gpu=True, engine=engine) == expected
    assert _value(nf_lang, gpu["container"], use_gpu=True, engine=engine) == PARAMS["gpu_container"]


@pytest.mark.parametrize("engine", ["docker", "singularity", "apptainer", None])
def test_gpu_label_asks_for_nothing_without_use_gpu(nf_lang, engine):
    gpu = _labels(nf_lang)["process_gpu"]
    assert _value(nf_lang, gpu["accelerator"], engine=engine) is None
    assert _value(nf_lang, gpu["containerOptions"], engine=engine) == ""
    assert _value(nf_lang, gpu["container"], engine=engine) == PARAMS["cpu_container"]


def test_gpu_profile_turns_gpus_on(nf_lang):
    assigned = dict(nf_lang.config_params(REPO_ROOT / "nextflow.config")["gpu"])
    assert Evaluator(nf_lang, {}, "gpu profile").eval(assigned["use_gpu"]) is True


def test_slurm_profile_requests_the_gpu_with_gres(nf_lang):
    gpu = _labels(nf_lang, REPO_ROOT / "nextflow.config", "slurm")["process_gpu"]
    assert _value(nf_lang, gpu["clusterOptions"], use_gpu=True) == "--gres=gpu:1"
    assert _value(nf_lang, gpu["clusterOptions"], use_gpu=False) == ""


def test_google_profile_names_the_gpu_model(nf_lang):
    gpu = _labels(nf_lang, REPO_ROOT / "nextflow.config", "google")["process_gpu"]
    assert _value(nf_lang, gpu["accelerator"], use_gpu=True) == {"request": 1, "type": "nvidia-tesla-t4"}
    assert _value(nf_lang, gpu["accelerator"], use_gpu=False) is None


@pytest.mark.parametrize("status", [130, 137, 140, 143, 145, 104, 175])
def test_killed_or_transient_tasks_are_retried(nf_lang, status):
    own = nf_lang.process_selectors(BASE)[0][2]
    assert _value(nf_lang, own["errorStrategy"], exit_status=status) == "retry"


@pytest.mark.parametrize("status", [1, 2, 127, 129, 146, 174])
def test_real_errors_are_not_retried(nf_lang, status):
    own = nf_lang.process_selectors(BASE)[0][2]
    assert _value(nf_lang, own["errorStrategy"], exit_status=status) == "finish"


def test_retries_ask_for_more_resources(nf_lang):
    own = nf_lang.process_selectors(BASE)[0][2]
    assert _value(nf_lang, own["maxRetries"]) == 2
    for name, opts in _labels(nf_lang).items():
        if name == "process_single":
            continue  # one CPU by definition; its memory and time still grow
        assert _value(nf_lang, opts["cpus"], attempt=2) == 2 * _value(nf_lang, opts["cpus"], attempt=1), name


def test_config_values_convert_like_groovy(nf_lang, tmp_path):
    """Guards the evaluator these tests rely on: Java constants become the Python values they mean."""
    config = tmp_path / "values.config"
    config.write_text("params {\n  t = true\n  f = false\n  i = 3\n  x = 1.5\n  n = null\n  s = 'a'\n"
                      "  g = \"${params.s}-b\"\n  r = (1..3) + 7\n  e = params.n ?: 'fallback'\n}\n")
    assigned = nf_lang.config_params(config)["<top>"]
    scope = {"params": {"s": "a", "n": None}}
    values = {name: Evaluator(nf_lang, scope, str(config)).eval(node) for name, node in assigned}
    assert values == {"t": True, "f": False, "i": 3, "x": 1.5, "n": None, "s": "a", "g": "a-b",
                      "r": [1, 2, 3, 7], "e": "fallback"}
    assert type(values["t"]) is bool and type(values["i"]) is int
