"""BED reader with coordinate validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from varflow.errors import VarflowError


def read_bed(path: Path | str) -> pd.DataFrame:
    """Read a BED file's chrom, start, end, name (4th column; chrom:start-end without one), score.

    Coordinates are 0-based half-open; a row with start < 0, end <= start or non-integer bounds
    raises VarflowError naming the file and the (1-based) line. ``score`` is the 5th column when
    numeric, else 1.0.
    """
    path = Path(path)
    if not path.exists():
        raise VarflowError(f"{path}: BED file not found")
    try:
        raw = pd.read_csv(path, sep="\t", header=None, comment="#", dtype=str, engine="c")
    except pd.errors.EmptyDataError:
        return pd.DataFrame({"chrom": pd.Series(dtype=str), "start": pd.Series(dtype="int64"),
                             "end": pd.Series(dtype="int64"), "name": pd.Series(dtype=str),
                             "score": pd.Series(dtype=float)})
    if raw.shape[1] < 3:
        raise VarflowError(f"{path}: BED needs at least 3 tab-separated columns, found {raw.shape[1]}")
    start = pd.to_numeric(raw[1], errors="coerce")
    end = pd.to_numeric(raw[2], errors="coerce")
    bad = start.isna() | end.isna() | (start < 0) | (end <= start) | (start % 1 != 0) | (end % 1 != 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise VarflowError(f"{path}: line {i + 1}: bad coordinates start={raw.iat[i, 1]!r} end={raw.iat[i, 2]!r} "
                           "(need integers with 0 <= start < end)")
    score = pd.to_numeric(raw[4], errors="coerce").fillna(1.0) if raw.shape[1] >= 5 else 1.0
    name = raw[3].astype(str) if raw.shape[1] >= 4 else raw[0] + ":" + raw[1] + "-" + raw[2]
    return pd.DataFrame({"chrom": raw[0].astype(str), "start": start.astype("int64"),
                         "end": end.astype("int64"), "name": name, "score": score}).reset_index(drop=True)


def write_bed(df: pd.DataFrame, path: Path | str) -> None:
    """Write chrom/start/end[/name/score] columns as a headerless BED (sorted by chrom, start)."""
    df.sort_values(["chrom", "start"]).to_csv(path, sep="\t", header=False, index=False)
