"""Assemble the report of a results folder into one HTML file."""

from __future__ import annotations

from pathlib import Path

from varflow.errors import VarflowError
from varflow.io.atomic import atomic_path
from varflow.report.html import page
from varflow.report.sections import SECTIONS


def build_report(results: Path, out: Path, title: str = "varflow report") -> Path:
    """Write ``out`` (HTML) summarising ``results``; returns ``out``."""
    results = Path(results)
    if not results.is_dir():
        raise VarflowError(f"{results}: results folder not found")
    document = page(title, [(anchor, heading, render(results)) for anchor, heading, render in SECTIONS])
    with atomic_path(Path(out), suffix=".html") as tmp:
        tmp.write_text(document, encoding="utf-8")
    return Path(out)
