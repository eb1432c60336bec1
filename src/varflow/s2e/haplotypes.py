"""Vectorised construction of one haplotype's window sequence and its one-hot encoding.

Policy (documented in docs/s2e.md, tested against a naive string-splicing construction):

* A gene's window has length ``L`` and holds the TSS at output index ``L // 2`` after orientation:
  on the + strand it covers genomic ``[tss - L//2, tss - L//2 + L)``; on the - strand it covers
  ``[tss - (L - 1 - L//2), tss + L//2 + 1)`` and is reverse-complemented.
* Variants whose REF span overlaps that genomic window are applied to a haplotype that carries the
  alt allele; variants outside it are not (sequence pulled into the window is reference sequence).
* The haplotype is anchored at the TSS: insertions push sequence out of both window ends, deletions
  pull reference sequence in from beyond the window ends (never padding). The anchor is the
  haplotype base that the reference TSS maps to; a TSS inside an applied variant's REF span maps to
  ``alt_start + min(tss - var_start, len(alt))``.
* Overlapping alt alleles on one haplotype are resolved greedily in (position, file order): an alt
  allele whose REF span starts before the end of the last applied one is skipped.
* Beyond a chromosome end the sequence is 'N' (one-hot 0.25 in every channel).

Sequences are handled as uint8 ASCII codes; the one-hot layout is (L, 4) float32 with channels
A, C, G, T (channels-last; models transpose). A window is described as block copies from its gene's
buffer (``Copies``), so the same copies build uint8 codes from the buffer or one-hot rows from the
buffer's one-hot table: a batch one-hot encodes each gene's buffer once and every haplotype of that
gene is a few memory copies, never a per-haplotype encoding pass.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

BASES = b"ACGT"

#: (256, 4) float32 lookup: ASCII code -> one-hot row; anything but A/C/G/T (N, IUPAC) -> 0.25 each.
ONEHOT_LUT = np.full((256, 4), 0.25, dtype=np.float32)
for _i, _b in enumerate(BASES):
    ONEHOT_LUT[_b] = 0.0
    ONEHOT_LUT[_b, _i] = 1.0
    ONEHOT_LUT[ord(chr(_b).lower())] = ONEHOT_LUT[_b]

#: (256,) uint8 lookup: ASCII code -> complementary base code (N and others map to N).
COMPLEMENT_LUT = np.full(256, ord("N"), dtype=np.uint8)
for _a, _b in zip(b"ACGTacgt", b"TGCATGCA"):
    COMPLEMENT_LUT[_a] = _b


def onehot(codes: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """One-hot of ``codes`` (L,) uint8 ASCII -> (L, 4) float32 (A, C, G, T; N = 0.25 each)."""
    # mode="clip" (a no-op for uint8 codes into a 256-row table) lets numpy write into ``out``
    # directly; the default mode="raise" buffers the whole result first.
    return ONEHOT_LUT.take(codes, axis=0, out=out, mode="clip")


def reverse_complement(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of (L,) uint8 ASCII codes."""
    return COMPLEMENT_LUT.take(codes[::-1])


def left_offset(window: int, minus_strand: bool) -> int:
    """Number of window bases left (genomic) of the TSS, so that the TSS lands at index window // 2."""
    return window - 1 - window // 2 if minus_strand else window // 2


def resolve_overlaps(start: np.ndarray, rlen: np.ndarray) -> np.ndarray:
    """Greedy overlap resolution among one haplotype's alt alleles.

    ``start`` (k,) REF starts sorted in (position, file order), ``rlen`` (k,) REF lengths.
    Returns a (k,) bool mask of the alleles applied: an allele starting before the end of the last
    applied allele is skipped.
    """
    k = start.shape[0]
    if k < 2:
        return np.ones(k, dtype=bool)
    end = start + rlen
    # Fast path: no allele starts before the running maximum end of all earlier ones.
    if np.all(start[1:] >= np.maximum.accumulate(end)[:-1]):
        return np.ones(k, dtype=bool)
    keep = np.zeros(k, dtype=bool)
    last_end = np.iinfo(np.int64).min
    for i in range(k):
        if start[i] >= last_end:
            keep[i] = True
            last_end = end[i]
    return keep


class Copies(NamedTuple):
    """A window as block copies ``out[dst:dst+n] = table[src:src+n]`` from a gene's buffer (or any
    per-buffer-position table of the same length: uint8 codes, (B, 4) one-hot rows).

    ``dst``, ``src``, ``n``: (P,) int64. The first ``n_bulk`` copies are disjoint and tile the whole
    window; the rest (same-length alleles: SNVs, MNVs) overwrite single positions or short runs.
    """

    dst: np.ndarray
    src: np.ndarray
    n: np.ndarray
    n_bulk: int


def haplotype_copies(ref_len: int, tss: int, offset: int, window: int, start: np.ndarray, rlen: np.ndarray,
                     alt_off: np.ndarray, alt_len: np.ndarray) -> Copies:
    """Block copies that build one haplotype's window in genomic orientation from its gene's buffer.

    The buffer's first ``ref_len`` positions are the reference over an extended region that covers
    the window, every applied variant and enough sequence to fill net deletions; alt alleles live
    after it. ``tss``: TSS index in the extended region; ``offset``: window bases left of the TSS.
    ``start``, ``rlen``, ``alt_off``, ``alt_len``: (k,) int64 arrays of the *applied*, non-overlapping
    alt alleles sorted by start (REF start relative to the extended region, REF length, offset of
    the alt bases in the buffer and their count). No allele applied: pass empty arrays.

    Length-changing alleles are spliced as pieces; same-length alleles are then written in place at
    their shifted positions, which keeps the piece count small.
    """
    same = rlen == alt_len
    indel = ~same
    s_i, r_i, o_i, l_i = start[indel], rlen[indel], alt_off[indel], alt_len[indel]
    delta = l_i - r_i
    shift_before = np.concatenate(([0], np.cumsum(delta)))  # net length change before indel i
    covering = np.flatnonzero((s_i <= tss) & (tss < s_i + r_i))
    if covering.size:
        i = int(covering[0])
        anchor = int(s_i[i] + shift_before[i] + min(tss - s_i[i], l_i[i]))
    else:
        anchor = int(tss + delta[s_i + r_i <= tss].sum())
    lo = anchor - offset
    hi = lo + window
    if s_i.shape[0] == 0:
        dst, src, n = np.zeros(1, np.int64), np.array([lo], np.int64), np.array([window], np.int64)
    else:
        # Pieces in haplotype order: ref[0:s1], alt1, ref[s1+r1:s2], alt2, ..., ref[sk+rk:ref_len];
        # only those meeting [lo, hi) are kept, the first and last clipped to the window.
        k = s_i.shape[0]
        piece_src = np.empty(2 * k + 1, dtype=np.int64)
        length = np.empty(2 * k + 1, dtype=np.int64)
        piece_src[0::2] = np.concatenate(([0], s_i + r_i))
        length[0::2] = np.concatenate((s_i, [ref_len])) - piece_src[0::2]
        piece_src[1::2], length[1::2] = o_i, l_i
        hap_start = np.concatenate(([0], np.cumsum(length)[:-1]))
        first = int(np.searchsorted(hap_start, lo, side="right")) - 1
        last = int(np.searchsorted(hap_start, hi, side="left"))
        h0, h1 = hap_start[first:last], hap_start[first:last] + length[first:last]
        c0, c1 = np.maximum(h0, lo), np.minimum(h1, hi)
        keep = c1 > c0
        dst, src, n = (c0 - lo)[keep], (piece_src[first:last] + c0 - h0)[keep], (c1 - c0)[keep]
    n_bulk = int(dst.shape[0])
    if same.any():
        s_s, o_s, n_s = start[same], alt_off[same], alt_len[same]
        # haplotype position = REF position + net change of the indels before it (none overlap it)
        p = s_s + shift_before[np.searchsorted(s_i, s_s, side="left")] - lo
        a, b = np.maximum(p, 0), np.minimum(p + n_s, window)
        keep = b > a
        dst = np.concatenate((dst, a[keep]))
        src = np.concatenate((src, (o_s + a - p)[keep]))
        n = np.concatenate((n, (b - a)[keep]))
    return Copies(dst, src, n, n_bulk)


def reverse_copies(copies: Copies, window: int, table_len: int) -> Copies:
    """The same copies for the reverse-complemented window, reading a table that is itself reversed
    and complemented (``table_rc[k] = complement(table[table_len - 1 - k])``)."""
    return Copies(window - copies.dst - copies.n, table_len - copies.src - copies.n, copies.n, copies.n_bulk)


def apply_copies(table: np.ndarray, copies: Copies, out: np.ndarray) -> np.ndarray:
    """Fill ``out`` ((window,) or (window, 4)) from ``table`` ((B,) or (B, 4)) and return it."""
    dst, src, n, bulk = copies
    for d, s, k in zip(dst[:bulk].tolist(), src[:bulk].tolist(), n[:bulk].tolist()):
        out[d:d + k] = table[s:s + k]
    over_dst, over_src, over_n = dst[bulk:], src[bulk:], n[bulk:]
    single = over_n == 1
    out[over_dst[single]] = table[over_src[single]]
    for d, s, k in zip(over_dst[~single].tolist(), over_src[~single].tolist(), over_n[~single].tolist()):
        out[d:d + k] = table[s:s + k]
    return out
