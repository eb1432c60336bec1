"""PLINK 1 binary genotype sets (.bed/.bim/.fam) read with bed-reader, as allele dosages and LD.

Dosages count the .bim's first allele (A1, PLINK's usual ALT/minor allele), as PLINK's own --r does;
missing calls are mean-imputed per SNP before standardising, so a correlation is over all samples.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from varflow.errors import VarflowError

BIM_COLUMNS = ("CHR", "SNP", "CM", "POS", "A1", "A2")


@dataclass
class PlinkGenotypes:
    """``dosage`` (n_samples, J) float32 counts of A1 (NaN where missing), ``snps`` the .bim rows (J)."""

    dosage: np.ndarray
    snps: pd.DataFrame


def _part(prefix: Path, ext: str) -> Path:
    """``prefix`` + ``ext`` (a prefix may itself hold dots: eur.chr22 -> eur.chr22.bed)."""
    return prefix.with_name(prefix.name + ext)


def plink_prefix(path: Path | str) -> Path:
    """The fileset prefix of ``path`` (``x``, ``x.bed``, ``x.bim`` or ``x.fam``); all three must exist."""
    path = Path(path)
    prefix = path.with_suffix("") if path.suffix in (".bed", ".bim", ".fam") else path
    missing = [ext for ext in (".bed", ".bim", ".fam") if not _part(prefix, ext).exists()]
    if missing:
        raise VarflowError(f"{prefix}: PLINK fileset incomplete, missing {', '.join(missing)}")
    return prefix


def read_bim(prefix: Path) -> pd.DataFrame:
    bim = pd.read_csv(_part(prefix, ".bim"), sep=r"\s+", header=None, names=list(BIM_COLUMNS),
                      dtype={"CHR": str, "SNP": str, "A1": str, "A2": str})
    if bim[["POS"]].isna().any().any():
        raise VarflowError(f"{_part(prefix, '.bim')}: rows without a position")
    return bim


def fam_count(prefix: Path) -> int:
    """Samples of a fileset: the .fam's non-empty lines."""
    with open(_part(prefix, ".fam"), "rb") as handle:
        return sum(1 for line in handle if line.strip())


def read_plink(path: Path | str, snp_slice: slice = slice(None)) -> PlinkGenotypes:
    """Dosages of the SNPs ``snp_slice`` (in .bim order) of a PLINK 1 fileset."""
    from bed_reader import open_bed

    prefix = plink_prefix(path)
    bim = read_bim(prefix)
    sub = bim.iloc[snp_slice].reset_index(drop=True)
    with open_bed(_part(prefix, ".bed"), count_A1=True, num_threads=1) as bed:
        if bed.sid_count != len(bim):
            raise VarflowError(f"{prefix}.bed holds {bed.sid_count} SNPs but the .bim lists {len(bim)}")
        dosage = bed.read(index=np.s_[:, snp_slice], dtype="float32")
    return PlinkGenotypes(dosage, sub)


def plink_dosage_chunks(prefix: Path, snps: np.ndarray, chunk: int, n_samples: int, n_bim: int
                        ) -> Iterator[tuple[int, np.ndarray]]:
    """A1 dosages of the .bim rows ``snps`` (K,) int, ``chunk`` SNPs at a time from one open .bed:
    yields (offset into ``snps``, dosage (n_samples, c) float32 with NaN = missing). ``n_samples`` and
    ``n_bim`` (the .fam and .bim line counts) spare bed-reader parsing the .fam/.bim again."""
    from bed_reader import open_bed

    with open_bed(_part(prefix, ".bed"), count_A1=True, num_threads=1, iid_count=n_samples, sid_count=n_bim) as bed:
        if snps.size and int(snps.max()) >= bed.sid_count:
            raise VarflowError(f"{prefix}.bed holds {bed.sid_count} SNPs, fewer than its .bim lists")
        for lo in range(0, len(snps), chunk):
            part = snps[lo:lo + chunk]
            contiguous = part[-1] - part[0] + 1 == len(part)
            index = np.s_[:, int(part[0]):int(part[-1]) + 1] if contiguous else np.s_[:, part]
            yield lo, bed.read(index=index, dtype="float32")


def ld_from_dosage(dosage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pearson LD ``r`` (J, J) float32 and A1 frequency (J,) float64 from dosages (n, J), NaN = missing
    (mean-imputed). Monomorphic SNPs get r = 0 off the diagonal."""
    d = np.asarray(dosage, dtype=np.float64)
    mean = np.nanmean(d, axis=0)
    d = np.where(np.isnan(d), mean, d) - mean
    sd = d.std(axis=0)
    d /= np.where(sd > 0, sd, 1.0)
    r = (d.T @ d) / len(d)
    np.fill_diagonal(r, 1.0)
    return np.clip(r, -1.0, 1.0).astype(np.float32), mean / 2
