"""A Nextflow params file read by ``varflow run <workflow> --params FILE``: one vocabulary for both engines.

The file is exactly what ``nextflow run . -params-file FILE`` takes (YAML or JSON, keys = the params of
``nextflow_schema.json``). It is validated here against that same schema (JSON Schema draft 2020-12,
with nf-schema's ``exists`` keyword for file and directory params), then its ``cohort`` folder's
``cohort.yaml`` is checked for the files the chosen workflow needs, all before any work starts.

Differences from nf-schema, on purpose:

* Unknown params (typos such as ``s2e_windw``) are an error here. nf-schema only warns about
  unrecognised params unless ``validation.failUnrecognisedParams = true``; a typo that silently falls
  back to a default is the costlier mistake for a one-shot laptop run.
* A ``null`` value means "unset" (the param keeps its default), as a ``null`` in ``nextflow.config`` does.
* ``cohort`` is required: ``varflow run`` does not simulate (``varflow run all`` does); Nextflow without
  ``--cohort`` simulates a cohort first.

Params that only make sense to Nextflow (publishing, containers, executors, extra ``*_args`` strings,
simulation sizes) are accepted and ignored with one warning that lists them. ``use_gpu`` maps to
``--device cuda`` (``false``: ``--device cpu``), as ``conf/modules.config`` maps it for the GPU steps,
unless ``--device`` is given on the command line. Command-line options win over the file, as they do
over ``-params-file`` in Nextflow.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from varflow.errors import VarflowError
from varflow.io.cohort import MANIFEST_NAME, Cohort

log = logging.getLogger("varflow")

#: The cohort.yaml keys each workflow reads (groups: one entry per trait / chromosome). main.nf holds
#: the same map (``REQUIRED_COHORT_KEYS``); tests/unit/test_params_file.py keeps the two equal.
REQUIRED_COHORT_KEYS: dict[str, tuple[str, ...]] = {
    "shrink": ("sumstats", "gwas_genes"),
    "s2e": ("reference", "vcf", "genes", "expression"),
    "eqtl": ("finemap", "genes"),
}

#: ``info`` entries of cohort.yaml a workflow needs: Nextflow's S2E scatters prepare by
#: ``info.chromosomes`` (main.nf ``REQUIRED_COHORT_INFO``); checked here too so both accept the same folders.
REQUIRED_COHORT_INFO: dict[str, tuple[str, ...]] = {"s2e": ("chromosomes",)}

#: Keys of which a workflow needs at least one (each one present is checked like a required key): shrink
#: takes precomputed LD (``ld``) and/or reference panels (``ld_panel``) per chromosome. main.nf holds the
#: same map (``alternativeCohortKeys``).
ALTERNATIVE_COHORT_KEYS: dict[str, tuple[str, ...]] = {"shrink": ("ld", "ld_panel")}

#: Keys of a simulated cohort's truth that a workflow scores its results against when present.
TRUTH_COHORT_KEYS: dict[str, tuple[str, ...]] = {
    "shrink": ("gwas_truth",), "s2e": ("causal_variants",), "eqtl": ("causal_variants",),
}

#: Keys that must be keyed groups ({name: path}) rather than single files.
GROUP_KEYS = frozenset({"sumstats", "ld", "ld_panel"})

@dataclass(frozen=True)
class StepOption:
    """A step option a params file may set: the CLI ``option`` of each of ``steps`` (``<workflow> <step>``
    commands; ``conf/modules.config`` passes it to their processes) and the ``keyword`` of the step
    function the in-process run passes it to. Unset (null, the default in nextflow.config) leaves the
    step's own default, which lives in one place: the step. A boolean is a flag pair: true -> ``option``,
    false -> its ``--no-`` form."""

    steps: tuple[str, ...]
    option: str
    keyword: str


#: Step options reachable from a params file, ``varflow run`` and Nextflow, by param name (every one in
#: nextflow_schema.json; tests/nextflow/test_nf_module_contracts.py checks that conf/modules.config passes
#: each to its steps' processes as ``option``).
STEP_OPTIONS: dict[str, StepOption] = {
    "shrink_avg_block": StepOption(("ld-blocks", "ld-panel"), "--avg-block", "avg_block"),
    "shrink_half_width": StepOption(("ld-blocks", "ld-panel"), "--half-width", "half_width"),
    "shrink_block_rule": StepOption(("ld-blocks", "ld-panel"), "--block-rule", "rule"),
    "shrink_band_snps": StepOption(("ld-panel",), "--band-snps", "band_snps"),
    "shrink_min_maf": StepOption(("ld-panel",), "--min-maf", "min_maf"),
    "shrink_method": StepOption(("effects",), "--method", "method"),
    "shrink_restarts": StepOption(("cluster",), "--restarts", "n_restarts"),
    "shrink_k_max": StepOption(("cluster",), "--k-max", "k_max"),
    "shrink_max_iter": StepOption(("cluster",), "--max-iter", "max_iter"),
    "shrink_tol": StepOption(("cluster",), "--tol", "tol"),
    "shrink_pvalue_method": StepOption(("gene-test",), "--method", "method"),
    "shrink_report_statistic": StepOption(("gene-test",), "--report-statistic", "report_statistic"),
    "s2e_val_chroms": StepOption(("train",), "--val-chroms", "val_chroms"),
    "s2e_test_chroms": StepOption(("train",), "--test-chroms", "test_chroms"),
    "s2e_snvs_only": StepOption(("train",), "--snvs-only", "snvs_only"),
    "s2e_min_af": StepOption(("train",), "--min-af", "min_af"),
    "s2e_max_af": StepOption(("train",), "--max-af", "max_af"),
    "s2e_enet": StepOption(("evaluate",), "--enet", "with_enet"),
    "eqtl_n_boot": StepOption(("evaluate",), "--n-boot", "n_boot"),
}


def step_options(params: dict[str, Any], workflow: str, step: str) -> dict[str, Any]:
    """The keyword arguments the set ``params`` give ``workflow``'s ``step`` (unset ones omitted)."""
    return {opt.keyword: params[name] for name, opt in STEP_OPTIONS.items()
            if name.startswith(f"{workflow}_") and step in opt.steps and params.get(name) is not None}


#: Params the in-process run reads, per workflow (passed to that workflow's ``run_from_cohort``).
WORKFLOW_PARAMS: dict[str, tuple[str, ...]] = {
    "shrink": ("shrink_model", *(p for p in STEP_OPTIONS if p.startswith("shrink_"))),
    "s2e": ("s2e_window", "s2e_epochs", "s2e_ref_epochs", "s2e_allow_unphased", "s2e_max_ref_mismatch",
            "s2e_biotypes", "s2e_strip_gene_version", "s2e_arch", "s2e_genes_per_step", "s2e_batch_size", "s2e_lr",
            *(p for p in STEP_OPTIONS if p.startswith("s2e_"))),
    "eqtl": ("eqtl_config", *(p for p in STEP_OPTIONS if p.startswith("eqtl_"))),
}

#: Params every in-process run reads itself.
RUN_PARAMS = ("workflow", "outdir", "seed", "cohort", "use_gpu")


def schema_path() -> Path:
    """The packaged copy of the pipeline's ``nextflow_schema.json`` (the repository root links to it)."""
    return Path(str(resources.files("varflow") / "data" / "nextflow_schema.json"))


def load_schema() -> dict[str, Any]:
    return json.loads(schema_path().read_text())


def schema_properties(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every param of an nf-schema layout: top-level properties plus those of each ``$defs`` group."""
    props = dict(schema.get("properties", {}))
    for group in schema.get("$defs", {}).values():
        props.update(group.get("properties", {}))
    return props


def nextflow_only_params(schema: dict[str, Any]) -> set[str]:
    """Schema params that ``varflow run`` does not read (publishing, containers, executors, ``*_args``...)."""
    used = set(RUN_PARAMS) | {p for ps in WORKFLOW_PARAMS.values() for p in ps}
    return set(schema_properties(schema)) - used


def read_params_file(path: Path) -> dict[str, Any]:
    """Read a params file (YAML, or JSON when it ends in .json) into a mapping; ``null`` values dropped."""
    path = Path(path)
    if not path.is_file():
        raise VarflowError(f"{path}: params file not found")
    try:
        with open(path) as handle:
            doc = json.load(handle) if path.suffix.lower() == ".json" else yaml.safe_load(handle)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise VarflowError(f"{path}: cannot parse params file ({first})") from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise VarflowError(f"{path}: a params file holds a mapping of param: value, got {type(doc).__name__}")
    return {str(k): v for k, v in doc.items() if v is not None}


def validate_params(params: dict[str, Any], source: Path | str, schema: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
    """Check ``params`` against the pipeline schema; return them merged over the schema defaults.

    Raises a one-line VarflowError ``<source>: param '<name>': <what is wrong>`` on an unknown param,
    a wrong type or value, or a file/folder param (``exists: true``) that does not exist.
    """
    import jsonschema

    schema = schema if schema is not None else load_schema()
    props = schema_properties(schema)
    unknown = sorted(set(params) - set(props))
    if unknown:
        raise VarflowError(f"{source}: param '{unknown[0]}' is not a param of the pipeline "
                           f"(nextflow_schema.json){_suggest(unknown[0], props)}")
    # As nf-schema validates the params after the config defaults are applied.
    merged = {**{k: p["default"] for k, p in props.items() if "default" in p}, **params}
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(merged), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        err = errors[0]
        where = f"param '{err.absolute_path[0]}'" if err.absolute_path else "params"
        raise VarflowError(f"{source}: {where}: {err.message}")
    for name, value in params.items():
        prop = props[name]
        if prop.get("exists") and prop.get("format") in ("file-path", "directory-path"):
            path = Path(value)
            if not path.exists():
                raise VarflowError(f"{source}: param '{name}': {value} does not exist")
            if prop["format"] == "directory-path" and not path.is_dir():
                raise VarflowError(f"{source}: param '{name}': {value} is not a folder")
            if prop["format"] == "file-path" and not path.is_file():
                raise VarflowError(f"{source}: param '{name}': {value} is not a file")
    return merged


def _suggest(name: str, props: dict[str, Any]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(props), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _manifest_entries(cohort: Cohort, key: str, workflow: str) -> dict[str, Path]:
    """The absolute path(s) behind manifest key ``key``; one-line error if absent or of the wrong kind."""
    manifest = cohort.root / MANIFEST_NAME
    if key not in cohort.files or cohort.files[key] in (None, "", {}):
        raise VarflowError(f"{manifest}: no '{key}' (the {workflow} workflow needs it)")
    entry = cohort.files[key]
    if key in GROUP_KEYS:
        if not isinstance(entry, dict):
            raise VarflowError(f"{manifest}: '{key}' must be a group {{name: path}} (the {workflow} workflow "
                               f"reads one file per name)")
        return {f"{key}.{name}": cohort.root / str(rel) for name, rel in entry.items()}
    if isinstance(entry, dict):
        return {f"{key}.{name}": cohort.root / str(rel) for name, rel in entry.items()}
    return {key: cohort.root / str(entry)}


def eqtl_config_cohort_keys(config: Path | None) -> list[str]:
    """Cohort manifest keys an eqtl config reads through ``cohort:`` (its sources and allele_freq)."""
    from varflow.eqtl.config import default_config_path

    path = Path(config) if config is not None else default_config_path()
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise VarflowError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict):
        return []  # load_config reports the bad document
    specs = [*(doc.get("sources") or []), doc.get("allele_freq"), doc.get("finemap")]
    # 'regulatory_bed.hepatocyte' reads one entry of the group 'regulatory_bed'
    return [str(s["cohort"]).partition(".")[0] for s in specs if isinstance(s, dict) and "cohort" in s]


def workflow_cohort_keys(cohort: Cohort, workflow: str, *, eqtl_config: Any = None) -> list[str]:
    """The manifest keys ``workflow`` reads: its required keys, the alternatives present and, for eqtl,
    the keys its config(s) name through ``cohort:``."""
    from varflow.eqtl.config import config_paths

    keys = list(REQUIRED_COHORT_KEYS[workflow])
    keys += [k for k in ALTERNATIVE_COHORT_KEYS.get(workflow, ()) if cohort.files.get(k) not in (None, "", {})]
    if workflow == "eqtl":
        for config in config_paths(eqtl_config):
            keys += [k for k in eqtl_config_cohort_keys(config) if k not in keys]
    return keys


def workflow_inputs(cohort: Cohort, workflow: str, params: dict[str, Any]) -> dict[str, Path]:
    """Every file ``workflow`` reads, by label: the manifest, the files it names for this workflow (plus
    the simulated truth it scores against, when present; a PLINK prefix as its .bed/.bim/.fam, an
    NPY/text LD matrix with its .bim) and the files its ``params`` name."""
    from varflow.eqtl.config import config_paths
    from varflow.shrink.inputs import bim_beside

    keys = workflow_cohort_keys(cohort, workflow, eqtl_config=params.get("eqtl_config"))
    keys += [k for k in TRUTH_COHORT_KEYS.get(workflow, ()) if k in cohort.files]
    files = {MANIFEST_NAME: cohort.root / MANIFEST_NAME}
    for key in keys:
        for label, path in _manifest_entries(cohort, key, workflow).items():
            plink = [path.with_name(path.name + ext) for ext in (".bed", ".bim", ".fam")]
            if key == "ld_panel" and not path.exists() and plink[0].exists():
                files.update({f"{label}{p.suffix}": p for p in plink})
            else:
                files[label] = path
            if key == "ld" and path.suffix != ".npz":
                files[f"{label}.bim"] = bim_beside(path)
    if params.get("shrink_model"):
        files["shrink_model"] = Path(params["shrink_model"])
    if params.get("eqtl_config"):
        files.update({f"eqtl_config.{i}": path for i, path in enumerate(config_paths(params["eqtl_config"]))})
    return files


def check_cohort(cohort: Cohort, workflow: str, *, eqtl_config: Any = None) -> None:
    """Every file ``workflow`` needs is named in the manifest and exists (the VCF with its index).

    For eqtl also the manifest keys its config(s) name (``cohort:`` sources; ``eqtl_config`` one path, a
    list or a comma-separated string, see ``eqtl.config.config_paths``), and each config is parsed and
    resolved (load_config), so a bad config fails here rather than after featurizing.
    """
    from varflow.eqtl.config import config_paths
    from varflow.shrink.inputs import bim_beside

    eqtl_configs = config_paths(eqtl_config)
    manifest = cohort.root / MANIFEST_NAME
    for key in REQUIRED_COHORT_INFO.get(workflow, ()):
        if not cohort.info.get(key):
            raise VarflowError(f"{manifest}: no 'info.{key}' (the {workflow} workflow needs it)")
    alternatives = ALTERNATIVE_COHORT_KEYS.get(workflow, ())
    present = [k for k in alternatives if cohort.files.get(k) not in (None, "", {})]
    for key in workflow_cohort_keys(cohort, workflow, eqtl_config=eqtl_config):
        for label, path in _manifest_entries(cohort, key, workflow).items():
            if not path.exists() and not (key == "ld_panel" and path.with_name(path.name + ".bed").exists()):
                raise VarflowError(f"{manifest}: '{label}' names {path}, which does not exist"
                                   + (" (nor a PLINK fileset with that prefix)" if key == "ld_panel" else ""))
            if key == "ld" and path.suffix != ".npz" and not bim_beside(path).exists():
                raise VarflowError(f"{manifest}: '{label}' names {path}, an NPY/text LD matrix, which needs its SNP "
                                   f"list {bim_beside(path).name} beside it")
            if key == "vcf" and not (Path(f"{path}.tbi").exists() or Path(f"{path}.csi").exists()):
                raise VarflowError(f"{manifest}: 'vcf' names {path}, which has no tabix index "
                                   f"({path.name}.tbi or .csi)")
    if alternatives and not present:
        raise VarflowError(f"{manifest}: no '{alternatives[0]}'" + "".join(f" or '{k}'" for k in alternatives[1:])
                           + f" (the {workflow} workflow needs one)")
    if workflow == "eqtl":
        from varflow.eqtl.config import load_config

        for config in eqtl_configs:
            load_config(config, cohort=cohort)


@dataclass
class ParamsRun:
    """What a params file asks of one in-process workflow run."""

    workflow: str
    cohort: Cohort
    outdir: Path
    seed: int
    device: str
    params: dict[str, Any] = field(default_factory=dict)  # this workflow's own params (WORKFLOW_PARAMS)
    ignored: list[str] = field(default_factory=list)      # Nextflow-only params the file set


def resolve_params_run(workflow: str, path: Path, *, outdir: Path | None = None, seed: int | None = None,
                       device: str | None = None) -> ParamsRun:
    """Load, validate and check a params file for ``varflow run <workflow>``; nothing runs yet.

    ``outdir``/``seed``/``device`` given on the command line win over the file's ``outdir``/``seed``/
    ``use_gpu``; ``workflow`` in the file is overridden by the subcommand (as ``--workflow`` overrides
    ``-params-file`` in Nextflow).
    """
    if workflow not in REQUIRED_COHORT_KEYS:
        raise VarflowError(f"unknown workflow {workflow!r}; a params file runs one of {', '.join(REQUIRED_COHORT_KEYS)}")
    path = Path(path)
    schema = load_schema()
    given = read_params_file(path)
    merged = validate_params(given, path, schema)
    if "cohort" not in given:
        raise VarflowError(f"{path}: param 'cohort' is missing: name the folder whose {MANIFEST_NAME} lists your "
                           f"files (README: Your own data)")
    if outdir is None and "outdir" not in given:
        raise VarflowError(f"{path}: no 'outdir' in the params file and no --outdir given")
    cohort = Cohort.load(given["cohort"])
    wf_params = {k: merged[k] for k in WORKFLOW_PARAMS[workflow] if k in given}
    check_cohort(cohort, workflow, eqtl_config=given.get("eqtl_config"))
    if device is None:
        device = ("cuda" if given["use_gpu"] else "cpu") if "use_gpu" in given else "auto"
    ignored = sorted(set(given) & nextflow_only_params(schema))
    if ignored:
        log.warning("%s: Nextflow-only params ignored by varflow run: %s", path, ", ".join(ignored))
    if given.get("workflow") not in (None, workflow, "all"):
        log.info("%s: workflow '%s' in the file; running %s as asked on the command line", path,
                 given["workflow"], workflow)
    return ParamsRun(workflow=workflow, cohort=cohort, outdir=Path(outdir if outdir is not None else given["outdir"]),
                     seed=int(seed if seed is not None else merged["seed"]), device=device, params=wf_params,
                     ignored=ignored)
