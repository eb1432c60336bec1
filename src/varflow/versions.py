"""The software versions of a run: ``<outdir>/pipeline_info/varflow_software_versions.yml``.

Both engines write the file, in the nf-core form: one entry per step that ran (under Nextflow, each
process from the ``versions`` topic channel; in-process, each ``varflow run <workflow>``), mapping tool
to version, and a ``Workflow`` entry naming the pipeline and its engine. The report shows it.
"""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

import varflow
from varflow.io.atomic import atomic_path
from varflow.layout import SOFTWARE_VERSIONS

#: the Python packages whose versions an in-process run records (the steps' libraries)
PACKAGES = ("numpy", "scipy", "pandas", "pyarrow", "torch", "catboost", "scikit-learn", "pysam", "msprime")
WORKFLOW_ENTRY = "Workflow"
PIPELINE_NAME = "varflow/varflow"


def installed_versions() -> dict[str, str]:
    """{tool: version} of varflow, Python and ``PACKAGES`` in this environment ("not installed" if absent)."""
    versions = {"varflow": varflow.__version__, "python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def read_software_versions(outdir: Path) -> dict[str, dict[str, Any]]:
    """The versions file of results folder ``outdir`` ({} when there is none)."""
    path = Path(outdir) / SOFTWARE_VERSIONS
    if not path.is_file():
        return {}
    doc = yaml.safe_load(path.read_text()) or {}
    return {str(k): dict(v or {}) for k, v in doc.items()}


def write_software_versions(outdir: Path, step: str) -> Path:
    """Add (or replace) the entry of ``step`` (e.g. ``varflow run shrink``) with this environment's
    versions, keeping the other steps' entries; returns the file."""
    doc = read_software_versions(outdir)
    doc[step] = installed_versions()
    doc[WORKFLOW_ENTRY] = {PIPELINE_NAME: varflow.__version__, "engine": "varflow run (in-process)"}
    path = Path(outdir) / SOFTWARE_VERSIONS
    with atomic_path(path, suffix=".yml") as tmp:
        tmp.write_text(yaml.safe_dump(doc, sort_keys=True))
    return path
