"""Assemble the report of a results folder into one HTML file."""

from __future__ import annotations

from pathlib import Path

from varflow.errors import VarflowError
from varflow.io.atomic import atomic_path
from varflow.report.html import page
from varflow.report.sections import SECTIONS


def assemble_results(results: Path, layout: list[str], staged: list[Path]) -> Path:
    """Make ``results`` a results folder of symbolic links: ``staged[i]`` at ``results/layout[i]``, a path of
    the results layout (``varflow.layout``). The Nextflow report process stages the published outputs it
    reads this way, so the report reads one layout under either engine. ``results`` must not exist yet."""
    results = Path(results)
    if len(layout) != len(staged):
        raise VarflowError(f"report: {len(layout)} layout paths for {len(staged)} staged files")
    if results.exists():
        raise VarflowError(f"{results}: already exists; the report assembles a new results folder")
    for rel, source in zip(layout, staged):
        target = results / rel
        if Path(rel).is_absolute() or ".." in Path(rel).parts or not rel:
            raise VarflowError(f"report: layout path {rel!r} is not a relative path inside the results folder")
        if not Path(source).exists():
            raise VarflowError(f"report: staged {source} (for {rel}) does not exist")
        if target.exists() or target.is_symlink():
            raise VarflowError(f"report: layout path {rel} given twice")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(Path(source).resolve())
    return results


def build_report(results: Path, out: Path, title: str = "varflow report") -> Path:
    """Write ``out`` (HTML) summarising ``results``; returns ``out``."""
    results = Path(results)
    if not results.is_dir():
        raise VarflowError(f"{results}: results folder not found")
    document = page(title, [(anchor, heading, render(results)) for anchor, heading, render in SECTIONS])
    with atomic_path(Path(out), suffix=".html") as tmp:
        tmp.write_text(document, encoding="utf-8")
    return Path(out)
