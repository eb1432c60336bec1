"""Fine-mapping tables as tools write them, read into varflow's ``finemap`` schema.

The format is told from the columns (one log line names it and the mapping):

* ``varflow``: variant_id, gene_id, pip, cs (integer, ``NO_CREDIBLE_SET`` = in none)[, maf, betahat, se],
  as ``varflow simulate`` writes it; read as is.
* ``susie``: a table derived from susieR: variant_id, pip, cs with credible-set labels ``L1``, ``L2``, ...
  (``NA``, empty, ``-1`` or ``0``: in none) and the gene as gene_id, molecular_trait_id or phenotype_id.
  ``L<k>`` becomes k. Told from the varflow format by a gene column other than gene_id, or a cs column
  that is not integer or holds -1.
* ``eqtl_catalogue``: the eQTL Catalogue's fine-mapping ``credible_sets`` table (molecular_trait_id,
  gene_id, cs_id, variant, rsid, cs_size, pip, pvalue, beta, se, z, cs_min_r2, region), or its full SuSiE
  table (cs_id empty outside any set). The gene is gene_id, else molecular_trait_id; the credible sets
  (cs_id such as ``ENSG00000123_L1``) are numbered 1, 2, ... per gene in order of appearance.

Variant ids may take any spelling of ``varflow.io.variant_ids`` (e.g. GTEx ``chr1_123_A_G_b38``); they are
normalised to ``chrN:pos:REF:ALT`` when the table is cleaned (``varflow.eqtl.variants.clean_finemap``), the
eQTL Catalogue's ``variant`` column already here so that an error names it. Parquet, CSV and TSV (gzip too).
Missing columns, a bad credible-set label or a bad variant id raise a VarflowError naming file, column, row.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from varflow.errors import VarflowError
from varflow.io.tables import read_frame, validate
from varflow.io.variant_ids import canonical_variant_ids

log = logging.getLogger("varflow")

#: the ``cs`` value of a variant in no credible set (the ``finemap`` schema's convention)
NO_CREDIBLE_SET = 0
#: gene columns of a susieR-derived table, in order of preference
SUSIE_GENE_COLUMNS = ("gene_id", "molecular_trait_id", "phenotype_id")
#: gene columns of an eQTL Catalogue table, in order of preference (molecular_trait_id is the gene for 'ge')
CATALOGUE_GENE_COLUMNS = ("gene_id", "molecular_trait_id")
#: optional finemap-schema columns carried over from any format
OPTIONAL_COLUMNS = ("maf", "betahat", "se")
_MISSING_TEXT = ("", "NA")
_NO_SET_LABELS = (*_MISSING_TEXT, "-1", "0")
_CS_LABEL = re.compile(r"^L?([1-9][0-9]*)$")


def detect_format(df: pd.DataFrame) -> str:
    """'eqtl_catalogue', 'susie' or 'varflow' from the columns of a fine-mapping table (see the module)."""
    cols = set(df.columns)
    if {"variant", "cs_id"} & cols:
        return "eqtl_catalogue"
    if "gene_id" not in cols and set(SUSIE_GENE_COLUMNS) & cols:
        return "susie"
    if "cs" in cols and (not pd.api.types.is_integer_dtype(df["cs"]) or (df["cs"] == -1).any()):
        return "susie"
    return "varflow"


def _require(df: pd.DataFrame, path: Path, fmt: str, columns: tuple[str, ...], genes: tuple[str, ...]) -> str:
    """Check the columns of format ``fmt``; return the gene column (the first of ``genes`` present)."""
    expects = f"{', '.join(columns)} and one of {', '.join(genes)}"
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise VarflowError(f"{path}: missing column(s) {', '.join(map(repr, missing))} "
                           f"(the {fmt} fine-mapping format has {expects})")
    present = [g for g in genes if g in df.columns]
    if not present:
        raise VarflowError(f"{path}: no gene column (the {fmt} fine-mapping format has {expects})")
    return present[0]


def _as_text(values: pd.Series) -> pd.Series:
    """Values as stripped text: missing -> '', integral floats without their '.0' (2.0 -> '2')."""
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    return text.str.replace(r"\.0$", "", regex=True) if pd.api.types.is_float_dtype(values) else text


def susie_credible_sets(cs: pd.Series, where: str) -> np.ndarray:
    """(N,) int64 credible-set numbers from susieR labels: 'L<k>' (or k) -> k; NA, '', -1, 0 -> NO_CREDIBLE_SET."""
    text = _as_text(cs)
    k = text.str.extract(_CS_LABEL)[0]
    no_set = text.isin(_NO_SET_LABELS)
    bad = (k.isna() & ~no_set).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise VarflowError(f"{where}: row {i}: column 'cs' = {cs.iloc[i]!r} is not a credible-set label "
                           "(expected L1, L2, ..., or NA, empty or -1 for none)")
    return pd.to_numeric(k).fillna(NO_CREDIBLE_SET).astype("int64").to_numpy()


def numbered_credible_sets(gene: pd.Series, cs_id: pd.Series) -> np.ndarray:
    """(N,) int64: each distinct cs_id of a gene numbered 1, 2, ... in order of appearance;
    NO_CREDIBLE_SET where cs_id is missing, empty or 'NA'."""
    text = _as_text(cs_id)
    in_set = ~text.isin(_MISSING_TEXT).to_numpy()
    members = pd.DataFrame({"gene": gene.to_numpy()[in_set], "cs_id": text.to_numpy()[in_set]})
    sets = members.drop_duplicates().copy()
    sets["k"] = sets.groupby("gene", sort=False).cumcount() + 1
    out = np.full(len(cs_id), NO_CREDIBLE_SET, dtype=np.int64)
    out[in_set] = members.merge(sets, on=["gene", "cs_id"], how="left")["k"].to_numpy()
    return out


def _mapped(df: pd.DataFrame, variant_id: pd.Series, gene: str, cs: np.ndarray) -> pd.DataFrame:
    """The finemap-schema frame: variant_id, gene_id, pip, cs and any optional column ``df`` has."""
    out = pd.DataFrame({"variant_id": variant_id.to_numpy(), "gene_id": df[gene].to_numpy(),
                        "pip": df["pip"].to_numpy(), "cs": cs})
    for col in OPTIONAL_COLUMNS:
        if col in df.columns:
            out[col] = df[col].to_numpy()
    return out


def map_finemap(df: pd.DataFrame, where: Path | str) -> tuple[pd.DataFrame, str, str]:
    """A fine-mapping table of any format (see the module) in the ``finemap`` schema, its format and a
    description of the mapping."""
    path = Path(where)
    fmt = detect_format(df)
    if fmt == "varflow":
        out, mapping = df, "read as is"
    elif fmt == "susie":
        gene = _require(df, path, "susieR", ("variant_id", "pip", "cs"), SUSIE_GENE_COLUMNS)
        out = _mapped(df, df["variant_id"], gene, susie_credible_sets(df["cs"], str(path)))
        mapping = f"gene_id <- {gene}, cs L<k> -> k, no set -> {NO_CREDIBLE_SET}"
    else:
        gene = _require(df, path, "eQTL Catalogue", ("variant", "pip", "cs_id"), CATALOGUE_GENE_COLUMNS)
        ids = canonical_variant_ids(df["variant"], str(path), column="variant")
        out = _mapped(df, ids, gene, numbered_credible_sets(df[gene], df["cs_id"]))
        mapping = (f"variant_id <- variant, gene_id <- {gene}, cs <- cs_id numbered per gene, "
                   f"no set -> {NO_CREDIBLE_SET}")
    return validate(out, "finemap", path), fmt, mapping


def read_finemap(path: Path | str) -> pd.DataFrame:
    """Read a fine-mapping table of any supported format into the ``finemap`` schema, logging the format."""
    table, fmt, mapping = map_finemap(read_frame(path), path)
    in_sets = int((table["cs"] != NO_CREDIBLE_SET).sum())
    log.info("%s: fine-mapping format %s (%s): %d rows, %d in credible sets", path, fmt, mapping, len(table), in_sets)
    return table
