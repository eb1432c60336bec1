"""The results layout, the one both engines write: ``varflow run`` and ``nextflow run`` publish the same
paths under the results folder, so ``varflow report`` reads either.

    <outdir>/cohort/                           the simulated cohort (when the run simulates one)
    <outdir>/<workflow>/[<cell type>/]<path>   each step's outputs (``STEP_OUTPUTS``)
    <outdir>/report.html                       the report
    <outdir>/pipeline_info/                    software versions (and Nextflow's execution reports)

``STEP_OUTPUTS`` maps each step, by its Nextflow process name, to its outputs relative to its
workflow folder (``{field}`` parts are the task's trait, chromosome, ...; a path without a suffix is a
folder). The in-process runners build their paths from it (``step_path``), the report finds its files
through it, and tests/nextflow/test_nf_layout.py checks every module's ``output:`` paths under the
``publishDir`` rules of conf/modules.config against it, and every file of an in-process run.
"""

from __future__ import annotations

import re
from pathlib import Path

#: process name -> its outputs, relative to the workflow folder (SIMULATE_COHORT and VARFLOW_REPORT:
#: relative to the results folder).
STEP_OUTPUTS: dict[str, tuple[str, ...]] = {
    "SIMULATE_COHORT": ("cohort",),
    "SHRINK_LD_BLOCKS": ("ld_blocks/{chrom}.blocks.parquet", "ld_blocks/{chrom}.blocks.npz"),
    "SHRINK_LD_PANEL": ("ld_blocks/{chrom}.blocks.parquet", "ld_blocks/{chrom}.blocks.npz",
                        "ld_blocks/{chrom}.ld_band.npz"),
    "SHRINK_EFFECTS": ("effects/{trait}.{chrom}.parquet",),
    "SHRINK_CLUSTER": ("cluster/{trait}.clusters.parquet", "cluster/{trait}.model.json"),
    "SHRINK_CLUSTER_JOINT": ("cluster/joint.clusters.parquet", "cluster/joint.model.json"),
    "SHRINK_GENE_TEST": ("gene_tests/{trait}.gene_tests.parquet",),
    "SHRINK_MULTI_TRAIT": ("multitrait/genes.parquet", "multitrait/cluster_types.parquet"),
    "SHRINK_PLOTS": ("plots",),
    "S2E_PREPARE": ("store/{chrom}.npz", "store/{chrom}.stats.json"),
    "S2E_TRAIN": ("model",),
    "S2E_EVALUATE": ("evaluate",),
    "S2E_VARIANT_EFFECTS": ("variant_effects.parquet", "gxi_tracks.npz"),
    "S2E_VARIANT_TRUTH": ("variant_truth.json",),
    "EQTL_FEATURIZE": ("features",),
    "EQTL_LABELS": ("labels",),
    "EQTL_SEARCH": ("search/weights_{chrom}.json",),
    "EQTL_TRAIN": ("train/{chrom}",),
    "EQTL_TRAIN_SEARCHED": ("train/{chrom}_searched",),
    "EQTL_EVALUATE": ("evaluate",),
    "EQTL_PREDICT": ("predict/predictions.parquet", "predict/predictions.tsv.gz", "predict/predictions.tsv.gz.tbi"),
    "VARFLOW_REPORT": ("report.html",),
}

#: the processes whose outputs lie directly in the results folder, not in a workflow folder
TOP_LEVEL = ("SIMULATE_COHORT", "VARFLOW_REPORT")
#: files only ``varflow run`` writes (Nextflow keeps the same facts in pipeline_info/ and its cache)
IN_PROCESS_ONLY = ("run.json", "summary.json")
PIPELINE_INFO = "pipeline_info"
#: the software versions of a run, written by both engines (Nextflow: from the versions topic channel)
SOFTWARE_VERSIONS = f"{PIPELINE_INFO}/varflow_software_versions.yml"
#: the run's params as JSON (Nextflow: main.nf; in-process: run_all's summary.json holds them too)
RUN_PARAMS = f"{PIPELINE_INFO}/varflow_params.json"
REPORT = "report.html"
COHORT = "cohort"


def workflow_of(process: str) -> str | None:
    """The workflow folder a process publishes to (its name's first part), ``None`` for the top level."""
    return None if process in TOP_LEVEL else process.split("_", 1)[0].lower()


def workflow_dir(outdir: Path, workflow: str, cell_type: str | None = None) -> Path:
    """``outdir/<workflow>[/<cell type>]``: one eqtl config of several gets its own folder."""
    folder = Path(outdir) / workflow
    return folder / cell_type if cell_type else folder


def step_path(folder: Path, process: str, index: int = 0, **fields: str) -> Path:
    """Output ``index`` of ``process`` under its workflow ``folder``, its ``{fields}`` filled in."""
    return Path(folder) / STEP_OUTPUTS[process][index].format(**fields)


def step_dir(folder: Path, process: str, index: int = 0) -> Path:
    """The folder output ``index`` of ``process`` lies in, under its workflow ``folder`` (e.g. store/)."""
    return Path(folder) / Path(STEP_OUTPUTS[process][index]).parent


def step_glob(process: str, index: int = 0) -> str:
    """Output ``index`` of ``process`` as a glob relative to its workflow folder (fields -> ``*``)."""
    return re.sub(r"\{\w+\}", "*", STEP_OUTPUTS[process][index])


def pattern_regex(pattern: str) -> re.Pattern:
    """A layout pattern as a regex over relative paths: a field matches one path component's part; a
    folder output also matches every path inside it."""
    parts = re.split(r"(\{\w+\})", pattern)
    body = "".join("[^/]+" if re.fullmatch(r"\{\w+\}", p) else re.escape(p) for p in parts)
    return re.compile(body + ("(/.+)?" if not Path(pattern).suffix else ""))


def process_of(relpath: str, workflow: str) -> str | None:
    """The process of ``workflow`` (``None``: top level) whose layout holds ``relpath``, else ``None``."""
    for process, patterns in STEP_OUTPUTS.items():
        if workflow_of(process) == workflow and any(pattern_regex(p).fullmatch(relpath) for p in patterns):
            return process
    return None
