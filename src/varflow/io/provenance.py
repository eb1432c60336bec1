"""Provenance stamped into every artifact: varflow version, command, parameters, seed."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import varflow


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
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
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    @classmethod
    def from_cli(cls, command: str, params: dict[str, Any], seed: int | None = None) -> "Provenance":
        return cls(command=command, params=_jsonable(params), seed=seed)

    @classmethod
    def unknown(cls) -> "Provenance":
        return cls(command=" ".join(sys.argv) or "python")

    def to_json(self) -> str:
        return json.dumps(_jsonable(asdict(self)), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Provenance":
        return cls(**json.loads(text))
