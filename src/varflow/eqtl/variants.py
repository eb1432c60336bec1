"""Variant types and the cleaning of a fine-mapping table (shared by featurize and labels)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from varflow.errors import VarflowError
from varflow.io.variant_ids import format_variant_ids, parse_variant_ids

log = logging.getLogger("varflow")


def variant_type(ref: pd.Series, alt: pd.Series) -> np.ndarray:
    """'snv' (1 bp -> 1 bp), 'insertion' (alt longer), 'deletion' (ref longer) or 'mnv' (equal, > 1 bp)."""
    lr, la = ref.str.len().to_numpy(), alt.str.len().to_numpy()
    out = np.where(la > lr, "insertion", np.where(lr > la, "deletion", np.where(lr == 1, "snv", "mnv")))
    return out.astype(object)


def clean_finemap(df: pd.DataFrame, where: str) -> pd.DataFrame:
    """Check PIPs, normalise variant ids, drop duplicate variant-gene rows (keep the highest PIP, with a
    warning).

    Returns a copy with the index reset, variant_id as ``chrN:pos:REF:ALT`` (whatever spelling
    ``varflow.io.variant_ids`` read, e.g. GTEx ``1_123_A_G_b38``) and chrom/pos/ref/alt columns added.
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
    out["variant_id"] = format_variant_ids(parsed)
    dup = out.duplicated(["variant_id", "gene_id"], keep=False)
    if dup.any():
        n = int(out.duplicated(["variant_id", "gene_id"]).sum())
        log.warning("%s: %d duplicate variant-gene row(s); keeping the highest PIP of each", where, n)
        out = (out.sort_values("pip", ascending=False, kind="stable")
               .drop_duplicates(["variant_id", "gene_id"], keep="first").sort_index())
    return out.reset_index(drop=True)
