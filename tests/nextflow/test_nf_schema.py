"""nextflow_schema.json is valid JSON Schema draft 2020-12 and lists exactly the params of nextflow.config."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

import nf_support
from script_eval import Evaluator, Unsupported

REPO_ROOT = nf_support.REPO_ROOT
SCHEMA_PATH = REPO_ROOT / "nextflow_schema.json"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


def _schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


def _schema_properties(schema: dict) -> dict[str, dict]:
    """Every param of the schema: top-level properties plus those of each $defs group (nf-schema layout)."""
    props = dict(schema.get("properties", {}))
    for group in schema.get("$defs", {}).values():
        for name, prop in group.get("properties", {}).items():
            assert name not in props, f"param {name} is defined twice in {SCHEMA_PATH.name}"
            props[name] = prop
    return props


def _config_defaults(nf_lang) -> dict[str, object]:
    """Params of nextflow.config's top level with their default values (constants only)."""
    assigned = nf_lang.config_params(REPO_ROOT / "nextflow.config")
    defaults = {}
    for name, value in assigned.get("<top>", []):
        try:
            defaults[name] = Evaluator(nf_lang, {}, "nextflow.config").eval(value)
        except Unsupported:
            defaults[name] = ...  # computed default: present, value not compared
    return defaults


def test_schema_is_valid_draft_2020_12():
    schema = _schema()
    assert schema.get("$schema") == DRAFT_2020_12
    jsonschema.Draft202012Validator.check_schema(schema)
    for ref in schema.get("allOf", []):
        name = ref["$ref"].removeprefix("#/$defs/")
        assert name in schema["$defs"], f"allOf refers to missing group {ref}"
    assert {r["$ref"] for r in schema.get("allOf", [])} == {f"#/$defs/{n}" for n in schema.get("$defs", {})}, \
        "every $defs group must be listed in allOf, or nf-schema ignores it"


def test_schema_lists_exactly_the_config_params(nf_lang):
    declared = set(_config_defaults(nf_lang))
    in_schema = set(_schema_properties(_schema()))
    assert declared, "no params found in nextflow.config"
    assert not declared - in_schema, f"params of nextflow.config missing from the schema: {sorted(declared - in_schema)}"
    assert not in_schema - declared, f"schema params not declared in nextflow.config: {sorted(in_schema - declared)}"


def test_profiles_and_conf_files_only_set_declared_params(nf_lang):
    declared = set(_config_defaults(nf_lang))
    files = [REPO_ROOT / "nextflow.config", *sorted((REPO_ROOT / "conf").glob("*.config"))]
    for path in files:
        for where, assigned in nf_lang.config_params(path).items():
            if path.name == "nextflow.config" and where == "<top>":
                continue
            undeclared = {name for name, _ in assigned} - declared
            assert not undeclared, (f"{path.relative_to(REPO_ROOT)} ({where}) sets params not declared in "
                                    f"nextflow.config: {sorted(undeclared)}")


def test_schema_defaults_equal_config_defaults(nf_lang):
    props = _schema_properties(_schema())
    for name, value in _config_defaults(nf_lang).items():
        if value is ... or name not in props:  # missing names fail test_schema_lists_exactly_the_config_params
            continue
        if value is None:
            assert "default" not in props[name], f"{name}: null in nextflow.config but schema default {props[name]['default']!r}"
        else:
            assert props[name].get("default") == value, (
                f"{name}: nextflow.config default {value!r} != schema default {props[name].get('default')!r}")


def test_config_defaults_and_test_profile_validate(nf_lang):
    validator = jsonschema.Draft202012Validator(_schema())
    defaults = {k: v for k, v in _config_defaults(nf_lang).items() if v is not None and v is not ...}
    validator.validate(defaults)
    profile = {}
    for name, value in nf_lang.config_params(REPO_ROOT / "conf" / "test.config").get("<top>", []):
        profile[name] = Evaluator(nf_lang, {}, "conf/test.config").eval(value)
    validator.validate({**defaults, **profile})
    # The schema constrains values: a wrong workflow name or seed type is rejected.
    for bad in ({"workflow": "bogus"}, {"seed": "seven"}, {"sim_preset": "huge"}):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate({**defaults, **bad})


def test_params_are_declared_and_read_only_in_the_entry_workflow(nf_lang):
    declared = set(_config_defaults(nf_lang))
    pattern = re.compile(r"\bparams\.([A-Za-z_][A-Za-z0-9_]*)")
    sources = [REPO_ROOT / "main.nf", REPO_ROOT / "nextflow.config", *sorted((REPO_ROOT / "conf").glob("*.config"))]
    for path in sources:
        used = set(pattern.findall(path.read_text()))
        assert not used - declared, f"{path.relative_to(REPO_ROOT)} reads undeclared params {sorted(used - declared)}"
    for folder in ("modules", "subworkflows"):
        for path in sorted((REPO_ROOT / folder).rglob("*.nf")):
            used = pattern.findall(path.read_text())
            assert not used, (f"{path.relative_to(REPO_ROOT)} reads params {sorted(set(used))}: only main.nf and "
                              "the config files may; pass values as inputs or ext.args")
