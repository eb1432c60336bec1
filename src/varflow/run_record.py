"""The run record of a workflow folder (``run.json``) and the outdir rule it enforces.

Every in-process run (``varflow run <workflow>``, ``varflow run all``, ``varflow demo``) writes
``<workflow folder>/run.json``: the command line, the params, the inputs with their sha256 checksums, the
varflow version, start and end times (UTC ISO 8601) and a status (``running`` -> ``finished`` | ``failed``).

Before any compute, a run into a folder that holds another run's results is refused with one line naming
the folder and the previous run: a run.json of another workflow or with other params or inputs, or
files without a run.json. ``--overwrite`` clears that folder (only it) first. A rerun with the same params
and inputs goes ahead in place: resuming an interrupted s2e training needs the checkpoints in its folder,
and an identical run writes the same files, so nothing stale is left beside them.

When a run simulates its own cohort (``run all`` / ``demo`` without ``--cohort``), the cohort is a product
of the run's params (preset, seed): its checksums are recorded but not compared, since every simulated
file carries its creation time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

import varflow
from varflow.errors import VarflowError
from varflow.io.atomic import atomic_path, ensure_writable_dir
from varflow.io.cohort import MANIFEST_NAME
from varflow.io.provenance import jsonable, utc_now

RUN_RECORD_NAME = "run.json"

#: Inputs larger than this are listed with their size but not checksummed (hashing would dominate a run).
MAX_CHECKSUM_BYTES = 1 << 30

#: Read size when hashing a file.
CHUNK_BYTES = 1 << 20

#: Params recorded but not compared between runs: the device changes the speed, not what is computed.
UNCOMPARED_PARAMS = ("device",)


def file_sha256(path: Path) -> str:
    """The sha256 hex digest of ``path``, read in ``CHUNK_BYTES`` chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def describe_input(path: Path) -> dict[str, Any]:
    """``{path, bytes, sha256}`` of one input file; a folder or a file above ``MAX_CHECKSUM_BYTES`` gets a
    ``note`` instead of a checksum."""
    path = Path(path)
    entry: dict[str, Any] = {"path": str(path.resolve())}
    if not path.is_file():
        return {**entry, "sha256": None, "note": "not a file (a folder or a file prefix): not checksummed"}
    size = path.stat().st_size
    if size > MAX_CHECKSUM_BYTES:
        return {**entry, "bytes": size, "sha256": None,
                "note": f"larger than {MAX_CHECKSUM_BYTES} bytes: not checksummed"}
    return {**entry, "bytes": size, "sha256": file_sha256(path)}


def describe_inputs(files: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """``describe_input`` of each labelled input file."""
    return {label: describe_input(path) for label, path in files.items()}


@dataclass(frozen=True)
class RunRecord:
    """What one workflow run into one folder was asked to do, and how it went (``run.json``)."""

    workflow: str
    command: str
    params: dict[str, Any]
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    cohort_simulated: bool = False  # the cohort was made by this run from its params (not compared)
    version: str = varflow.__version__
    started: str | None = None
    finished: str | None = None
    status: str | None = None       # running | finished | failed
    error: str | None = None

    def differences(self, other: "RunRecord") -> list[str]:
        """What makes ``other`` another run than this one: 'workflow', 'params (a, b)', 'inputs (x)';
        empty when both are the same run."""
        if self.workflow != other.workflow:
            return [f"workflow ({other.workflow}, now {self.workflow})"]
        found = []
        params = _changed(self.compared_params(), other.compared_params())
        if params:
            found.append(f"params ({', '.join(params)})")
        if not (self.cohort_simulated and other.cohort_simulated):
            inputs = _changed(*({k: v.get("sha256") or v.get("path") for k, v in r.inputs.items()}
                                for r in (self, other)))
            if inputs:
                found.append(f"inputs ({', '.join(inputs)})")
        return found

    def compared_params(self) -> dict[str, Any]:
        """The params that tell two runs apart (all but ``UNCOMPARED_PARAMS``), with ``cohort_simulated``."""
        kept = {k: v for k, v in jsonable(self.params).items() if k not in UNCOMPARED_PARAMS}
        return {**kept, "cohort_simulated": self.cohort_simulated}

    def to_json(self) -> str:
        return json.dumps(jsonable(asdict(self)), indent=2)


def _changed(mine: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """The keys whose values differ between two mappings (missing on one side counts), sorted."""
    return sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))


def read_record(folder: Path) -> RunRecord | None:
    """The run record of ``folder``, or None when it has none; one-line error when it is unreadable."""
    path = Path(folder) / RUN_RECORD_NAME
    if not path.is_file():
        return None
    try:
        return RunRecord(**json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError) as exc:
        raise VarflowError(f"{path}: not a varflow run record ({str(exc).splitlines()[0]}); move it away or "
                           f"rerun with --overwrite") from None


def write_record(folder: Path, record: RunRecord) -> Path:
    """Write ``record`` to ``folder/run.json`` atomically."""
    path = Path(folder) / RUN_RECORD_NAME
    with atomic_path(path, suffix=".json") as tmp:
        tmp.write_text(record.to_json() + "\n")
    return path


def _holds_results(folder: Path) -> bool:
    return folder.is_dir() and any(folder.iterdir())


def check_folder(folder: Path, record: RunRecord, *, overwrite: bool, keep: list[Path]) -> None:
    """Refuse to run ``record`` into ``folder`` when it holds another run's results (unless ``overwrite``,
    which must then be safe: see ``check_clearable``); reads only, changes nothing."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise VarflowError(f"{folder}: exists and is not a folder; expected the {record.workflow} workflow's folder")
    if not _holds_results(folder):
        return
    if overwrite:
        check_clearable(folder, keep)
        return
    previous = read_record(folder)
    advice = "rerun with --overwrite to replace them, or choose another --outdir"
    if previous is None:
        raise VarflowError(f"{folder}: holds results without a run record ({RUN_RECORD_NAME}); {advice}")
    differences = record.differences(previous)
    if differences:
        raise VarflowError(f"{folder}: holds the results of another run (started {previous.started}: "
                           f"{previous.command}; its {' and '.join(differences)} differ); {advice}")


def check_clearable(folder: Path, keep: list[Path]) -> None:
    """Refuse to clear a folder that is the working directory, above it or the home folder, holds any of
    ``keep`` (this run's inputs), is a cohort, or holds other workflows' folders (a run.json or cohort.yaml
    one level down)."""
    resolved = Path(folder).resolve()
    here = Path.cwd().resolve()
    if resolved == here or resolved in here.parents or resolved == Path.home().resolve():
        raise VarflowError(f"{folder}: is the working directory, a folder above it or the home folder; "
                           f"--overwrite clears only a workflow's own folder")
    for path in keep:
        target = Path(path).resolve()
        if target == resolved or resolved in target.parents:
            raise VarflowError(f"{folder}: holds this run's input {path}; --overwrite would delete it")
    nested = [*resolved.glob(f"*/{RUN_RECORD_NAME}"), *resolved.glob(f"*/{MANIFEST_NAME}"),
              *[p for p in (resolved / MANIFEST_NAME,) if p.exists()]]
    if nested:
        raise VarflowError(f"{folder}: holds other folders' results ({nested[0]}); --overwrite clears only a "
                           f"workflow's own folder, e.g. {folder}/<workflow>")


def clear_folder(folder: Path) -> None:
    """Delete everything inside ``folder`` (links are removed, never followed); the folder stays."""
    for child in Path(folder).iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


@contextlib.contextmanager
def recorded(folder: Path, record: RunRecord) -> Iterator[RunRecord]:
    """Write ``record`` as running into ``folder/run.json``, then as finished or failed (with the error's
    first line) when the block ends; the exception, if any, propagates."""
    ensure_writable_dir(folder)
    running = replace(record, started=utc_now(), status="running")
    write_record(folder, running)
    try:
        yield running
    except BaseException as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        write_record(folder, replace(running, finished=utc_now(), status="failed", error=message))
        raise
    write_record(folder, replace(running, finished=utc_now(), status="finished"))
