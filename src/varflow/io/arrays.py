"""NPZ arrays with validation and provenance (stored as the 0-d string array ``__provenance__``)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

from varflow.errors import VarflowError
from varflow.io.atomic import atomic_path
from varflow.io.provenance import Provenance

PROVENANCE_ENTRY = "__provenance__"


def write_npz(path: Path | str, arrays: Mapping[str, np.ndarray], provenance: Provenance | None = None,
              compress: bool = False) -> Path:
    """Write ``arrays`` atomically to ``path``; floats are expected as float32 unless there is a reason."""
    path = Path(path)
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    payload[PROVENANCE_ENTRY] = np.array((provenance or Provenance.unknown()).to_json())
    save = np.savez_compressed if compress else np.savez
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as handle:
            save(handle, **payload)
    return path


def read_npz(path: Path | str, required: Mapping[str, tuple[str, int | None]] | None = None
             ) -> dict[str, np.ndarray]:
    """Load every array of an NPZ file into memory.

    ``required`` maps array name -> (numpy dtype kind(s), ndim or None), e.g. ``{"r": ("f", 2)}``;
    a missing array or a wrong kind/ndim raises VarflowError naming the file and the array.
    """
    path = Path(path)
    if not path.exists():
        raise VarflowError(f"{path}: file not found")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files if k != PROVENANCE_ENTRY}
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise VarflowError(f"{path}: not a readable NPZ file ({exc})") from None
    for name, (kinds, ndim) in (required or {}).items():
        if name not in arrays:
            raise VarflowError(f"{path}: array '{name}' missing (found {', '.join(sorted(arrays)) or 'none'})")
        arr = arrays[name]
        if arr.dtype.kind not in kinds:
            raise VarflowError(f"{path}: array '{name}' expected dtype kind {kinds!r}, found {arr.dtype}")
        if ndim is not None and arr.ndim != ndim:
            raise VarflowError(f"{path}: array '{name}' expected {ndim} dimensions, found {arr.ndim}")
    return arrays


def read_npz_provenance(path: Path | str) -> Provenance:
    with np.load(path, allow_pickle=False) as npz:
        if PROVENANCE_ENTRY not in npz.files:
            raise VarflowError(f"{path}: no varflow provenance entry")
        return Provenance.from_json(str(npz[PROVENANCE_ENTRY]))
