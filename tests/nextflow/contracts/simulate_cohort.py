"""Contract of modules/local/simulate_cohort: simulate a tiny cohort from nothing but a seed."""

from __future__ import annotations

from pathlib import Path

from varflow.io.cohort import Cohort


def stage(workdir: Path) -> dict:
    """No input files: the process takes the cohort's meta map, a seed and a size preset."""
    return {
        "inputs": {"meta": {"id": "tiny_cohort"}, "seed": 7, "preset": "tiny"},
        "ext": {"args": ""},
    }


def check(workdir: Path, outputs: dict) -> None:
    """The emitted folder is a loadable cohort whose manifest names files that all exist."""
    (folder,) = outputs["cohort"]
    assert folder.name == "tiny_cohort"
    cohort = Cohort.load(folder)
    assert cohort.info.get("seed") == 7, cohort.info
    for key, entry in cohort.files.items():
        for rel in entry.values() if isinstance(entry, dict) else [entry]:
            assert (folder / rel).is_file(), f"manifest entry {key} -> {rel} does not exist"
