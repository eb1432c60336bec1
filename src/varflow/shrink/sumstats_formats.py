"""GWAS summary-statistics formats as the tools write them, mapped to shrink's columns.

Each format is recognised by the columns its tool writes (case-insensitive) and maps them to CHR, SNP,
POS, A1 (the effect / tested allele: BETA is per copy of it), A2 (the other allele), BETA, SE, N:

| format | effect allele | other allele | notes |
|---|---|---|---|
| plink2_glm (``.glm.linear``, ``.glm.logistic(.hybrid)``) | A1 | ALT when A1 = REF, else REF | OR + LOG(OR)_SE; only TEST = ADD rows; rows PLINK could not fit (BETA/SE NA) dropped and counted |
| regenie | ALLELE1 | ALLELE0 | POS = GENPOS; only TEST = ADD rows |
| saige | Allele2 | Allele1 | SAIGE's BETA is per copy of Allele2 |
| bolt_lmm | ALLELE1 | ALLELE0 | POS = BP |
| gwas_ssf (GWAS Catalog) | effect_allele | other_allele | SNP = rsid, else variant_id, else chrom:pos:other:effect; odds_ratio -> log |
| fastgwa | A1 | A2 | |
| generic | A1/ALT | A2/REF | column aliases (``GENERIC_ALIASES``) |

An odds ratio (OR, odds_ratio) is turned into log odds by the reader. The format found and its column
mapping are logged in one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# Upper-cased alias -> canonical column for files of no known tool. The first alias present wins.
GENERIC_ALIASES: dict[str, tuple[str, ...]] = {
    "CHR": ("CHR", "CHROM", "#CHROM", "CHROMOSOME"),
    "SNP": ("SNP", "ID", "RSID"),
    "POS": ("POS", "BP"),
    "A1": ("A1", "ALT"),
    "A2": ("A2", "REF"),
    "BETA": ("BETA", "EFFECT", "B", "LOG_ODDS", "OR"),
    "SE": ("SE", "STDERR", "STD_ERR", "STANDARD_ERROR"),
    "N": ("N",),
}
ODDS_RATIO_COLUMNS = ("OR", "ODDS_RATIO")


@dataclass(frozen=True)
class SumstatsFormat:
    """``signature``: upper-case columns that all appear in the tool's output; ``columns``: canonical
    column -> candidate source columns (upper case, first present wins)."""

    name: str
    signature: tuple[str, ...]
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    test_column: str | None = None  # rows whose test is not ADD are other models (dominant, ...)


FORMATS = (
    SumstatsFormat("plink2_glm", ("#CHROM", "POS", "ID", "REF", "ALT", "A1"),
                   {"CHR": ("#CHROM",), "POS": ("POS",), "SNP": ("ID",), "A1": ("A1",),
                    "BETA": ("BETA", "OR"), "SE": ("SE", "LOG(OR)_SE"), "N": ("OBS_CT",)}, "TEST"),
    SumstatsFormat("regenie", ("CHROM", "GENPOS", "ID", "ALLELE0", "ALLELE1"),
                   {"CHR": ("CHROM",), "POS": ("GENPOS",), "SNP": ("ID",), "A1": ("ALLELE1",), "A2": ("ALLELE0",),
                    "BETA": ("BETA",), "SE": ("SE",), "N": ("N",)}, "TEST"),
    SumstatsFormat("saige", ("CHR", "POS", "MARKERID", "ALLELE1", "ALLELE2"),
                   {"CHR": ("CHR",), "POS": ("POS",), "SNP": ("MARKERID",), "A1": ("ALLELE2",), "A2": ("ALLELE1",),
                    "BETA": ("BETA",), "SE": ("SE",), "N": ("N",)}),
    SumstatsFormat("bolt_lmm", ("SNP", "CHR", "BP", "ALLELE1", "ALLELE0"),
                   {"CHR": ("CHR",), "POS": ("BP",), "SNP": ("SNP",), "A1": ("ALLELE1",), "A2": ("ALLELE0",),
                    "BETA": ("BETA",), "SE": ("SE",)}),
    SumstatsFormat("gwas_ssf", ("CHROMOSOME", "BASE_PAIR_LOCATION", "EFFECT_ALLELE", "OTHER_ALLELE"),
                   {"CHR": ("CHROMOSOME",), "POS": ("BASE_PAIR_LOCATION",), "SNP": ("RSID", "VARIANT_ID"),
                    "A1": ("EFFECT_ALLELE",), "A2": ("OTHER_ALLELE",), "BETA": ("BETA", "ODDS_RATIO"),
                    "SE": ("STANDARD_ERROR",), "N": ("N",)}),
    SumstatsFormat("fastgwa", ("CHR", "SNP", "POS", "A1", "A2", "AF1", "BETA", "SE"),
                   {"CHR": ("CHR",), "SNP": ("SNP",), "POS": ("POS",), "A1": ("A1",), "A2": ("A2",),
                    "BETA": ("BETA",), "SE": ("SE",), "N": ("N",)}),
)
GENERIC = SumstatsFormat("generic", (), GENERIC_ALIASES)


def detect_format(columns) -> SumstatsFormat:
    """The first of ``FORMATS`` whose signature columns are all present (case-insensitive), else generic."""
    upper = {str(c).upper() for c in columns}
    return next((f for f in FORMATS if set(f.signature) <= upper), GENERIC)


@dataclass
class Mapped:
    """A summary-statistics file in shrink's columns (not yet validated): ``frame`` with canonical
    columns, ``found`` canonical -> the file's column, ``odds_ratio`` whether BETA holds odds ratios,
    ``dropped`` reason -> rows removed, ``raw`` the file's rows that ``frame`` keeps (same order)."""

    frame: pd.DataFrame
    found: dict[str, str]
    odds_ratio: bool
    dropped: dict[str, int]
    raw: pd.DataFrame


def map_columns(raw: pd.DataFrame, fmt: SumstatsFormat) -> Mapped:
    """Rename ``raw``'s columns to shrink's for format ``fmt``, apply the format's row rules (test
    filter, plink2's other allele and unfitted rows, GWAS-SSF IDs); see the module table."""
    upper = {str(c).upper(): c for c in raw.columns}
    dropped: dict[str, int] = {}
    keep = np.ones(len(raw), dtype=bool)
    if fmt.test_column and fmt.test_column in upper:
        other_test = raw[upper[fmt.test_column]].astype(str).str.upper().to_numpy() != "ADD"
        dropped["test_not_ADD"] = int(other_test.sum())
        keep &= ~other_test
    found: dict[str, str] = {}
    for canonical, names in fmt.columns.items():
        name = next((n for n in names if n in upper), None)
        if name is not None:
            found[canonical] = upper[name]
    if fmt.name == "plink2_glm":
        for col in ("BETA", "SE"):
            if col in found:
                unfitted = pd.to_numeric(raw[found[col]], errors="coerce").isna().to_numpy() & keep
                dropped[f"{col}_NA"] = int(unfitted.sum())
                keep &= ~unfitted
    raw = raw[keep].reset_index(drop=True)
    frame = pd.DataFrame({canonical: raw[source].to_numpy() for canonical, source in found.items()})
    if fmt.name == "plink2_glm":
        ref = raw[upper["REF"]].astype(str).str.upper().to_numpy()
        alt = raw[upper["ALT"]].astype(str).str.upper().to_numpy()
        a1 = frame["A1"].astype(str).str.upper().to_numpy()
        frame["A2"] = np.where(a1 == ref, alt, ref)  # the tested allele's other allele
        found["A2"] = f"{upper['REF']}/{upper['ALT']}"
        multi = (a1 == ref) & (np.char.find(alt.astype(str), ",") >= 0)
        if multi.any():  # A1 = REF at a multi-allelic site: the other allele is not one allele
            dropped["multiallelic_A1_is_REF"] = int(multi.sum())
            frame, raw = frame[~multi].reset_index(drop=True), raw[~multi].reset_index(drop=True)
    if fmt.name == "gwas_ssf" and "SNP" not in found and {"CHR", "POS", "A1", "A2"} <= set(frame.columns):
        frame["SNP"] = (frame["CHR"].astype(str) + ":" + frame["POS"].astype(str) + ":"
                        + frame["A2"].astype(str).str.upper() + ":" + frame["A1"].astype(str).str.upper())
        found["SNP"] = "chromosome:base_pair_location:other_allele:effect_allele"
    odds_ratio = "BETA" in found and str(found["BETA"]).upper() in ODDS_RATIO_COLUMNS
    return Mapped(frame, found, odds_ratio, {k: v for k, v in dropped.items() if v}, raw)


def describe(fmt: SumstatsFormat, mapped: Mapped) -> str:
    """One log line: the format and where each column came from, rows dropped by the format's rules."""
    cols = ", ".join(f"{c}<-{s}" for c, s in mapped.found.items())
    extra = "; odds ratios -> log" if mapped.odds_ratio else ""
    dropped = f"; dropped {mapped.dropped}" if mapped.dropped else ""
    return f"format {fmt.name}: {cols}{extra}{dropped}"
