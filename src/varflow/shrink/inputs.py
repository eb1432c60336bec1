"""Readers for the shrink workflow's inputs: GWAS summary statistics (column aliases), LD panels
(NPZ / NPY + SNP list / PLINK ``--r square`` text) and gene tables, plus matching of summary
statistics to an LD panel by SNP ID with an allele check.
"""

from __future__ import annotations

import gzip
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from varflow.errors import VarflowError
from varflow.io.arrays import read_npz
from varflow.io.contigs import strip_chr
from varflow.io.gene_annotations import annotation_kind, read_gene_annotation
from varflow.io.tables import read_frame
from varflow.shrink.sumstats_formats import GENERIC_ALIASES, describe, detect_format, map_columns, resolve_columns

log = logging.getLogger("varflow")

REQUIRED_SUMSTATS = ("CHR", "SNP", "A1", "A2", "BETA", "SE")

GENE_ALIASES: dict[str, tuple[str, ...]] = {
    "gene": ("GENE", "GENE_ID", "GENE_NAME", "NAME"),
    "CHR": ("CHR", "CHROM", "#CHROM", "CHROMOSOME"),
    "START": ("START", "BEGIN"),
    "END": ("END", "STOP"),
    "SNP_START": ("SNP_START",),
    "SNP_END": ("SNP_END",),
}

_COMPLEMENT = str.maketrans("ACGTacgt", "TGCAtgca")


def _rename_aliases(df: pd.DataFrame, aliases: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """The columns of ``df`` that ``aliases`` name, renamed to their canonical names."""
    found = resolve_columns(df.columns, aliases)
    return df[list(found.values())].set_axis(list(found), axis=1)


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def read_sumstats(path: Path | str) -> pd.DataFrame:
    """Read GWAS summary statistics (Parquet/CSV/TSV, delimiter sniffed, gzip allowed) as the tool that
    wrote them lays them out (PLINK2 --glm, REGENIE, SAIGE, BOLT-LMM, GWAS-SSF, fastGWA, or column
    aliases; ``varflow.shrink.sumstats_formats``); ``attrs["format"]`` describes the format and the
    column mapping in one line.

    Returns columns CHR, SNP, A1 (effect allele), A2 (other allele), BETA, SE (+ POS, N when present);
    odds ratios are turned into log odds. Errors name the file, the column and the first bad row.
    """
    path = Path(path)
    raw = read_frame(path)
    fmt = detect_format(raw.columns)
    mapped = map_columns(raw, fmt, str(path))
    df, found, raw = mapped.frame, mapped.found, mapped.raw
    missing = [c for c in REQUIRED_SUMSTATS if c not in df.columns]
    if missing:
        raise VarflowError(f"{path}: missing column(s) {', '.join(missing)} for format {fmt.name} "
                           f"(accepted names: {'; '.join('/'.join(fmt.columns.get(m, (m,))) for m in missing)})")
    if df.empty:
        raise VarflowError(f"{path}: no rows")
    for col in ("BETA", "SE"):
        values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            row = _first_bad(bad)
            raise VarflowError(f"{path}: column '{found[col]}' row {row}: not a finite number "
                               f"({raw[found[col]].iloc[row]!r})")
        df[col] = values
    if mapped.odds_ratio:
        if (df["BETA"] <= 0).any():
            raise VarflowError(f"{path}: column '{found['BETA']}' row {_first_bad(df['BETA'].to_numpy() <= 0)}: "
                               "odds ratio <= 0")
        df["BETA"] = np.log(df["BETA"])
    se_bad = df["SE"].to_numpy() <= 0
    if se_bad.any():
        raise VarflowError(f"{path}: column '{found['SE']}' row {_first_bad(se_bad)}: SE must be > 0")
    for col in ("CHR", "SNP", "A1", "A2"):
        df[col] = df[col].astype(str)
    df["A1"] = df["A1"].str.upper()
    df["A2"] = df["A2"].str.upper()
    dup = df["SNP"].duplicated().to_numpy()
    if dup.any():
        row = _first_bad(dup)
        raise VarflowError(f"{path}: duplicate SNP ID {df['SNP'].iloc[row]!r} at row {row}")
    if "POS" in df.columns:
        pos = pd.to_numeric(df["POS"], errors="coerce")
        if pos.isna().any():
            raise VarflowError(f"{path}: column '{found['POS']}' row {_first_bad(pos.isna().to_numpy())}: "
                               "not an integer position")
        df["POS"] = pos.astype(np.int64)
    df = df.reset_index(drop=True)
    df.attrs["format"] = describe(fmt, mapped)  # the step that reads the file logs it once it succeeds
    return df


@dataclass
class LDPanel:
    """One chromosome's LD: ``r`` (J, J) float32 signed correlations of the ``a1`` allele dosages,
    ``snp`` (J,) IDs in LD order, ``pos`` (J,) int64 1-based or None, ``a1``/``a2`` (J,) or None,
    ``freq`` (J,) float64 the panel's ``a1`` frequency or None (it resolves A/T, C/G SNPs' strands)."""

    r: np.ndarray
    snp: np.ndarray
    pos: np.ndarray | None
    a1: np.ndarray | None
    a2: np.ndarray | None
    source: str
    freq: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.snp)

    def submatrix(self, idx: np.ndarray) -> np.ndarray:
        """LD (m, m) float32 among the SNPs ``idx`` (m,) int."""
        return self.r[np.ix_(idx, idx)]

    def subset(self, idx: np.ndarray) -> "LDPanel":
        pick = lambda a: None if a is None else a[idx]  # noqa: E731
        return LDPanel(self.r[np.ix_(idx, idx)], self.snp[idx], pick(self.pos), pick(self.a1),
                       pick(self.a2), self.source, pick(self.freq))


def check_unique_snps(snp: np.ndarray, where: str) -> None:
    """An LD SNP list (J,) names each SNP once (dense and banded LD alike)."""
    dup = pd.Series(snp).duplicated().to_numpy()
    if dup.any():
        raise VarflowError(f"{where}: duplicate SNP ID {snp[_first_bad(dup)]!r} in the LD SNP list")


BAND_LAYOUT = "band"  # the ``ld_layout`` marker of a banded LD NPZ (written by ``varflow shrink ld-panel``)


@dataclass
class BandedLD:
    """One chromosome's LD as a band (``varflow.shrink.ldband``): ``band`` (J, W+1) float32 with
    band[i, k] = r(SNP i, SNP i+k), 0 past the end; LD of SNPs more than W apart is taken as 0.
    ``snp``/``pos``/``a1``/``a2`` (J,) as in ``LDPanel``."""

    band: np.ndarray
    snp: np.ndarray
    pos: np.ndarray | None
    a1: np.ndarray | None
    a2: np.ndarray | None
    source: str

    @property
    def n(self) -> int:
        return len(self.snp)

    @property
    def width(self) -> int:
        """W: the largest SNP distance whose LD the band holds."""
        return self.band.shape[1] - 1

    def submatrix(self, idx: np.ndarray) -> np.ndarray:
        """LD (m, m) float32 among the SNPs ``idx`` (m,) int; 0 for pairs more than W SNPs apart."""
        from varflow.shrink.ldband import band_submatrix

        return band_submatrix(self.band, idx)


def validate_band(panel: BandedLD, tol: float = 1e-3) -> BandedLD:
    """Check a banded LD: (J, W+1) with J the SNP count, finite, |r| <= 1, diagonal (column 0) 1, zeros
    past the chromosome's end, signed (not r^2, as ``validate_ld``), unique IDs."""
    band, where = panel.band, panel.source
    if band.ndim != 2 or band.shape[0] != panel.n or band.shape[1] < 1:
        raise VarflowError(f"{where}: LD band has shape {band.shape}; expected ({panel.n}, W+1) for its {panel.n} SNPs")
    top, bottom = float(band.max(initial=-np.inf)), float(band.min(initial=np.inf))
    if not (np.isfinite(top) and np.isfinite(bottom)):
        i, k = np.argwhere(~np.isfinite(band))[0]
        raise VarflowError(f"{where}: LD band has a NaN/inf value at SNP {i}, distance {k}")
    if top > 1 + tol or bottom < -1 - tol:
        i, k = np.argwhere(np.abs(band) > 1 + tol)[0]
        raise VarflowError(f"{where}: LD value {band[i, k]:.4g} at SNP {i}, distance {k} is outside [-1, 1]")
    off_diag = np.abs(band[:, 0] - 1) > tol
    if off_diag.any():
        i = _first_bad(off_diag)
        raise VarflowError(f"{where}: LD band diagonal is {band[i, 0]:.4g} at SNP {i}, not 1")
    n, w = band.shape[0], band.shape[1] - 1
    for k in range(1, min(w, n) + 1):
        if np.any(band[n - k:, k]):
            raise VarflowError(f"{where}: LD band has values past the last SNP (distance {k}); not a band file")
    n_pos = np.count_nonzero(band[:, 1:] > 1e-6)
    if n >= R2_CHECK_MIN_SNPS and w >= 1 and bottom >= 0 and n_pos >= n:
        raise VarflowError(f"{where}: LD band of {n} SNPs has no negative value: it looks like r^2; shrink needs "
                           "signed r")
    check_unique_snps(panel.snp, where)
    return panel


def read_band_ld(path: Path | str) -> BandedLD:
    """Read and validate a banded LD NPZ (``ld_layout`` = "band"; arrays band, snp, pos, a1, a2)."""
    arrays = read_npz(path, {"band": ("f", 2), "snp": ("U", 1), "pos": ("i", 1)})
    pick = lambda k: np.char.upper(arrays[k].astype(str)) if k in arrays else None  # noqa: E731
    return validate_band(BandedLD(arrays["band"].astype(np.float32, copy=False), arrays["snp"].astype(str),
                                  arrays["pos"].astype(np.int64), pick("a1"), pick("a2"), str(path)))


def is_band_file(path: Path | str) -> bool:
    """Whether an NPZ is a banded LD file (its ``ld_layout`` marker; the band itself is not loaded)."""
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as npz:
            return "ld_layout" in npz.files and str(npz["ld_layout"]) == BAND_LAYOUT
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


def read_ld_text(path: Path | str, chunk_bytes: int = 1 << 24) -> np.ndarray:
    """Parse a whitespace-separated numeric square matrix (PLINK ``--r square``) in streamed chunks.

    Each chunk of whole lines is converted by numpy's C number parser straight into a preallocated
    float32 (J, J) array; no per-line Python work and no regex. ``nan`` entries are kept as NaN
    (and rejected later by validation).
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        first = handle.readline()
        if not first.strip():
            raise VarflowError(f"{path}: LD file is empty")
        try:
            row0 = np.array(first.split(), dtype=np.float64)
        except ValueError:
            raise VarflowError(f"{path}: line 1 is not numeric (a header line is not allowed)") from None
        n = row0.size
        out = np.empty(n * n, dtype=np.float32)
        out[:n] = row0
        filled = n
        tail = b""
        while True:
            block = handle.read(chunk_bytes)
            if not block:
                break
            block = tail + block
            cut = block.rfind(b"\n")
            if cut < 0:
                tail = block
                continue
            tail = block[cut + 1:]
            filled = _parse_into(path, block[:cut + 1], out, filled, n)
        if tail.strip():
            filled = _parse_into(path, tail, out, filled, n)
    if filled != n * n:
        raise VarflowError(f"{path}: LD matrix is not square ({filled} values for {n} columns; "
                           f"expected {n}x{n})")
    return out.reshape(n, n)


def _parse_into(path: Path, text: bytes, out: np.ndarray, filled: int, n: int) -> int:
    values = np.array(text.split(), dtype=np.float32) if b"n" in text.lower() else \
        np.fromstring(text, dtype=np.float32, sep=" ")
    lines = text.count(b"\n") + (0 if text.endswith(b"\n") else 1)
    if values.size != lines * n:
        raise VarflowError(f"{path}: LD matrix is not square (a line near row {filled // n + 1} does not "
                           f"have {n} values)")
    if filled + values.size > out.size:
        raise VarflowError(f"{path}: LD matrix has more than {n} rows for {n} columns (not square)")
    out[filled:filled + values.size] = values
    return filled + values.size


def read_snp_list(path: Path | str) -> pd.DataFrame:
    """SNP list of an LD matrix: a PLINK ``.bim`` (no header) or a table with a SNP/ID column
    (+ optional POS, A1/ALT, A2/REF). Returns columns SNP (+ POS, A1, A2)."""
    path = Path(path)
    if not path.exists():
        raise VarflowError(f"{path}: file not found")
    if path.suffix == ".bim":
        df = pd.read_csv(path, sep="\t", header=None, engine="c", dtype={1: str, 4: str, 5: str})
        if df.shape[1] != 6:
            raise VarflowError(f"{path}: a .bim file has 6 tab-separated columns, found {df.shape[1]}")
        return pd.DataFrame({"SNP": df[1], "POS": df[3].astype(np.int64), "A1": df[4].str.upper(),
                             "A2": df[5].str.upper()})
    if path.suffix in (".txt", ".snplist") and "\t" not in path.read_text().split("\n", 1)[0] \
            and "," not in path.read_text().split("\n", 1)[0]:
        names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        if names and names[0].upper() in ("SNP", "ID", "RSID"):
            names = names[1:]
        return pd.DataFrame({"SNP": names})
    df = _rename_aliases(read_frame(path), {k: GENERIC_ALIASES[k] for k in ("SNP", "POS", "A1", "A2")})
    if "SNP" not in df.columns:
        raise VarflowError(f"{path}: SNP list needs a SNP/ID/RSID column")
    for col in ("A1", "A2"):
        if col in df.columns:
            df[col] = df[col].astype(str).str.upper()
    df["SNP"] = df["SNP"].astype(str)
    return df


R2_CHECK_MIN_SNPS = 20  # signed LD of this many SNPs always has negative entries; r^2 never does


def validate_ld(panel: LDPanel, sym_tol: float = 1e-3) -> LDPanel:
    """Check an LD panel: square, symmetric, finite, |r| <= 1, signed (not r^2: a matrix of at least
    ``R2_CHECK_MIN_SNPS`` correlated SNPs without a negative value is refused), size equal to the SNP
    list, unique IDs."""
    r, where = panel.r, panel.source
    if r.ndim != 2 or r.shape[0] != r.shape[1]:
        raise VarflowError(f"{where}: LD matrix is not square (shape {r.shape})")
    if r.shape[0] != panel.n:
        raise VarflowError(f"{where}: LD matrix is {r.shape[0]}x{r.shape[1]} but the SNP list has {panel.n} SNPs")
    # max/min propagate NaN and inf, so two reductions clear every value check; rows are scanned for
    # the first bad value only when one fails. Symmetry is compared on square tiles that fit in cache
    # (a column-slice transpose of the whole matrix costs ~8x more).
    top, bottom = float(r.max(initial=-np.inf)), float(r.min(initial=np.inf))
    if not (np.isfinite(top) and np.isfinite(bottom)) or top > 1 + sym_tol or bottom < -1 - sym_tol:
        for lo in range(0, r.shape[0], 512):
            rows = r[lo:lo + 512]
            bad = ~np.isfinite(rows)
            if bad.any():
                i, j = np.argwhere(bad)[0]
                raise VarflowError(f"{where}: LD matrix has a NaN/inf value at row {lo + i}, column {j}")
            big = np.abs(rows) > 1 + sym_tol
            if big.any():
                i, j = np.argwhere(big)[0]
                raise VarflowError(f"{where}: LD value {rows[i, j]:.4g} at row {lo + i}, column {j} is outside [-1, 1]")
    tile = 256
    for lo in range(0, r.shape[0], tile):
        for co in range(lo, r.shape[0], tile):
            asym = np.abs(r[lo:lo + tile, co:co + tile] - r[co:co + tile, lo:lo + tile].T)
            if asym.max() > sym_tol:
                i, j = np.unravel_index(int(np.argmax(asym)), asym.shape)
                i, j = i + lo, j + co
                raise VarflowError(f"{where}: LD matrix is not symmetric (r[{i},{j}]={r[i, j]:.4g} vs "
                                   f"r[{j},{i}]={r[j, i]:.4g})")
    # r^2: no negative value, and correlated SNPs (at least as many positive off-diagonal values as SNPs;
    # the count is taken only when the minimum is >= 0, which signed LD of this many SNPs never has)
    if r.shape[0] >= R2_CHECK_MIN_SNPS and bottom >= 0 and np.count_nonzero(r > 1e-6) - r.shape[0] >= r.shape[0]:
        raise VarflowError(f"{where}: LD matrix of {r.shape[0]} SNPs has no negative value: it looks like r^2; "
                           "shrink needs signed r (PLINK: --r square, not --r2)")
    check_unique_snps(panel.snp, where)
    return panel


#: File names of dense LD matrices without their SNP list inside (NPY, PLINK ``--r square`` text): each
#: needs the .bim beside it (``ld_snp_list``).
MATRIX_LD_SUFFIXES = (".npy", ".ld", ".ld.gz", ".txt", ".txt.gz")


def is_ld_file(path: Path | str) -> bool:
    """Whether ``path`` names LD by its name: an NPZ (dense, or banded from ld-panel) or a matrix file."""
    name = Path(path).name
    return name.endswith(".npz") or name.endswith(MATRIX_LD_SUFFIXES)


def bim_beside(matrix: Path | str) -> Path:
    """The .bim with an NPY/text LD matrix's prefix, as PLINK names them (chr22.ld, chr22.ld.gz, chr22.npy
    -> chr22.bim; main.nf ``ldSnpList`` applies the same rule); it may not exist."""
    matrix = Path(matrix)
    return (matrix.with_suffix("") if matrix.suffix == ".gz" else matrix).with_suffix(".bim")


def ld_snp_list(path: Path | str, snps: Path | str | None = None) -> Path:
    """The SNP list of an NPY or text LD matrix: ``snps`` when given, else the ``.bim`` with the matrix's
    prefix beside it, as PLINK writes them (chr22.ld, chr22.ld.gz, chr22.npy -> chr22.bim); VarflowError
    when neither is there."""
    if snps is not None:
        return Path(snps)
    path = Path(path)
    beside = bim_beside(path)
    if not beside.exists():
        raise VarflowError(f"{path}: an NPY/text LD matrix needs its SNP list (--snps FILE, or {beside.name} "
                           "beside it)")
    return beside


def read_ld(path: Path | str, snps: Path | str | None = None, allow_band: bool = False) -> LDPanel | BandedLD:
    """Read one chromosome's LD panel and validate it.

    ``path``: NPZ with arrays ``r`` (J, J) and ``snp`` (J,) (+ optional ``pos``, ``a1``, ``a2``, ``freq``), an
    NPY matrix or a PLINK ``--r square`` text matrix (``.ld``, ``.txt``, optionally ``.gz``); the
    latter two need their SNP list: ``snps`` (a .bim or SNP list, see ``read_snp_list``), else the .bim
    beside the matrix (``ld_snp_list``), as a cohort.yaml ``ld`` entry names it. With ``allow_band`` a banded
    LD NPZ (``varflow shrink ld-panel``) is read too, as a ``BandedLD``; both have ``submatrix(idx)``.
    """
    path = Path(path)
    if not path.exists():
        raise VarflowError(f"{path}: file not found")
    pos = a1 = a2 = freq = None
    if path.suffix == ".npz" and is_band_file(path):
        if not allow_band:
            raise VarflowError(f"{path}: a banded LD file (from ld-panel) holds no dense matrix; its blocks are in "
                               "the ld-panel step's block files")
        return read_band_ld(path)
    if path.suffix == ".npz":
        arrays = read_npz(path, {"r": ("f", 2)})
        r = arrays["r"].astype(np.float32, copy=False)
        if "snp" in arrays:
            snp = arrays["snp"].astype(str)
            pos = arrays["pos"].astype(np.int64) if "pos" in arrays else None
            a1 = np.char.upper(arrays["a1"].astype(str)) if "a1" in arrays else None
            a2 = np.char.upper(arrays["a2"].astype(str)) if "a2" in arrays else None
            freq = arrays["freq"].astype(np.float64) if "freq" in arrays else None
        elif snps is None:
            raise VarflowError(f"{path}: NPZ has no 'snp' array; give the SNP list with --snps")
    else:
        snps = ld_snp_list(path, snps)
        if path.suffix == ".npy":
            try:
                r = np.load(path, allow_pickle=False).astype(np.float32, copy=False)
            except ValueError as exc:
                raise VarflowError(f"{path}: not a readable NPY file ({exc})") from None
        else:
            r = read_ld_text(path)
    if snps is not None:
        table = read_snp_list(snps)
        snp = table["SNP"].to_numpy(dtype=str)
        pos = table["POS"].to_numpy(np.int64) if "POS" in table else pos
        a1 = table["A1"].to_numpy(dtype=str) if "A1" in table else a1
        a2 = table["A2"].to_numpy(dtype=str) if "A2" in table else a2
    if freq is not None and (freq.shape != snp.shape or np.any((freq < 0) | (freq > 1))):
        raise VarflowError(f"{path}: 'freq' must hold one a1 frequency in [0, 1] per SNP ({len(snp)})")
    return validate_ld(LDPanel(r, snp, pos, a1, a2, str(path), freq))


def read_genes(path: Path | str) -> pd.DataFrame:
    """Gene table with columns gene, CHR, START, END (1-based inclusive bp) and optional SNP_START/SNP_END:
    a table (Parquet/CSV/TSV, column aliases) or an annotation as it comes, GTF/GFF3 (protein-coding
    gene records) or BED (0-based; ``varflow.io.gene_annotations``)."""
    path = Path(path)
    if annotation_kind(path) is not None:
        df = read_gene_annotation(path)
    else:
        df = _rename_aliases(read_frame(path), GENE_ALIASES)
    missing = [c for c in ("gene", "CHR") if c not in df.columns]
    has_pos = "START" in df.columns and "END" in df.columns
    has_idx = "SNP_START" in df.columns and "SNP_END" in df.columns
    if missing or not (has_pos or has_idx):
        need = missing + ([] if has_pos or has_idx else ["START/END or SNP_START/SNP_END"])
        raise VarflowError(f"{path}: gene table is missing column(s) {', '.join(need)}")
    df["gene"] = df["gene"].astype(str)
    df["CHR"] = df["CHR"].astype(str)
    for col in ("START", "END", "SNP_START", "SNP_END"):
        if col in df.columns:
            values = pd.to_numeric(df[col], errors="coerce")
            if values.isna().any():
                raise VarflowError(f"{path}: column '{col}' row {_first_bad(values.isna().to_numpy())}: not an integer")
            df[col] = values.astype(np.int64)
    for lo, hi in (("START", "END"), ("SNP_START", "SNP_END")):
        if lo in df.columns and hi in df.columns:
            bad = (df[lo] > df[hi]).to_numpy() | (df[lo] < 0).to_numpy()
            if bad.any():
                row = _first_bad(bad)
                raise VarflowError(f"{path}: gene {df['gene'].iloc[row]!r} (row {row}): {lo} {df[lo].iloc[row]} "
                                   f"and {hi} {df[hi].iloc[row]} are not a range (0 <= {lo} <= {hi})")
    return df.reset_index(drop=True)


def check_gene_snp_ranges(genes: pd.DataFrame, chrom: str, pos: np.ndarray | None, n_snps: int, where: str) -> None:
    """A gene table's SNP_START/SNP_END on ``chrom`` against its LD (``pos`` (J,) sorted positions or
    None, ``n_snps`` J): indices must lie in [0, J], and where START/END are given they must be the
    range those positions derive (``gene_snp_ranges``). Raises VarflowError naming the first bad gene."""
    if not {"SNP_START", "SNP_END"} <= set(genes.columns):
        return
    sub = genes[genes["CHR"].map(strip_chr) == strip_chr(chrom)]
    given = sub[["SNP_START", "SNP_END"]].to_numpy()
    outside = given[:, 1] > n_snps
    if outside.any():
        g = sub.iloc[_first_bad(outside)]
        raise VarflowError(f"{where}: gene {g['gene']!r}: SNP_END {g['SNP_END']} is beyond the {n_snps} SNPs of "
                           f"{chrom}'s LD")
    if pos is not None and {"START", "END"} <= set(genes.columns):
        derived = np.column_stack(gene_snp_ranges(sub, chrom, pos))
        bad = np.any(derived != given, axis=1)
        if bad.any():
            i = _first_bad(bad)
            g = sub.iloc[i]
            raise VarflowError(f"{where}: gene {g['gene']!r}: SNP_START/SNP_END {tuple(map(int, given[i]))} disagree with "
                               f"START/END {g['START']}-{g['END']}, which hold LD SNPs {tuple(map(int, derived[i]))}")


def gene_snp_ranges(genes: pd.DataFrame, chrom: str, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SNP index range [start, end) of each gene of ``chrom`` from base-pair positions.

    ``pos`` (J,) sorted 1-based positions of the chromosome's SNPs in LD order; genes' START/END are
    1-based inclusive. Returns (start, end) int64 arrays aligned with ``genes`` rows of that chromosome.
    """
    sub = genes[genes["CHR"].map(strip_chr) == strip_chr(chrom)]
    start = np.searchsorted(pos, sub["START"].to_numpy(), side="left")
    end = np.searchsorted(pos, sub["END"].to_numpy(), side="right")
    return start.astype(np.int64), end.astype(np.int64)


def _is_palindromic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    comp = np.array([s.translate(_COMPLEMENT) for s in a], dtype=object)
    return comp == b


def _complement(a: np.ndarray) -> np.ndarray:
    return np.array([s.translate(_COMPLEMENT) for s in a], dtype=object)


@dataclass
class Matched:
    """Summary statistics aligned to an LD panel.

    ``ld_index`` (M,) int64 sorted indices into the panel's SNPs; ``beta``/``se`` (M,) float64 with
    beta's sign flipped where the alleles were swapped; ``counts`` says how many SNPs were kept,
    flipped, or dropped and why.
    """

    ld_index: np.ndarray
    beta: np.ndarray
    se: np.ndarray
    counts: dict


#: A/T and C/G SNPs take their strand from allele frequencies only when the minor allele frequency is
#: below this on both sides: nearer 0.5 the two orientations' frequencies cannot be told apart.
AMBIGUOUS_MAF = 0.4
WARN_DROPPED_FRACTION = 0.01  # above this share of a chromosome's SNPs dropped, a warning names the reasons
DROP_REASONS = {"not_in_ld": "not in the LD panel",
                "ambiguous": "strand-ambiguous (A/T, C/G) needing a swap, frequencies not resolving it",
                "mismatched": "with alleles other than the panel's"}


def match_to_ld(sumstats: pd.DataFrame, panel: LDPanel, chrom: str, min_fraction: float = 0.5,
                where: str = "sumstats") -> Matched:
    """Match one chromosome's summary statistics to ``panel`` by SNP ID with an allele check.

    A sumstats SNP whose ID is absent is also tried as ``chr:pos:alt:ref`` when its ID has that form
    (swapped-allele IDs), then by position and alleles when both sides have them (``by_position``:
    rsIDs on one side, chr:pos:ref:alt on the other). Alleles equal -> kept; swapped -> kept with beta negated; reverse-strand
    complement (non-palindromic only) -> kept. Palindromic (A/T, C/G) SNPs take their orientation from
    the allele frequencies when both sides have them and both MAFs are below ``AMBIGUOUS_MAF``
    (``by_frequency``, flipped where the effect allele is the panel's a2); otherwise equal alleles are
    kept as they are and those that would need a swap are strand-ambiguous and dropped. Anything else
    is a mismatch and dropped. Raises VarflowError when
    fewer than ``min_fraction`` of min(#sumstats SNPs on chrom, #LD SNPs) match.
    """
    on_chrom = sumstats[sumstats["CHR"].map(strip_chr) == strip_chr(chrom)]
    if on_chrom.empty:
        raise VarflowError(f"{where}: no SNPs on chromosome {chrom}")
    lookup = pd.Series(np.arange(panel.n), index=pd.Index(panel.snp))
    ids = on_chrom["SNP"].to_numpy(dtype=str)
    idx = lookup.reindex(ids).to_numpy(dtype=np.float64, copy=True)
    missing = np.isnan(idx)
    if missing.any():
        swapped_ids = np.array([_swap_id(s) for s in ids[missing]], dtype=object)
        idx[missing] = lookup.reindex(swapped_ids).to_numpy()
    by_position = 0
    missing = np.isnan(idx)
    if missing.any() and panel.pos is not None and panel.a1 is not None and panel.a2 is not None \
            and "POS" in on_chrom.columns:
        idx[missing] = _position_lookup(on_chrom[missing], panel)
        by_position = int((~np.isnan(idx[missing])).sum())
    found = ~np.isnan(idx)
    counts = {"sumstats": int(len(on_chrom)), "ld": int(panel.n), "not_in_ld": int((~found).sum()),
              "by_position": by_position}
    rows = on_chrom[found]
    li = idx[found].astype(np.int64)
    beta = rows["BETA"].to_numpy(float).copy()
    se = rows["SE"].to_numpy(float)
    keep = np.ones(len(rows), dtype=bool)
    if panel.a1 is not None and panel.a2 is not None:
        s1 = rows["A1"].to_numpy(dtype=object)
        s2 = rows["A2"].to_numpy(dtype=object)
        l1 = panel.a1[li].astype(object)
        l2 = panel.a2[li].astype(object)
        same = (s1 == l1) & (s2 == l2)
        swap = (s1 == l2) & (s2 == l1)
        c1, c2 = _complement(s1), _complement(s2)
        pal = _is_palindromic(s1, s2)
        comp_same = ~pal & (c1 == l1) & (c2 == l2)
        comp_swap = ~pal & (c1 == l2) & (c2 == l1)
        by_freq, a1_is_panel_a1 = _strand_by_frequency(rows, panel, li, pal & (same | swap))
        ambiguous = pal & swap & ~same & ~by_freq
        flip = ((swap | comp_swap) & ~pal & ~same) | (by_freq & ~a1_is_panel_a1)
        ok = same | comp_same | flip | by_freq
        beta[flip] = -beta[flip]
        keep = ok
        counts.update(flipped=int(flip.sum()), ambiguous=int(ambiguous.sum()), by_frequency=int(by_freq.sum()),
                      mismatched=int((~ok & ~ambiguous).sum()))
    dup = pd.Series(li[keep]).duplicated().to_numpy()
    if dup.any():
        raise VarflowError(f"{where}: two sumstats SNPs match the same LD SNP {panel.snp[li[keep][dup][0]]!r}")
    li, beta, se = li[keep], beta[keep], se[keep]
    order = np.argsort(li, kind="stable")
    counts["matched"] = int(keep.sum())
    lost = {k: counts.get(k, 0) for k in DROP_REASONS if counts.get(k, 0)}
    if sum(lost.values()) > WARN_DROPPED_FRACTION * len(on_chrom):
        log.warning("%s: %d of %d SNPs on %s do not reach the shrinkage (%s)", where, sum(lost.values()),
                    len(on_chrom), chrom, ", ".join(f"{n} {DROP_REASONS[k]}" for k, n in lost.items()))
    need = min_fraction * min(len(on_chrom), panel.n)
    if counts["matched"] < max(need, 1):
        raise VarflowError(f"{where}: only {counts['matched']} of {len(on_chrom)} SNPs on {chrom} match the LD "
                           f"panel {panel.source} by ID and alleles ({counts})")
    return Matched(li[order], beta[order], se[order], counts)


def _strand_by_frequency(rows: pd.DataFrame, panel: LDPanel, li: np.ndarray,
                         palindromic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orientation of the A/T and C/G SNPs read from allele frequencies: where ``palindromic`` (m,) and
    both the summary statistics' effect-allele frequency (EAF) and the panel's a1 frequency are known
    with minor allele frequency below ``AMBIGUOUS_MAF``, the effect allele is the panel's a1 when its
    frequency is nearer the panel's a1 frequency than the a2 frequency. Returns ``resolved`` (m,) bool
    and ``a1_is_panel_a1`` (m,) bool (meaningful where resolved); nothing resolves without both
    frequencies."""
    resolved = np.zeros(len(rows), dtype=bool)
    if panel.freq is None or "EAF" not in rows.columns:
        return resolved, resolved.copy()
    f = pd.to_numeric(rows["EAF"], errors="coerce").to_numpy(dtype=float)
    p = panel.freq[li]
    a1_is_panel_a1 = np.abs(f - p) < np.abs(f - (1 - p))
    with np.errstate(invalid="ignore"):
        resolved = (palindromic & np.isfinite(f) & np.isfinite(p) & (np.minimum(f, 1 - f) < AMBIGUOUS_MAF)
                    & (np.minimum(p, 1 - p) < AMBIGUOUS_MAF))
    return resolved, a1_is_panel_a1


def _allele_key(pos, a: np.ndarray, b: np.ndarray) -> list[tuple]:
    """(position, the two alleles in sorted order) per SNP: the same key whichever allele is first."""
    return [(int(p), *sorted((x, y))) for p, x, y in zip(pos, a, b)]


def _position_lookup(rows: pd.DataFrame, panel: LDPanel) -> np.ndarray:
    """LD index (float, NaN when absent) of each sumstats row found by position and alleles (either
    order, or both reverse-strand complemented), for IDs the panel does not use (rsIDs vs chr:pos:...)."""
    keys = _allele_key(panel.pos, panel.a1.astype(str), panel.a2.astype(str))
    index = pd.Series(np.arange(panel.n, dtype=np.float64),
                      index=pd.MultiIndex.from_tuples(keys)).groupby(level=[0, 1, 2]).first()
    pos = rows["POS"].to_numpy()
    a1, a2 = rows["A1"].to_numpy(dtype=object), rows["A2"].to_numpy(dtype=object)
    out = np.full(len(rows), np.nan)
    for x, y in ((a1, a2), (_complement(a1), _complement(a2))):
        todo = np.isnan(out)
        if not todo.any():
            break
        want = pd.MultiIndex.from_tuples(_allele_key(pos[todo], x[todo], y[todo]))
        out[todo] = index.reindex(want).to_numpy()
    return out


def _swap_id(snp: str) -> str:
    parts = snp.split(":")
    if len(parts) == 4:
        return ":".join((parts[0], parts[1], parts[3], parts[2]))
    return snp


def gene_rows(genes: pd.DataFrame, table: pd.DataFrame) -> list[np.ndarray]:
    """Row indices of ``table`` (columns CHR, POS, ld_index) inside each gene of ``genes``, per chromosome.

    Genes are START <= POS <= END (1-based inclusive) on their own chromosome; a table with only
    SNP_START/SNP_END uses those LD-order index ranges [start, end) (``check_gene_snp_ranges`` checks
    them against the LD first). Chromosome names are compared without a 'chr' prefix, and indices never
    leak from one chromosome to another.
    """
    bare = table["CHR"].map(strip_chr).to_numpy()
    by_chrom: dict[str, np.ndarray] = {}
    for chrom in np.unique(bare):
        rows = np.flatnonzero(bare == chrom)
        key = table["ld_index"].to_numpy()[rows] if "ld_index" in table else table["POS"].to_numpy()[rows]
        order = np.argsort(key, kind="stable")
        by_chrom[chrom] = rows[order]
    use_idx = ({"SNP_START", "SNP_END"} <= set(genes.columns) and "ld_index" in table.columns
               and not ({"START", "END"} <= set(genes.columns) and "POS" in table.columns))
    out = []
    for g in genes.itertuples(index=False):
        rows = by_chrom.get(strip_chr(str(g.CHR)))
        if rows is None:
            out.append(np.empty(0, dtype=np.int64))
            continue
        if use_idx:
            key = table["ld_index"].to_numpy()[rows]
            lo, hi = np.searchsorted(key, g.SNP_START, "left"), np.searchsorted(key, g.SNP_END, "left")
        else:
            pos = table["POS"].to_numpy()[rows]
            lo, hi = np.searchsorted(pos, g.START, "left"), np.searchsorted(pos, g.END, "right")
        out.append(rows[lo:hi])
    return out


def check_block_psd(blocks: list[np.ndarray], starts: np.ndarray, where: str, tolerance: float) -> None:
    """Every block's smallest LD eigenvalue must exceed -``tolerance`` (a Cholesky factorisation of
    R_b + tolerance I, float64, one per block; eigenvalues are computed only for the message when it
    fails). A panel's sample correlations are PSD up to rounding; LD mixed from different samples or
    edited by hand may not be, and the block posterior (whose ridge is the tolerance) would fail."""
    from scipy import linalg

    for b, (start, blk) in enumerate(zip(starts, blocks)):
        a = blk.astype(np.float64)
        a[np.diag_indices_from(a)] += tolerance
        _, info = linalg.lapack.dpotrf(a, lower=True)
        if info != 0:
            smallest = float(np.linalg.eigvalsh(blk.astype(np.float64))[0])
            raise VarflowError(f"{where}: LD block {b} (SNPs {int(start)}-{int(start) + blk.shape[0] - 1}) is not "
                               f"positive semi-definite: smallest eigenvalue {smallest:.4g} < -{tolerance:g} "
                               "(LD from one panel of samples is; was it mixed or edited?)")
