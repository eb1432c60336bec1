"""Split one chromosome's LD matrix into approximately independent blocks.

floor(J / avg) + 1 breakpoints (the method's count) sit at minima of the LD mass on the anti-diagonals
(i + j = const) smoothed with a Hann window (its width halved while too few minima exist); a local
search then moves each to the position of least LD crossing it. LD "mass" is r^2 so that positive and
negative correlations do not cancel.
"""

from __future__ import annotations

import numpy as np

ROW_CHUNK = 512
WINDOW = 1 / 3  # breakpoint k searches k * s +- WINDOW * s, s = J / (breakpoints + 1)


def ld_profiles(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Anti-diagonal LD sums and crossing LD of every cut point, in one pass over row chunks.

    ``r`` (J, J) signed correlations. Returns ``antidiag`` (2J-1,) with antidiag[k] = sum_{i+j=k} r_ij^2
    and ``crossing`` (J+1,) with crossing[m] = sum_{i<m<=j} r_ij^2 (cut before SNP m; 0 at both ends).
    Memory stays at one (ROW_CHUNK, J) float32 chunk beyond the input.
    """
    n = r.shape[0]
    antidiag = np.zeros(2 * n - 1, dtype=np.float64)
    below = np.empty(n, dtype=np.float64)  # sum_{j<m} r_mj^2
    above = np.empty(n, dtype=np.float64)  # sum_{j>m} r_mj^2
    for lo in range(0, n, ROW_CHUNK):
        sq = np.square(r[lo:lo + ROW_CHUNK], dtype=np.float32)
        rows = np.arange(lo, lo + sq.shape[0])
        cum = np.cumsum(sq, axis=1, dtype=np.float64)
        below[rows] = np.where(rows > 0, cum[np.arange(len(rows)), np.maximum(rows - 1, 0)], 0.0)
        above[rows] = cum[:, -1] - cum[np.arange(len(rows)), rows]
        for k, i in enumerate(rows):
            antidiag[i:i + n] += sq[k]
    # Moving the cut from m to m+1 takes row m's pairs (i, m), i < m out and puts (m, j), j > m in.
    crossing = np.zeros(n + 1, dtype=np.float64)
    crossing[1:] = np.cumsum(above - below)
    crossing[-1] = 0.0
    return antidiag, np.maximum(crossing, 0.0)


def _local_minima(x: np.ndarray) -> np.ndarray:
    """Indices of strict-left / weak-right local minima of a 1-D profile (interior points only)."""
    if x.size < 3:
        return np.empty(0, dtype=np.int64)
    inner = (x[1:-1] < x[:-2]) & (x[1:-1] <= x[2:])
    return np.flatnonzero(inner) + 1


def _hann_smooth(x: np.ndarray, half_width: int) -> np.ndarray:
    if half_width < 1:
        return x
    w = np.hanning(2 * half_width + 3)[1:-1]  # drop the zero end points
    w /= w.sum()
    padded = np.pad(x, half_width, mode="edge")
    return np.convolve(padded, w, mode="valid")


def _pick_spaced(candidates: np.ndarray, values: np.ndarray, n_pick: int, min_gap: int, n: int) -> list[int]:
    """Greedy: lowest ``values`` first, skipping candidates within ``min_gap`` of a chosen one or an end."""
    chosen: list[int] = []
    for c in candidates[np.argsort(values[candidates], kind="stable")]:
        if c < min_gap or n - c < min_gap:
            continue
        if all(abs(c - d) >= min_gap for d in chosen):
            chosen.append(int(c))
            if len(chosen) == n_pick:
                break
    return chosen


BLOCK_RULES = ("slots", "deepest")


def find_blocks(r: np.ndarray, avg_block: int = 1000, half_width: int = 200, rule: str = "slots"
                ) -> tuple[np.ndarray, np.ndarray]:
    """Block boundaries of a chromosome's LD ``r`` (J, J): ``ld_profiles`` then ``cut_blocks`` (whose
    docstring gives the rule). Returns ``starts``, ``ends`` (B,) int64 SNP index ranges [start, end)."""
    if rule not in BLOCK_RULES:
        raise ValueError(f"rule must be one of {', '.join(BLOCK_RULES)}, got {rule!r}")
    n = r.shape[0]
    if n_breakpoints(n, avg_block) < 1:
        return np.array([0], dtype=np.int64), np.array([n], dtype=np.int64)
    antidiag, crossing = ld_profiles(r)
    return cut_blocks(antidiag, crossing, n, avg_block, half_width, rule)


def n_breakpoints(n: int, avg_block: int) -> int:
    """Interior cuts of ``n`` SNPs: floor(n / avg_block) + 1 (the method's count), fewer when blocks of
    at least 2 SNPs need it."""
    return min(n // avg_block + 1, n // 2 - 1)


def cut_blocks(antidiag: np.ndarray, crossing: np.ndarray, n: int, avg_block: int = 1000, half_width: int = 200,
               rule: str = "slots") -> tuple[np.ndarray, np.ndarray]:
    """Block boundaries of ``n`` SNPs from their LD profiles (``ld_profiles`` of a dense matrix or
    ``band_profiles`` of a band): ``antidiag`` (2n-1,) anti-diagonal r^2 sums, ``crossing`` (n+1,) r^2
    crossing each cut.

    ``avg_block`` target mean block size in SNPs: floor(n / avg_block) + 1 breakpoints
    (interior cuts, so floor(n / avg_block) + 2 blocks), placed on minima of the Hann-smoothed
    anti-diagonal LD profile and refined by a local search that minimises the LD crossing each cut.
    ``rule``: "slots" (default) gives breakpoint k the deepest smoothed minimum within +- WINDOW * s of
    k * s (s = n / (breakpoints + 1)), so blocks stay within about s / 3 .. 5 s / 3 (+- s / 4 of local
    search); "deepest" takes the lowest minima anywhere at least s / 4 apart: less LD between blocks,
    much less even sizes (docs: LD blocks). Returns ``starts``, ``ends`` (B,) int64 SNP
    index ranges [start, end) covering 0..n in order.
    """
    if rule not in BLOCK_RULES:
        raise ValueError(f"rule must be one of {', '.join(BLOCK_RULES)}, got {rule!r}")
    n_cuts = n_breakpoints(n, avg_block)  # blocks of >= 2 SNPs
    if n_cuts < 1:
        return np.array([0], dtype=np.int64), np.array([n], dtype=np.int64)
    # The anti-diagonal i + j = 2m - 1 passes between SNPs m-1 and m: the profile of a cut before m.
    profile = np.concatenate([[np.inf], antidiag[1::2]])  # profile[m], cut positions m = 1..J-1
    slot = n / (n_cuts + 1)
    if rule == "slots":
        cuts = _slot_cuts(profile, n, n_cuts, slot, WINDOW, half_width)
    else:
        cuts = _deepest_cuts(profile, n, n_cuts, slot, half_width)
    edges = np.array([0, *_local_search(cuts, crossing, n, slot), n], dtype=np.int64)
    return edges[:-1], edges[1:]


def _slot_cuts(profile: np.ndarray, n: int, n_cuts: int, slot: float, window: float, half_width: int) -> list[int]:
    """Breakpoint k at the deepest smoothed local minimum of its window round k * slot; the Hann width is
    halved while a window holds no local minimum, and a window still without one takes its lowest point."""
    lo = [max(1, int(np.ceil((k - window) * slot))) for k in range(1, n_cuts + 1)]
    hi = [min(n - 1, int(np.floor((k + window) * slot))) for k in range(1, n_cuts + 1)]
    hw = half_width
    while True:
        smooth = np.concatenate([[np.inf], _hann_smooth(profile[1:], hw)])
        is_min = np.zeros(n, dtype=bool)
        is_min[_local_minima(smooth[1:]) + 1] = True
        if all(is_min[a:b + 1].any() for a, b in zip(lo, hi)) or hw < 1:
            break
        hw //= 2
    cuts = []
    for a, b in zip(lo, hi):
        m = np.arange(a, b + 1)
        pick = m[is_min[m]] if is_min[m].any() else m
        cuts.append(int(pick[np.argmin(smooth[pick])]))
    return cuts


def _deepest_cuts(profile: np.ndarray, n: int, n_cuts: int, slot: float, half_width: int) -> list[int]:
    """The lowest smoothed local minima at least slot / 4 apart (Hann width halved until there are enough),
    evenly spaced cuts filling in when the LD has too few minima."""
    min_gap = max(1, int(slot // 4))
    hw = half_width
    while True:
        smooth = _hann_smooth(profile[1:], hw)
        cuts = [c + 1 for c in _pick_spaced(_local_minima(smooth), smooth, n_cuts, min_gap, n - 1)]
        if len(cuts) == n_cuts or hw < 1:
            break
        hw //= 2
    for c in np.linspace(0, n, n_cuts + 2)[1:-1].round().astype(int):
        if len(cuts) < n_cuts and all(abs(c - d) >= min_gap for d in cuts):
            cuts.append(int(c))
    return sorted(cuts)


def _local_search(cuts: list[int], crossing: np.ndarray, n: int, slot: float) -> list[int]:
    """Move each cut, left to right, to the position of least crossing LD within slot / 4 of it,
    keeping every block at least slot / 4 SNPs long."""
    reach = max(1, int(slot // 4))
    bounds = [0, *sorted(cuts), n]
    for k in range(1, len(bounds) - 1):
        a = max(bounds[k] - reach, bounds[k - 1] + reach, 1)
        b = min(bounds[k] + reach, bounds[k + 1] - reach, n - 1)
        if a <= b:
            window = np.arange(a, b + 1)
            bounds[k] = int(window[np.argmin(crossing[window])])
    return sorted(set(bounds[1:-1]))


def split_blocks(r: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[np.ndarray]:
    """Per-block LD matrices (float32 copies) for the ranges [starts[b], ends[b])."""
    return [np.ascontiguousarray(r[s:e, s:e], dtype=np.float32) for s, e in zip(starts, ends)]


# ---- storage of a chromosome's blocks: one NPZ with the SNP list and one float32 array per block ----

from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from varflow.errors import VarflowError  # noqa: E402
from varflow.io.arrays import read_npz, write_npz  # noqa: E402
from varflow.io.provenance import Provenance  # noqa: E402


@dataclass
class BlockLD:
    """A chromosome's LD split in blocks: ``snp``/``pos``/``a1``/``a2`` (J,) in LD order, ``starts``/``ends``
    (B,) index ranges, ``blocks`` list of (m_b, m_b) float32 matrices, ``freq`` (J,) float64 the panel's
    a1 frequency when known (matching reads A/T, C/G strands from it)."""

    chrom: str
    snp: np.ndarray
    pos: np.ndarray
    a1: np.ndarray | None
    a2: np.ndarray | None
    starts: np.ndarray
    ends: np.ndarray
    blocks: list[np.ndarray]
    freq: np.ndarray | None = None

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({
            "CHR": self.chrom, "block": np.arange(len(self.starts), dtype=np.int64),
            "start": self.starts.astype(np.int64), "end": self.ends.astype(np.int64),
            "n_snps": (self.ends - self.starts).astype(np.int64),
            "pos_start": self.pos[self.starts].astype(np.int64), "pos_end": self.pos[self.ends - 1].astype(np.int64),
        })


def write_block_ld(path: Path | str, data: BlockLD, provenance: Provenance | None = None) -> Path:
    arrays = {"chrom": np.array(data.chrom), "snp": data.snp.astype(str), "pos": data.pos.astype(np.int64),
              "starts": data.starts.astype(np.int64), "ends": data.ends.astype(np.int64)}
    if data.a1 is not None and data.a2 is not None:
        arrays["a1"] = data.a1.astype(str)
        arrays["a2"] = data.a2.astype(str)
    if data.freq is not None:
        arrays["freq"] = data.freq.astype(np.float64)
    for b, blk in enumerate(data.blocks):
        arrays[f"r_{b}"] = blk.astype(np.float32)
    return write_npz(path, arrays, provenance)


def read_block_ld(path: Path | str) -> BlockLD:
    """Read a block NPZ written by ``write_block_ld`` and check that its blocks tile the SNP list."""
    arrays = read_npz(path, {"snp": ("U", 1), "starts": ("i", 1), "ends": ("i", 1)})
    starts, ends = arrays["starts"], arrays["ends"]
    n = len(arrays["snp"])
    if len(starts) == 0 or starts[0] != 0 or ends[-1] != n or np.any(starts[1:] != ends[:-1]):
        raise VarflowError(f"{path}: block ranges do not tile the {n} SNPs")
    blocks = []
    for b, (s, e) in enumerate(zip(starts, ends)):
        key = f"r_{b}"
        if key not in arrays or arrays[key].shape != (e - s, e - s):
            raise VarflowError(f"{path}: block {b} LD array '{key}' missing or not {e - s}x{e - s}")
        blocks.append(arrays[key])
    pos = arrays.get("pos", np.arange(1, n + 1, dtype=np.int64))
    freq = arrays.get("freq")
    if freq is not None and freq.shape != (n,):
        raise VarflowError(f"{path}: 'freq' holds {freq.size} values for {n} SNPs")
    return BlockLD(str(arrays.get("chrom", np.array("?"))), arrays["snp"], pos, arrays.get("a1"), arrays.get("a2"),
                   starts, ends, blocks, freq)
