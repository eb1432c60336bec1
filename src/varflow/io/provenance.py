"""Provenance stamped into every artifact: varflow version, command, parameters, seed."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import varflow


def utc_now() -> str:
    """The current UTC time as ISO 8601 to the second (``2026-01-31T12:00:00+00:00``)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def jsonable(value: Any) -> Any:
    """``value`` with paths, tuples and numpy scalars turned into their JSON equivalents."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return value.item()
    return value


@dataclass
class Provenance:
    """Who made an artifact and how; serialised as JSON into Parquet/NPZ metadata."""

    command: str
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    version: str = varflow.__version__
    created: str = field(default_factory=utc_now)

    @classmethod
    def from_cli(cls, command: str, params: dict[str, Any], seed: int | None = None) -> "Provenance":
        return cls(command=command, params=jsonable(params), seed=seed)

    @classmethod
    def unknown(cls) -> "Provenance":
        return cls(command=" ".join(sys.argv) or "python")

    def to_json(self) -> str:
        return json.dumps(jsonable(asdict(self)), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Provenance":
        return cls(**json.loads(text))
