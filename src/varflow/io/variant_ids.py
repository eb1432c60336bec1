"""Variant identifiers as tools write them, normalised to varflow's ``chrN:pos:REF:ALT`` (pos 1-based).

Accepted spellings: ``chr1:12345:A:G`` (varflow's), ``chr1_12345_A_G`` and ``chr1_12345_A_G_b38``
(GTEx, eQTL Catalogue; ``_b37`` too), each with or without the ``chr`` prefix; alleles in any case.
Chromosome names take the ``chr`` form (``1`` -> ``chr1``, ``MT`` / ``M`` -> ``chrM``, see ``chr_style``).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from varflow.errors import VarflowError
from varflow.io.contigs import chrom_key

_COLON_ID = r"([^:\s]+):([0-9]+):([ACGTN]+):([ACGTN]+)"
_UNDERSCORE_ID = r"([^_:\s]+)_([0-9]+)_([ACGTN]+)_([ACGTN]+)(?:_b3[78])?"
_VARIANT_RE = re.compile(rf"^(?:{_COLON_ID}|{_UNDERSCORE_ID})$", re.IGNORECASE)
_PRIMARY = re.compile(r"^(?:[0-9]{1,2}|X|Y)$", re.IGNORECASE)
EXPECTED_FORMS = "chrN:pos:ref:alt, chrN_pos_ref_alt or chrN_pos_ref_alt_b38"


def chr_style(name: str) -> str:
    """A chromosome name in the ``chr`` form: '1' / 'chr1' -> 'chr1', 'x' -> 'chrX', 'MT' / 'M' -> 'chrM'.

    Names other than 1-99, X, Y and the mitochondrion (scaffolds, 'chrUn_...') are returned as given.
    """
    key = chrom_key(name)
    if key == "MT":
        return "chrM"
    return f"chr{key.upper()}" if _PRIMARY.match(key) else name


def chr_style_names(names: pd.Series) -> pd.Series:
    """``chr_style`` of every name (computed once per distinct name); the index is kept."""
    text = names.astype(str)
    return text.map({name: chr_style(name) for name in pd.unique(text.to_numpy())})


def parse_variant_ids(ids: pd.Series, where: str, column: str = "variant_id") -> pd.DataFrame:
    """Split variant ids (any accepted spelling) into chrom (``chr`` form), pos (int64, 1-based), ref, alt
    (upper case); the index is kept.

    Raises VarflowError naming ``where``, the first malformed id's row and ``column``.
    """
    text = ids.astype(str)
    parts = text.str.extract(_VARIANT_RE)
    colon = parts[0].notna()
    fields = [parts[k].where(colon, parts[k + 4]) for k in range(4)]
    bad = fields[0].isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise VarflowError(f"{where}: row {i}: malformed {column} {text.iloc[i]!r} (expected {EXPECTED_FORMS})")
    pos = fields[1].astype("int64")
    if (pos < 1).any():
        i = int(np.flatnonzero((pos < 1).to_numpy())[0])
        raise VarflowError(f"{where}: row {i}: {column} {text.iloc[i]!r} has a position < 1")
    return pd.DataFrame({"chrom": chr_style_names(fields[0]).to_numpy(), "pos": pos.to_numpy(),
                         "ref": fields[2].str.upper().to_numpy(), "alt": fields[3].str.upper().to_numpy()},
                        index=ids.index)


def format_variant_ids(parsed: pd.DataFrame) -> pd.Series:
    """``chrN:pos:REF:ALT`` from the chrom, pos, ref, alt columns of ``parse_variant_ids``."""
    return parsed["chrom"] + ":" + parsed["pos"].astype(str) + ":" + parsed["ref"] + ":" + parsed["alt"]


def canonical_variant_ids(ids: pd.Series, where: str, column: str = "variant_id") -> pd.Series:
    """Variant ids of any accepted spelling rewritten as ``chrN:pos:REF:ALT`` (errors as ``parse_variant_ids``)."""
    return format_variant_ids(parse_variant_ids(ids, where, column))
