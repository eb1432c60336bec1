"""The params file of ``varflow run --params``: the same schema, the same cohort rules as main.nf."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
import yaml

from varflow import params as P
from varflow.errors import VarflowError
from varflow.io.cohort import Cohort

REPO_ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------------- the schema


def test_packaged_schema_is_the_pipeline_schema():
    """The package ships nextflow_schema.json (the root file links to it), so installed copies validate
    with exactly the schema Nextflow reads."""
    root = REPO_ROOT / "nextflow_schema.json"
    assert P.schema_path().read_bytes() == root.read_bytes()
    assert P.load_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_param_is_read_by_varflow_run_or_listed_as_nextflow_only():
    schema = P.load_schema()
    props = set(P.schema_properties(schema))
    read = set(P.RUN_PARAMS) | {p for ps in P.WORKFLOW_PARAMS.values() for p in ps}
    assert read <= props, f"varflow run reads params the schema lacks: {sorted(read - props)}"
    only = P.nextflow_only_params(schema)
    assert only == props - read
    assert {"publish_dir_mode", "cpu_container", "shrink_args", "s2e_args", "sim_preset", "slurm_queue"} <= only
    assert not only & {"cohort", "seed", "use_gpu", "shrink_model", "s2e_window", "eqtl_config"}


# ------------------------------------------------------------------------- main.nf and Python agree


def _groovy_function_body(name: str) -> str:
    text = (REPO_ROOT / "main.nf").read_text()
    match = re.search(rf"def {name}\(\) \{{\s*return (.*?)\n\}}", text, re.S)
    assert match, f"main.nf has no function {name}()"
    return match.group(1)


def _groovy_map_of_lists(body: str) -> dict[str, tuple[str, ...]]:
    """``[a: ['x', 'y'], b: ['z']]`` -> {'a': ('x', 'y'), 'b': ('z',)}."""
    entries = re.findall(r"(\w+)\s*:\s*\[([^\]]*)\]", body)
    return {key: tuple(re.findall(r"'([^']*)'", items)) for key, items in entries}


def test_main_nf_checks_the_same_cohort_keys_as_python():
    assert _groovy_map_of_lists(_groovy_function_body("requiredCohortKeys")) == P.REQUIRED_COHORT_KEYS
    assert _groovy_map_of_lists(_groovy_function_body("requiredCohortInfo")) == P.REQUIRED_COHORT_INFO
    assert _groovy_map_of_lists(_groovy_function_body("alternativeCohortKeys")) == P.ALTERNATIVE_COHORT_KEYS
    groups = re.findall(r"'([^']*)'", _groovy_function_body("groupCohortKeys"))
    assert set(groups) == P.GROUP_KEYS
    # and main.nf actually uses the check on every cohort it reads
    text = (REPO_ROOT / "main.nf").read_text()
    assert "checkedManifest(dir, params.workflow)" in text
    assert re.findall(r"\bcohortManifest\(", text).count("cohortManifest(") == 2  # definition + checkedManifest


# ------------------------------------------------------------------------------- reading the file


def test_read_params_file_yaml_json_and_errors(tmp_path):
    good = tmp_path / "p.json"
    good.write_text('{"cohort": "c", "seed": 3, "shrink_model": null}')
    assert P.read_params_file(good) == {"cohort": "c", "seed": 3}  # null = unset
    (tmp_path / "p.yaml").write_text("cohort: c\ns2e_window: 8000\n")
    assert P.read_params_file(tmp_path / "p.yaml") == {"cohort": "c", "s2e_window": 8000}
    (tmp_path / "list.yaml").write_text("- just\n- a list\n")
    with pytest.raises(VarflowError, match="list.yaml: a params file holds a mapping"):
        P.read_params_file(tmp_path / "list.yaml")
    with pytest.raises(VarflowError, match="none.yaml: params file not found"):
        P.read_params_file(tmp_path / "none.yaml")
    (tmp_path / "broken.yaml").write_text("cohort: [unclosed\n")
    with pytest.raises(VarflowError, match="broken.yaml: cannot parse params file"):
        P.read_params_file(tmp_path / "broken.yaml")


@pytest.mark.parametrize("params, message", [
    ({"s2e_windw": 5000}, "my.yaml: param 's2e_windw' is not a param of the pipeline (nextflow_schema.json); "
                          "did you mean 's2e_window'?"),
    ({"s2e_window": -5}, "my.yaml: param 's2e_window': -5 is less than the minimum of 100"),
    ({"seed": "seven"}, "my.yaml: param 'seed': 'seven' is not of type 'integer'"),
    ({"use_gpu": "yes"}, "my.yaml: param 'use_gpu': 'yes' is not of type 'boolean'"),
    ({"workflow": "bogus"}, "my.yaml: param 'workflow': 'bogus' is not one of"),
    ({"eqtl_config": "cfg.txt"}, "my.yaml: param 'eqtl_config': 'cfg.txt' does not match"),
])
def test_validate_params_names_file_param_and_problem(params, message):
    with pytest.raises(VarflowError) as err:
        P.validate_params(params, "my.yaml")
    assert str(err.value).startswith(message), str(err.value)
    assert "\n" not in str(err.value)


def test_validate_params_exists_and_defaults(tmp_path):
    with pytest.raises(VarflowError, match=r"my.yaml: param 'shrink_model': .*nope does not exist"):
        P.validate_params({"shrink_model": str(tmp_path / "nope")}, "my.yaml")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(VarflowError, match=r"param 'shrink_model': .*f.txt is not a folder"):
        P.validate_params({"shrink_model": str(tmp_path / "f.txt")}, "my.yaml")
    # eqtl_config may list several files (one per cell type): each is checked when the config is loaded
    (tmp_path / "cfg.yaml").mkdir()
    P.validate_params({"eqtl_config": f"{tmp_path / 'cfg.yaml'},{tmp_path / 'other.yml'}"}, "my.yaml")
    from varflow.eqtl.config import config_paths, load_config
    paths = config_paths(f"{tmp_path / 'cfg.yaml'}, {tmp_path / 'other.yml'}")
    assert paths == [tmp_path / "cfg.yaml", tmp_path / "other.yml"]
    with pytest.raises(VarflowError, match=r"cfg.yaml: the eqtl config is not a file"):
        load_config(paths[0])
    with pytest.raises(VarflowError, match=r"other.yml: config file not found"):
        load_config(paths[1])
    merged = P.validate_params({"seed": 5}, "my.yaml")
    defaults = {k: v["default"] for k, v in P.schema_properties(P.load_schema()).items() if "default" in v}
    assert merged == {**defaults, "seed": 5} and merged["s2e_window"] == 40000


# ------------------------------------------------------------------------------ the cohort folder


def _user_cohort(tmp_path: Path, tiny_cohort: Cohort, files: dict, info: dict | None = None) -> Path:
    """A cohort folder assembled by hand: the tiny cohort's files linked under the user's own names."""
    root = tmp_path / "mydata"
    root.mkdir()

    def link(name: str, src: Path) -> str:
        (root / name).symlink_to(src)
        for suffix in (".tbi", ".fai"):
            if Path(f"{src}{suffix}").exists():
                (root / f"{name}{suffix}").symlink_to(f"{src}{suffix}")
        return name

    manifest = {}
    for key, value in files.items():
        if isinstance(value, dict):
            manifest[key] = {sub: link(name, src) for sub, (name, src) in value.items()}
        else:
            name, src = value
            manifest[key] = link(name, src) if src is not None else name
    (root / "cohort.yaml").write_text(yaml.safe_dump({"files": manifest, "info": info or {}}))
    return root


def test_check_cohort_names_manifest_key_and_path(tiny_cohort, tmp_path):
    c = tiny_cohort
    root = _user_cohort(tmp_path, c, {
        "vcf": ("my.vcf.gz", c.path("vcf")), "reference": ("ref.fa", c.path("reference")),
        "genes": ("genes.parquet", c.path("genes")), "expression": ("missing.parquet", None),
        "sumstats": ("one.parquet", c.path("sumstats", "trait1")),
    }, info={"chromosomes": ["chr1"]})
    cohort = Cohort.load(root)
    manifest = root / "cohort.yaml"
    with pytest.raises(VarflowError) as err:
        P.check_cohort(cohort, "s2e")
    assert str(err.value) == f"{manifest}: 'expression' names {root / 'missing.parquet'}, which does not exist"
    with pytest.raises(VarflowError, match=re.escape(f"{manifest}: 'sumstats' must be a group")):
        P.check_cohort(cohort, "shrink")
    with pytest.raises(VarflowError) as err:
        P.check_cohort(cohort, "eqtl")
    assert str(err.value) == f"{manifest}: no 'finemap' (the eqtl workflow needs it)"
    # s2e on Nextflow scatters by info.chromosomes: both engines want it
    (root / "cohort.yaml").write_text(yaml.safe_dump({"files": cohort.files, "info": {}}))
    with pytest.raises(VarflowError, match=r"no 'info.chromosomes' \(the s2e workflow needs it\)"):
        P.check_cohort(Cohort.load(root), "s2e")


def test_check_cohort_vcf_index_and_eqtl_config_keys(tiny_cohort, tmp_path):
    c = tiny_cohort
    root = _user_cohort(tmp_path, c, {"finemap": ("fm.parquet", c.path("finemap")),
                                      "genes": ("genes.parquet", c.path("genes"))})
    cohort = Cohort.load(root)
    # the packaged default config reads regulatory_bed, dl_scores, gene_constraint, allele_freq by cohort key
    assert set(P.eqtl_config_cohort_keys(None)) == {"regulatory_bed", "dl_scores", "gene_constraint", "allele_freq"}
    with pytest.raises(VarflowError, match=r"cohort.yaml: no '(regulatory_bed|dl_scores|gene_constraint|allele_freq)' "
                                           r"\(the eqtl workflow needs it\)"):
        P.check_cohort(cohort, "eqtl")
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({"sources": [{"name": "dl", "type": "variant_scores", "cohort": "my_scores",
                                                "category": "deep_learning"}],
                               "categories": {"deep_learning": 10}}))
    with pytest.raises(VarflowError, match=r"no 'my_scores' \(the eqtl workflow needs it\)"):
        P.check_cohort(cohort, "eqtl", eqtl_config=cfg)
    files = {**cohort.files, "my_scores": "scores.parquet"}
    (root / "scores.parquet").symlink_to(c.path("dl_scores"))
    (root / "cohort.yaml").write_text(yaml.safe_dump({"files": files}))
    P.check_cohort(Cohort.load(root), "eqtl", eqtl_config=cfg)  # complete: no error
    # a VCF without its tabix index
    (root / "plain.vcf.gz").symlink_to(c.path("vcf"))
    (root / "ref.fa").symlink_to(c.path("reference"))
    files = {"vcf": "plain.vcf.gz", "reference": "ref.fa", "genes": "genes.parquet", "expression": "fm.parquet"}
    (root / "cohort.yaml").write_text(yaml.safe_dump({"files": files, "info": {"chromosomes": ["chr1"]}}))
    with pytest.raises(VarflowError, match=r"'vcf' names .*plain.vcf.gz, which has no tabix index"):
        P.check_cohort(Cohort.load(root), "s2e")


def test_resolve_params_run_precedence_and_nextflow_only_warning(tiny_cohort, tmp_path, caplog):
    c = tiny_cohort
    root = _user_cohort(tmp_path, c, {"sumstats": {"t1": ("t1.parquet", c.path("sumstats", "trait1"))},
                                      "ld": {"chr1": ("ld1.npz", c.path("ld", "chr1"))},
                                      "gwas_genes": ("g.parquet", c.path("gwas_genes"))})
    pfile = tmp_path / "p.yaml"
    pfile.write_text(yaml.safe_dump({"cohort": str(root), "outdir": str(tmp_path / "out"), "seed": 11,
                                     "workflow": "eqtl", "use_gpu": False, "publish_dir_mode": "symlink",
                                     "shrink_args": "--method enet", "s2e_window": 8000}))
    with caplog.at_level(logging.WARNING, logger="varflow"):
        run = P.resolve_params_run("shrink", pfile)
    assert (run.outdir, run.seed, run.device) == (tmp_path / "out", 11, "cpu")
    assert run.params == {} and run.cohort.root == root  # s2e_window belongs to another workflow
    assert run.ignored == ["publish_dir_mode", "shrink_args"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"{pfile}: Nextflow-only params ignored by varflow run: publish_dir_mode, shrink_args"]
    # the command line wins over the file
    run = P.resolve_params_run("shrink", pfile, outdir=tmp_path / "cli", seed=2, device="auto")
    assert (run.outdir, run.seed, run.device) == (tmp_path / "cli", 2, "auto")
    # use_gpu true maps to cuda (the GPU steps' --device in conf/modules.config); unset: auto; no seed: 42
    pfile.write_text(yaml.safe_dump({"cohort": str(root), "use_gpu": True, "outdir": "o"}))
    assert P.resolve_params_run("shrink", pfile).device == "cuda"
    pfile.write_text(yaml.safe_dump({"cohort": str(root), "outdir": "o"}))
    run = P.resolve_params_run("shrink", pfile)
    assert (run.device, run.seed) == ("auto", P.load_schema()["$defs"]["run_options"]["properties"]["seed"]["default"])
    pfile.write_text(json.dumps({"cohort": str(root)}))
    with pytest.raises(VarflowError, match="no 'outdir' in the params file and no --outdir given"):
        P.resolve_params_run("shrink", pfile)


def _s2e_cohort(c, tmp_path):
    """A user's cohort folder with the tiny cohort's s2e inputs under their own names."""
    return _user_cohort(tmp_path, c, {"vcf": ("calls.vcf.gz", c.path("vcf")),
                                      "reference": ("genome.fa", c.path("reference")),
                                      "genes": ("genes.parquet", c.path("genes")),
                                      "expression": ("tpm.parquet", c.path("expression"))},
                        info={"chromosomes": ["chr1"]})


@pytest.mark.parametrize("given, expected", [({"s2e_allow_unphased": True}, True), ({}, False)])
def test_s2e_allow_unphased_reaches_prepare(tiny_cohort, tmp_path, monkeypatch, given, expected):
    """params file -> varflow run s2e -> s2e prepare's allow_unphased (default false, as in the schema)."""
    from varflow.pipelines import run_workflow
    from varflow.s2e import steps

    root = _s2e_cohort(tiny_cohort, tmp_path)
    seen = {}

    def prepare(*args, **kwargs):
        seen.update(kwargs)
        raise VarflowError("stopped after prepare")

    monkeypatch.setattr(steps, "prepare", prepare)
    pfile = tmp_path / "p.yaml"
    pfile.write_text(yaml.safe_dump({"cohort": str(root), "outdir": str(tmp_path / "out"), **given}))
    with pytest.raises(VarflowError, match="stopped after prepare"):
        run_workflow("s2e", None, params=pfile, quick=True)
    assert seen["allow_unphased"] is expected


def test_s2e_step_options_reach_prepare_and_train(tiny_cohort, tmp_path, monkeypatch):
    """Every s2e param of the schema reaches its step option: prepare's mismatch limit and gene options,
    train's architecture, whole-gene steps, batch size and learning rate."""
    from varflow.io.gene_tss import GeneTssOptions
    from varflow.pipelines import run_workflow
    from varflow.s2e import steps

    root = _s2e_cohort(tiny_cohort, tmp_path)
    seen = {}

    def train(store, expression, outdir, cfg, **kwargs):
        seen["cfg"] = cfg
        raise VarflowError("stopped at train")

    monkeypatch.setattr(steps, "prepare", lambda *a, **kw: seen.update(kw))
    monkeypatch.setattr(steps, "train", train)
    pfile = tmp_path / "p.yaml"
    pfile.write_text(yaml.safe_dump({"cohort": str(root), "outdir": str(tmp_path / "out"), "s2e_window": 2000,
                                     "s2e_max_ref_mismatch": 0.05, "s2e_biotypes": "protein_coding,lncRNA",
                                     "s2e_strip_gene_version": True, "s2e_arch": "scan", "s2e_genes_per_step": 3,
                                     "s2e_batch_size": 8, "s2e_lr": 0.002}))
    with pytest.raises(VarflowError, match="stopped at train"):
        run_workflow("s2e", None, params=pfile)
    assert seen["max_ref_mismatch"] == 0.05
    assert seen["gene_options"] == GeneTssOptions(biotypes=("protein_coding", "lncRNA"), strip_version=True)
    cfg = seen["cfg"]
    assert (cfg.model.arch, cfg.model.window, cfg.genes_per_step, cfg.batch_size, cfg.lr) == ("scan", 2000, 3, 8, 0.002)
    pfile.write_text(yaml.safe_dump({"cohort": str(root), "outdir": str(tmp_path / "out2"), "s2e_arch": "cnn"}))
    with pytest.raises(VarflowError, match="s2e_arch"):
        run_workflow("s2e", None, params=pfile)


def test_workflow_inputs_are_the_files_the_workflow_reads(tiny_cohort, tmp_path):
    """The run record's inputs: the manifest, this workflow's files (a PLINK prefix as its three files),
    its simulated truth and the files its params name; not the other workflows' files."""
    c = tiny_cohort
    root = _user_cohort(tmp_path, c, {"sumstats": {"t1": ("t1.parquet", c.path("sumstats", "trait1"))},
                                      "gwas_genes": ("g.parquet", c.path("gwas_genes")),
                                      "gwas_truth": ("truth.parquet", c.path("gwas_truth")),
                                      "expression": ("e.parquet", c.path("expression"))})
    for ext in (".bed", ".bim", ".fam"):
        (root / f"eur{ext}").write_text("")
    doc = yaml.safe_load((root / "cohort.yaml").read_text())
    doc["files"]["ld_panel"] = {"chr1": "eur"}
    (root / "cohort.yaml").write_text(yaml.safe_dump(doc))
    files = P.workflow_inputs(Cohort.load(root), "shrink", {"shrink_model": str(tmp_path)})
    assert files == {"cohort.yaml": root / "cohort.yaml", "sumstats.t1": root / "t1.parquet",
                     "ld_panel.chr1.bed": root / "eur.bed", "ld_panel.chr1.bim": root / "eur.bim",
                     "ld_panel.chr1.fam": root / "eur.fam", "gwas_genes": root / "g.parquet",
                     "gwas_truth": root / "truth.parquet", "shrink_model": tmp_path}
