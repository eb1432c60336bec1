"""nf-lang lint of every .nf and .config file in the repository, and proof that the lint can fail.

Warnings count as failures: in nf-lang they are the strict-syntax deprecations (``Channel.``,
implicit ``it``, ``shell:``, ``when:``) and unknown config options, which the project forbids.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

import nf_support

REPO_ROOT = nf_support.REPO_ROOT
# Folders that never hold pipeline sources: environments, caches, run outputs.
SKIP_DIRS = {".git", ".venv", ".cache", ".nextflow", "work", "results", "node_modules", ".pytest_cache",
             "build", "dist", ".nf-test"}
# Files with a .config suffix that are not Nextflow configs: nf-test's own settings (nf-test DSL).
NOT_NEXTFLOW = {"nf-test.config"}


def _sources(suffix: str) -> list[Path]:
    out = []
    for path in REPO_ROOT.rglob(f"*{suffix}"):
        rel = path.relative_to(REPO_ROOT)
        if not (set(rel.parts[:-1]) & SKIP_DIRS) and path.is_file() and rel.as_posix() not in NOT_NEXTFLOW:
            out.append(path)
    return sorted(out)


def _report(diagnostics) -> str:
    return "\n".join(map(str, diagnostics))


def test_every_nf_file_lints_clean(nf_lang):
    files = _sources(".nf")
    assert REPO_ROOT / "main.nf" in files
    start = time.perf_counter()
    diagnostics = nf_lang.lint_scripts(files)
    elapsed = time.perf_counter() - start
    print(f"nf-lang: {len(files)} .nf files linted in {elapsed:.2f} s")
    assert not diagnostics, f"nf-lang reports on .nf files:\n{_report(diagnostics)}"


def test_every_config_lints_clean(nf_lang):
    files = _sources(".config")
    assert REPO_ROOT / "nextflow.config" in files
    start = time.perf_counter()
    diagnostics = nf_lang.lint_configs(files)
    elapsed = time.perf_counter() - start
    print(f"nf-lang: {len(files)} .config files linted in {elapsed:.2f} s")
    assert not diagnostics, f"nf-lang reports on .config files:\n{_report(diagnostics)}"


# ----------------------------------------------------------------------- planted errors


@pytest.fixture
def pipeline_copy(tmp_path) -> Path:
    """A copy of the pipeline's Nextflow sources, safe to break."""
    root = tmp_path / "pipeline"
    root.mkdir()
    for name in ("main.nf", "nextflow.config"):
        shutil.copy(REPO_ROOT / name, root / name)
    for folder in ("conf", "modules", "subworkflows"):
        shutil.copytree(REPO_ROOT / folder, root / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return root


def _plant(path: Path, pattern: str, replacement: str) -> None:
    """Replace the first match of regex ``pattern``; the anchor must exist, so no case is a no-op."""
    text = path.read_text()
    new, count = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
    assert count == 1, f"planted-error anchor {pattern!r} not found in {path}"
    path.write_text(new)


SUBWORKFLOW = "subworkflows/local/simulate/main.nf"
MODULE = "modules/local/simulate_cohort/main.nf"

# (id, file, regex anchor, replacement, severity, expected message fragment)
SCRIPT_CASES = [
    ("syntax-error", "main.nf", r"^}\s*$", "", "error", "Unexpected input"),
    ("undefined-name", SUBWORKFLOW, r"SIMULATE_COHORT\.out\.cohort", "SIMULATE_COHORTX.out.cohort",
     "error", "`SIMULATE_COHORTX` is not defined"),
    ("bad-include-path", SUBWORKFLOW, r"modules/local/simulate_cohort/main", "modules/local/no_such_module/main",
     "error", "Invalid include source"),
    ("bad-include-name", SUBWORKFLOW, r"include \{ SIMULATE_COHORT \}", "include { SIMULATE_COHORT; NOT_A_PROCESS }",
     "error", "Included name 'NOT_A_PROCESS' is not defined"),
    ("call-arity", SUBWORKFLOW, r"SIMULATE_COHORT\(ch_cohort, seed, preset\)", "SIMULATE_COHORT(ch_cohort, seed)",
     "error", "Incorrect number of call arguments"),
    ("old-Channel-factory", "main.nf", r"channel\.of\(", "Channel.of(",
     "warning", "The use of `Channel` to access channel factories is deprecated"),
    ("implicit-it", "main.nf", r"channel\.of\(\[id: params\.cohort_id\]\)",
     "channel.of(params.cohort_id).map { [id: it] }", "warning", "Implicit closure parameter is deprecated"),
    ("shell-block", MODULE, r"^    script:$", "    shell:", "warning", "The `shell` block is deprecated"),
    ("when-block", MODULE, r"^    script:$", "    when:\n    true\n\n    script:", "warning",
     "`when` section will not be supported"),
]

CONFIG_CASES = [
    ("config-syntax", "conf/base.config", r"^}\s*$", "", "error", "Unexpected input"),
    ("config-unknown-option", "conf/base.config", r"maxRetries", "maxRetriez", "warning",
     "Unrecognized config option 'process.maxRetriez'"),
    ("config-bad-include", "nextflow.config", r"conf/modules\.config", "conf/no_such.config", "error",
     "Invalid include source"),
    ("config-if-statement", "conf/test.config", r"^process \{", "if (params.use_gpu) { params.seed = 1 }\nprocess {",
     "error", "If statements cannot be mixed with config statements"),
    ("config-undefined-name", "conf/modules.config", r"mode: params\.publish_dir_mode",
     "mode: publish_dir_mode", "error", "`publish_dir_mode` is not defined"),
]


def _lint_copy(nf_lang, root: Path, kind: str):
    if kind == "nf":
        return nf_lang.lint_scripts(sorted(root.rglob("*.nf")))
    return nf_lang.lint_configs([root / "nextflow.config", *sorted((root / "conf").glob("*.config"))])


@pytest.mark.parametrize("kind", ["nf", "config"])
def test_unbroken_copy_lints_clean(nf_lang, pipeline_copy, kind):
    """Control for the planted-error cases: the copy itself is clean, so each report below is the plant's."""
    assert _lint_copy(nf_lang, pipeline_copy, kind) == []


@pytest.mark.parametrize(
    ("kind", "rel", "pattern", "replacement", "severity", "expected"),
    [pytest.param("nf", *case[1:], id=case[0]) for case in SCRIPT_CASES]
    + [pytest.param("config", *case[1:], id=case[0]) for case in CONFIG_CASES],
)
def test_planted_error_is_reported(nf_lang, pipeline_copy, kind, rel, pattern, replacement, severity, expected):
    _plant(pipeline_copy / rel, pattern, replacement)
    diagnostics = _lint_copy(nf_lang, pipeline_copy, kind)
    hits = [d for d in diagnostics if d.severity == severity and expected in d.message
            and Path(d.path).as_posix().endswith(rel)]
    assert hits, f"expected a {severity} containing {expected!r} in {rel}; nf-lang reported:\n{_report(diagnostics)}"
    assert all(d.line > 0 for d in hits), f"diagnostics without a line number: {hits}"
