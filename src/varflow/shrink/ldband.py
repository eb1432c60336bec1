"""Banded LD: a chromosome's correlations between SNPs at most W apart (in SNP order), never the dense matrix.

``band`` (J, W+1) float32 holds band[i, k] = r(SNP i, SNP i+k) for k = 0..W (band[i, 0] = 1; entries past the
chromosome's end, i + k >= J, are 0). LD between SNPs more than W SNPs apart is taken as 0: at J = 90,000
SNPs the dense float32 matrix is 32 GB, the band at W = 2,500 is 0.9 GB. The band is computed streaming
over SNP chunks from standardised dosages (``band_from_standardised``), gives the same block profiles as
``ldblocks.ld_profiles`` of the dense matrix zeroed outside the band (``band_profiles``), and any square
submatrix on demand (``band_submatrix``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

ROW_CHUNK = 512  # band rows per step of the streaming computation
PROFILE_ROWS = 128  # band rows per step of band_profiles (its temporaries are ~6 of these (rows, W+1) arrays)


def standardise(dosage: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardised dosages as ``ld_from_dosage`` uses them.

    ``dosage`` (n, c) allele counts, NaN = missing. Missing calls are mean-imputed per SNP, then each SNP
    is centred and scaled to unit (population, ddof 0) variance, so r = z_i . z_j / n. Returns ``z``
    (n, c) float64 (a monomorphic SNP's column is 0, so its r with any other SNP is 0), ``freq`` (c,)
    float64 counted-allele frequency (mean / 2; NaN for an all-missing SNP) and ``sd`` (c,) float64
    dosage standard deviation (0 for monomorphic or all-missing SNPs).
    """
    z = np.array(dosage, dtype=np.float64)  # the only (n, c) float64 array: the rest is done in place
    missing = np.isnan(z)
    n_called = z.shape[0] - missing.sum(axis=0)
    z[missing] = 0.0
    mean = np.where(n_called > 0, z.sum(axis=0) / np.maximum(n_called, 1), np.nan)
    z -= np.nan_to_num(mean)
    z[missing] = 0.0  # an imputed call sits at the mean
    sd = np.sqrt(np.einsum("ij,ij->j", z, z) / max(z.shape[0], 1))
    sd[sd < 1e-12] = 0.0  # constant columns: rounding, not variation
    z /= np.where(sd > 0, sd, 1.0)
    return z, mean / 2, sd


class _GrowingRows:
    """A (capacity, W+1) float32 array filled row-block by row-block, doubled when full.

    Rows are zero-initialised lazily by the OS (np.zeros), so a generous first capacity costs no
    resident memory until written."""

    def __init__(self, width: int, capacity: int):
        self.rows = np.zeros((max(capacity, 1), width + 1), dtype=np.float32)
        self.filled = 0

    def append(self, block: np.ndarray) -> None:
        need = self.filled + len(block)
        if need > len(self.rows):
            grown = np.zeros((max(need, 2 * len(self.rows)), self.rows.shape[1]), dtype=np.float32)
            grown[:self.filled] = self.rows[:self.filled]
            self.rows = grown
        self.rows[self.filled:need] = block
        self.filled = need

    def result(self) -> np.ndarray:
        return self.rows[:self.filled]


def band_from_standardised(chunks: Iterable[np.ndarray], width: int, capacity: int = 1 << 16,
                           row_chunk: int = ROW_CHUNK) -> np.ndarray:
    """The LD band (J, width+1) float32 of a stream of standardised dosage chunks (``standardise``).

    ``chunks`` yields (n, c_t) float64 arrays whose columns are consecutive SNPs (any c_t >= 0); J is
    their total. A sliding buffer holds the standardised columns of at most row_chunk + width + one
    chunk SNPs: memory O(n (width + row_chunk + c_t)) plus the band, never J x J. Each step multiplies
    ``row_chunk`` rows against the next row_chunk + width columns (float64) and keeps the band's
    diagonals; the diagonal is set to 1 and values clipped to [-1, 1], as ``ld_from_dosage`` does.
    ``capacity``: expected J (rows are allocated lazily; the array grows past it when needed).
    """
    out = _GrowingRows(width, capacity)
    buffer: np.ndarray | None = None  # standardised columns of SNPs out.filled .. out.filled + buffer width
    stream: Iterator[np.ndarray] = iter(chunks)
    exhausted = False
    while True:
        while not exhausted and (buffer is None or buffer.shape[1] < row_chunk + width):
            nxt = next(stream, None)
            if nxt is None:
                exhausted = True
            elif nxt.shape[1]:
                buffer = nxt if buffer is None else np.concatenate([buffer, nxt], axis=1)
        if buffer is None or buffer.shape[1] == 0:
            return out.result()
        rows = min(row_chunk, buffer.shape[1])
        cols = min(buffer.shape[1], rows + width)
        gram = np.zeros((rows, rows + width), dtype=np.float64)  # columns past the chromosome's end stay 0
        np.matmul(buffer[:, :rows].T, buffer[:, :cols], out=gram[:, :cols])
        gram /= buffer.shape[0]
        # band[i, k] = gram[i, i + k]: a strided view over the rows, shifted by one element per row
        diagonals = np.lib.stride_tricks.as_strided(gram, shape=(rows, width + 1),
                                                    strides=(gram.strides[0] + gram.strides[1], gram.strides[1]))
        block = diagonals.astype(np.float32)
        np.clip(block, -1.0, 1.0, out=block)
        block[:, 0] = 1.0
        out.append(block)
        buffer = buffer[:, rows:]


def band_from_dense(r: np.ndarray, width: int) -> np.ndarray:
    """The band (J, width+1) float32 of a dense (J, J) matrix: band[i, k] = r[i, i+k], 0 past the end."""
    n = r.shape[0]
    band = np.zeros((n, width + 1), dtype=np.float32)
    for k in range(min(width, n - 1) + 1):
        band[:n - k, k] = np.diagonal(r, k)
    return band


def dense_from_band(band: np.ndarray) -> np.ndarray:
    """The symmetric (J, J) float32 matrix that equals the band within it and is 0 outside (tests, small J)."""
    return band_submatrix(band, np.arange(band.shape[0]))


def band_submatrix(band: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """LD among SNPs ``idx`` (m,) int (any order, repeats allowed) as an (m, m) float32 matrix:
    r[idx[a], idx[b]] from the band, 0 where the two SNPs are more than W = band.shape[1] - 1 apart."""
    idx = np.asarray(idx, dtype=np.int64)
    width = band.shape[1] - 1
    lo = np.minimum(idx[:, None], idx[None, :])
    gap = np.abs(idx[:, None] - idx[None, :])
    inside = gap <= width
    return np.where(inside, band[lo, np.minimum(gap, width)], np.float32(0.0)).astype(np.float32, copy=False)


def band_block(band: np.ndarray, start: int, end: int) -> np.ndarray:
    """The (m, m) float32 LD of the contiguous SNPs [start, end); exact when m <= W + 1."""
    return band_submatrix(band, np.arange(start, end))


def band_profiles(band: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``ldblocks.ld_profiles`` of the dense matrix that equals ``band`` (J, W+1) within it and is 0 outside.

    Returns ``antidiag`` (2J-1,) with antidiag[s] = sum_{i+j=s} r_ij^2 over ordered pairs (the pair
    (i, i+k), k >= 1, adds 2 r^2 to s = 2i + k; the diagonal adds 1 to s = 2i) and ``crossing`` (J+1,)
    with crossing[m] = sum_{i<m<=j} r_ij^2 (a pair (i, i+k) crosses the cuts m = i+1 .. i+k). Squares
    are taken in float32 and summed in float64, as ld_profiles does; memory a few (PROFILE_ROWS, W+1) chunks.
    """
    n, w1 = band.shape
    k = np.arange(w1)
    weight = np.where(k == 0, 1.0, 2.0)
    antidiag = np.zeros(2 * n - 1, dtype=np.float64)
    delta = np.zeros(n + 2, dtype=np.float64)  # crossing = cumsum(delta): +r^2 at i+1, -r^2 at i+k+1
    for lo in range(0, n, PROFILE_ROWS):
        sq = np.square(band[lo:lo + PROFILE_ROWS], dtype=np.float32).astype(np.float64)
        rows = sq.shape[0]
        s = 2 * np.arange(rows)[:, None] + k[None, :]  # anti-diagonal, offset by 2 lo
        hits = np.bincount(s.ravel(), weights=(sq * weight).ravel(), minlength=2 * rows + w1)
        top = min(len(hits), 2 * n - 1 - 2 * lo)
        antidiag[2 * lo:2 * lo + top] += hits[:top]
        off = sq[:, 1:]
        delta[lo + 1:lo + 1 + rows] += off.sum(axis=1)
        end = np.minimum(lo + np.arange(rows)[:, None] + k[None, 1:] + 1, n + 1)  # past-the-end pairs are 0
        delta[:n + 1] -= np.bincount(end.ravel(), weights=off.ravel(), minlength=n + 1)[:n + 1]
    crossing = np.cumsum(delta[:n + 1])
    crossing[0] = crossing[-1] = 0.0
    return antidiag, np.maximum(crossing, 0.0)
