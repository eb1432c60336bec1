"""The ``cohort.yaml`` manifest: names every file of a simulated (or user-assembled) cohort folder.

Paths in the manifest are relative to the folder, so a cohort can be moved or staged by Nextflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from varflow.errors import VarflowError

MANIFEST_NAME = "cohort.yaml"


@dataclass
class Cohort:
    """A cohort folder and its manifest.

    ``files`` maps a key (e.g. ``vcf``, ``reference``, ``genes``) to a path relative to ``root``
    or, for keyed groups (``sumstats``, ``ld``, ``regulatory_bed``), to a dict of such paths.
    ``info`` holds free-form facts about the cohort (sizes, seed, traits, chromosomes).
    """

    root: Path
    files: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path | str) -> "Cohort":
        root = Path(root)
        manifest = root / MANIFEST_NAME
        if not manifest.exists():
            raise VarflowError(f"{root}: not a cohort folder (no {MANIFEST_NAME})")
        with open(manifest) as handle:
            doc = yaml.safe_load(handle) or {}
        return cls(root=root, files=dict(doc.get("files", {})), info=dict(doc.get("info", {})))

    def path(self, key: str, sub: str | None = None) -> Path:
        """Absolute path of file ``key`` (and ``sub`` within a keyed group); VarflowError if absent."""
        if key not in self.files:
            raise VarflowError(f"{self.root / MANIFEST_NAME}: no file '{key}' in the manifest")
        entry = self.files[key]
        if isinstance(entry, dict):
            if sub is None:
                raise VarflowError(f"{self.root / MANIFEST_NAME}: '{key}' is a group; name one of {sorted(entry)}")
            if sub not in entry:
                raise VarflowError(f"{self.root / MANIFEST_NAME}: '{key}' has no entry '{sub}' (has {sorted(entry)})")
            entry = entry[sub]
        return self.root / entry

    def group(self, key: str) -> dict[str, Path]:
        """All paths of keyed group ``key`` as {name: absolute path}."""
        entry = self.files.get(key)
        if not isinstance(entry, dict):
            raise VarflowError(f"{self.root / MANIFEST_NAME}: no file group '{key}' in the manifest")
        return {name: self.root / rel for name, rel in entry.items()}

    def save(self) -> Path:
        manifest = self.root / MANIFEST_NAME
        with open(manifest, "w") as handle:
            yaml.safe_dump({"files": self.files, "info": self.info}, handle, sort_keys=False)
        return manifest
