"""Parse ``chrN:pos:ref:alt`` identifiers and clean a fine-mapping table (shared by featurize and labels)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from varflow.errors import VarflowError

log = logging.getLogger("varflow")

_VARIANT_RE = r"^([^:\s]+):([0-9]+):([ACGTNacgtn]+):([ACGTNacgtn]+)$"


def parse_variant_ids(ids: pd.Series, where: str) -> pd.DataFrame:
    """Split variant ids into chrom (str), pos (int64, 1-based), ref, alt (upper-case str).

    Raises VarflowError naming the first malformed id and its row.
    """
    parts = ids.astype(str).str.extract(_VARIANT_RE)
    bad = parts[0].isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise VarflowError(f"{where}: row {i}: malformed variant_id {ids.iloc[i]!r} (expected chrN:pos:ref:alt)")
    pos = parts[1].astype("int64")
    if (pos < 1).any():
        i = int(np.flatnonzero((pos < 1).to_numpy())[0])
        raise VarflowError(f"{where}: row {i}: variant_id {ids.iloc[i]!r} has a position < 1")
    return pd.DataFrame({"chrom": parts[0].to_numpy(), "pos": pos.to_numpy(),
                         "ref": parts[2].str.upper().to_numpy(), "alt": parts[3].str.upper().to_numpy()},
                        index=ids.index)


def variant_type(ref: pd.Series, alt: pd.Series) -> np.ndarray:
    """'snv' (1 bp -> 1 bp), 'insertion' (alt longer), 'deletion' (ref longer) or 'mnv' (equal, > 1 bp)."""
    lr, la = ref.str.len().to_numpy(), alt.str.len().to_numpy()
    out = np.where(la > lr, "insertion", np.where(lr > la, "deletion", np.where(lr == 1, "snv", "mnv")))
    return out.astype(object)


def clean_finemap(df: pd.DataFrame, where: str) -> pd.DataFrame:
    """Check PIPs, drop duplicate variant-gene rows (keep the highest PIP, with a warning).

    Returns a copy with the index reset and chrom/pos/ref/alt columns added.
    """
    pip = df["pip"].to_numpy(dtype=float)
    bad = ~((pip >= 0) & (pip <= 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise VarflowError(f"{where}: row {i}: column 'pip' = {float(pip[i])} is outside [0, 1]")
    if (df["cs"] < 0).any():
        i = int(np.flatnonzero((df["cs"] < 0).to_numpy())[0])
        raise VarflowError(f"{where}: row {i}: column 'cs' must be >= 0 (0 = no credible set)")
    parsed = parse_variant_ids(df["variant_id"], where)
    out = pd.concat([df.drop(columns=[c for c in parsed.columns if c in df.columns]), parsed], axis=1)
    dup = out.duplicated(["variant_id", "gene_id"], keep=False)
    if dup.any():
        n = int(out.duplicated(["variant_id", "gene_id"]).sum())
        log.warning("%s: %d duplicate variant-gene row(s); keeping the highest PIP of each", where, n)
        out = (out.sort_values("pip", ascending=False, kind="stable")
               .drop_duplicates(["variant_id", "gene_id"], keep="first").sort_index())
    return out.reset_index(drop=True)
