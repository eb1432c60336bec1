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

An odds ratio (OR, odds_ratio) is turned into log odds by the reader. A file with BETA (or an odds
ratio) and Z or a P-value but no SE gets SE = |BETA| / |Z|, Z = Phi^-1(1 - P/2) from P, in the file's
own units. A file without an effect size but with Z and N gets BETA = Z / sqrt(N), SE = 1 / sqrt(N)
(standardised units; per allele when the effect-allele frequency is given); with a P-value, N and a
DIRECTION-like +/- column instead of Z, Z = sign x Phi^-1(1 - P/2) first, then the same. The format
found, its column mapping and any derivation are logged in one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from varflow.errors import VarflowError

# Upper-cased alias -> canonical column for files of no known tool. The first alias present wins.
GENERIC_ALIASES: dict[str, tuple[str, ...]] = {
    "CHR": ("CHR", "CHROM", "#CHROM", "CHROMOSOME"),
    "SNP": ("SNP", "ID", "RSID"),
    "POS": ("POS", "BP"),
    "A1": ("A1", "ALT"),
    "A2": ("A2", "REF"),
    "BETA": ("BETA", "EFFECT", "B", "LOG_ODDS", "OR"),
    "SE": ("SE", "STDERR", "STD_ERR", "STANDARD_ERROR"),
    "N": ("N", "N_TOTAL", "NEFF"),
    "Z": ("Z", "ZSCORE", "Z_SCORE", "Z_STAT"),
    "EAF": ("EAF", "A1FREQ", "A1_FREQ", "AF1", "FREQ1", "EFFECT_ALLELE_FREQUENCY"),
    "P": ("P", "PVAL", "PVALUE", "P_VALUE", "P.VALUE", "P_VAL"),
    "DIRECTION": ("DIRECTION", "SIGN", "EFFECT_DIRECTION"),
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
                    "BETA": ("BETA", "OR"), "SE": ("SE", "LOG(OR)_SE"), "N": ("OBS_CT",),
                    "Z": ("Z_STAT",), "EAF": ("A1_FREQ",), "P": ("P",)}, "TEST"),
    SumstatsFormat("regenie", ("CHROM", "GENPOS", "ID", "ALLELE0", "ALLELE1"),
                   {"CHR": ("CHROM",), "POS": ("GENPOS",), "SNP": ("ID",), "A1": ("ALLELE1",), "A2": ("ALLELE0",),
                    "BETA": ("BETA",), "SE": ("SE",), "N": ("N",), "EAF": ("A1FREQ",)}, "TEST"),
    SumstatsFormat("saige", ("CHR", "POS", "MARKERID", "ALLELE1", "ALLELE2"),
                   {"CHR": ("CHR",), "POS": ("POS",), "SNP": ("MARKERID",), "A1": ("ALLELE2",), "A2": ("ALLELE1",),
                    "BETA": ("BETA",), "SE": ("SE",), "N": ("N",), "EAF": ("AF_ALLELE2",), "P": ("P.VALUE",)}),
    SumstatsFormat("bolt_lmm", ("SNP", "CHR", "BP", "ALLELE1", "ALLELE0"),
                   {"CHR": ("CHR",), "POS": ("BP",), "SNP": ("SNP",), "A1": ("ALLELE1",), "A2": ("ALLELE0",),
                    "BETA": ("BETA",), "SE": ("SE",), "EAF": ("A1FREQ",), "P": ("P_BOLT_LMM", "P_BOLT_LMM_INF")}),
    SumstatsFormat("gwas_ssf", ("CHROMOSOME", "BASE_PAIR_LOCATION", "EFFECT_ALLELE", "OTHER_ALLELE"),
                   {"CHR": ("CHROMOSOME",), "POS": ("BASE_PAIR_LOCATION",), "SNP": ("RSID", "VARIANT_ID"),
                    "A1": ("EFFECT_ALLELE",), "A2": ("OTHER_ALLELE",), "BETA": ("BETA", "ODDS_RATIO"),
                    "SE": ("STANDARD_ERROR",), "N": ("N",), "EAF": ("EFFECT_ALLELE_FREQUENCY",),
                    "P": ("P_VALUE",)}),
    SumstatsFormat("fastgwa", ("CHR", "SNP", "POS", "A1", "A2", "AF1", "BETA", "SE"),
                   {"CHR": ("CHR",), "SNP": ("SNP",), "POS": ("POS",), "A1": ("A1",), "A2": ("A2",),
                    "BETA": ("BETA",), "SE": ("SE",), "N": ("N",), "EAF": ("AF1",), "P": ("P",)}),
)
GENERIC = SumstatsFormat("generic", (), GENERIC_ALIASES)


def resolve_columns(columns, aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """canonical -> the file's column for every canonical column one of whose upper-case ``aliases``
    is present (case-insensitive; the first alias present wins)."""
    upper = {str(c).upper(): c for c in columns}
    found = {}
    for canonical, names in aliases.items():
        name = next((n for n in names if n in upper), None)
        if name is not None:
            found[canonical] = upper[name]
    return found


def detect_format(columns) -> SumstatsFormat:
    """The first of ``FORMATS`` whose signature columns are all present (case-insensitive), else generic."""
    upper = {str(c).upper() for c in columns}
    return next((f for f in FORMATS if set(f.signature) <= upper), GENERIC)


@dataclass
class Mapped:
    """A summary-statistics file in shrink's columns (not yet validated): ``frame`` with canonical
    columns, ``found`` canonical -> the file's column, ``odds_ratio`` whether BETA holds odds ratios,
    ``dropped`` reason -> rows removed, ``raw`` the file's rows that ``frame`` keeps (same order),
    ``derived`` how BETA and SE were made when the file has neither (empty otherwise)."""

    frame: pd.DataFrame
    found: dict[str, str]
    odds_ratio: bool
    dropped: dict[str, int]
    raw: pd.DataFrame
    derived: str = ""


def map_columns(raw: pd.DataFrame, fmt: SumstatsFormat, where: str = "sumstats") -> Mapped:
    """Rename ``raw``'s columns to shrink's for format ``fmt``, apply the format's row rules (test
    filter, plink2's other allele and unfitted rows, GWAS-SSF IDs) and derive BETA/SE where the file has
    no SE (``derive_effects``); see the module table. ``where`` (the file) prefixes error messages."""
    upper = {str(c).upper(): c for c in raw.columns}
    dropped: dict[str, int] = {}
    keep = np.ones(len(raw), dtype=bool)
    if fmt.test_column and fmt.test_column in upper:
        other_test = raw[upper[fmt.test_column]].astype(str).str.upper().to_numpy() != "ADD"
        dropped["test_not_ADD"] = int(other_test.sum())
        keep &= ~other_test
    found = resolve_columns(raw.columns, fmt.columns)
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
    derived = derive_effects(frame, found, where)
    # still an odds ratio unless BETA was derived from Z (the reader takes the log)
    odds_ratio = "BETA" in found and str(found["BETA"]).upper() in ODDS_RATIO_COLUMNS
    return Mapped(frame, found, odds_ratio, {k: v for k, v in dropped.items() if v}, raw, derived)


def derive_effects(frame: pd.DataFrame, found: dict[str, str], where: str) -> str:
    """SE, or BETA and SE, (in place) for a file without SE: with BETA and Z or a P-value, SE = |BETA| /
    |Z| in the file's own units (``_se_from_beta``); without BETA, from N and either Z (``_from_z``) or a
    P-value and a signed column (``_z_from_p``, then ``_from_z``). Returns how, or "" when nothing is
    derived."""
    if "SE" in found:
        return ""
    if "BETA" in found and {"Z", "P"} & set(found):
        return _se_from_beta(frame, found, where)
    if "N" not in found:
        return ""
    if "Z" in found:
        return _from_z(frame, found)
    if "P" in found and "DIRECTION" in found:
        source = _z_from_p(frame, found, where)
        return f"Z from {found['P']} and the sign of {source}; " + _from_z(frame, found)
    return ""


def _abs_z_from_p(frame: pd.DataFrame, found: dict[str, str], where: str) -> np.ndarray:
    """|Z| = Phi^-1(1 - P/2) (= ``norm.isf(P / 2)``) of each row's P-value, (n,) float. A P-value outside
    (0, 1] (P = 0 would be an infinite Z) raises VarflowError naming the row."""
    from scipy.stats import norm

    p = pd.to_numeric(frame["P"], errors="coerce").to_numpy(dtype=float)
    bad = ~((p > 0) & (p <= 1))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise VarflowError(f"{where}: column '{found['P']}' row {row}: P = {frame['P'].iloc[row]} is not in (0, 1], "
                           "so no Z can be derived from it (give BETA and SE, or Z)")
    return norm.isf(p / 2)


def _z_from_p(frame: pd.DataFrame, found: dict[str, str], where: str) -> str:
    """Z = sign x |Z from P| into ``frame["Z"]``, the sign from the DIRECTION-like column; returns that column."""
    frame["Z"] = _signs(frame["DIRECTION"], False, found["DIRECTION"], where) * _abs_z_from_p(frame, found, where)
    found["Z"] = found["P"]
    return found["DIRECTION"]


def _se_from_beta(frame: pd.DataFrame, found: dict[str, str], where: str) -> str:
    """SE = |BETA| / |Z| (log odds for an odds ratio) into ``frame["SE"]``, Z from the file's Z column or
    from its P-value; a row with Z = 0 gets no finite SE and is reported by the reader on SE's column."""
    beta = pd.to_numeric(frame["BETA"], errors="coerce").to_numpy(dtype=float)
    if str(found["BETA"]).upper() in ODDS_RATIO_COLUMNS:
        beta = np.log(np.where(beta > 0, beta, np.nan))
    if "Z" in found:
        z, source = np.abs(pd.to_numeric(frame["Z"], errors="coerce").to_numpy(dtype=float)), found["Z"]
    else:
        z, source = _abs_z_from_p(frame, found, where), found["P"]
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["SE"] = np.abs(beta) / z
    found["SE"] = source
    return f"SE = |BETA| / |Z| from {source} (the file's units)"


def _signs(values: pd.Series, odds_ratio: bool, column: str, where: str) -> np.ndarray:
    """-1, 0 or +1 per row of a signed column: a number's sign (an odds ratio's against 1) or "+"/"-";
    anything else (a missing value, a multi-study direction string such as "+-?") raises VarflowError."""
    text = values.astype(str).str.strip()
    number = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    if odds_ratio:
        number = np.where(number > 0, number - 1, np.nan)
    sign = text.map({"+": 1.0, "-": -1.0}).to_numpy(dtype=float)
    sign = np.where(np.isnan(sign), np.sign(number), sign)
    bad = np.isnan(sign)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        what = "a positive odds ratio" if odds_ratio else "a sign (+, - or a number)"
        raise VarflowError(f"{where}: column '{column}' row {row}: '{values.iloc[row]}' is not {what}")
    return sign


def _from_z(frame: pd.DataFrame, found: dict[str, str]) -> str:
    """BETA and SE from Z and N when a file has no effect size (in place): SE = 1 / sqrt(N) and
    BETA = Z SE, the effect of a standardised genotype on a standardised trait (shrink works in z =
    BETA / SE, so only the units of the shrunk effects depend on this); per copy of the effect allele,
    both over sqrt(2 f (1 - f)), when its frequency f is given. Error messages name Z (BETA) and N (SE)."""
    n = pd.to_numeric(frame["N"], errors="coerce").to_numpy(dtype=float)
    se = 1.0 / np.sqrt(np.where(n > 0, n, np.nan))
    how = "BETA, SE from Z and N (standardised genotype and trait)"
    if "EAF" in found:
        f = pd.to_numeric(frame["EAF"], errors="coerce").to_numpy(dtype=float)
        se = se / np.sqrt(np.where((f > 0) & (f < 1), 2 * f * (1 - f), np.nan))
        how = "BETA, SE from Z, N and the effect-allele frequency (per allele, standardised trait)"
    z = pd.to_numeric(frame["Z"], errors="coerce").to_numpy(dtype=float)
    frame["SE"] = se
    frame["BETA"] = np.where(np.isfinite(se), z * se, z)  # a bad N or frequency is reported on SE's column
    found["BETA"], found["SE"] = found["Z"], found["N"]
    return how


def describe(fmt: SumstatsFormat, mapped: Mapped) -> str:
    """One log line: the format and where each column came from, rows dropped by the format's rules."""
    cols = ", ".join(f"{c}<-{s}" for c, s in mapped.found.items())
    extra = ("; odds ratios -> log" if mapped.odds_ratio else "") + (f"; {mapped.derived}" if mapped.derived else "")
    dropped = f"; dropped {mapped.dropped}" if mapped.dropped else ""
    return f"format {fmt.name}: {cols}{extra}{dropped}"
