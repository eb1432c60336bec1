"""A small built-in library of TF-like motifs and the two ways the simulator reads them.

Each motif is an IUPAC consensus string plus an activity weight (log-expression units per bound
instance; negative = repressor). The simulator uses the motifs in two ways:

- *exact matching* (:func:`count_matches`): a site is bound when every base is allowed by the
  consensus, on either strand. This is the mechanism behind expression: a variant is causal when it
  changes the number of bound sites inside a regulatory element.
- *PWM scoring* (:func:`pwm_delta_snv`): a log-odds matrix derived from the consensus gives a
  continuous score, the kind of signal a sequence model sees; it feeds the ``dl_*`` annotation columns.

The consensus strings follow published TF binding preferences in spirit; they are written here from
general knowledge, 8-13 bp long so that chance matches in random sequence stay rare (about one per
60 kb per motif for an 8-mer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np

BASES = "ACGT"
CODE = {b: i for i, b in enumerate(BASES)}  # base -> 0..3
IUPAC = {
    "A": "A", "C": "C", "G": "G", "T": "T", "R": "AG", "Y": "CT", "S": "CG", "W": "AT",
    "K": "GT", "M": "AC", "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}
_COMPLEMENT = str.maketrans("ACGTRYSWKMBDHVN", "TGCAYRSWMKVHDBN")


def revcomp(seq: str) -> str:
    """Reverse complement of a DNA string (IUPAC codes allowed)."""
    return seq.translate(_COMPLEMENT)[::-1]


@dataclass(frozen=True)
class Motif:
    """One TF-like motif: ``consensus`` (IUPAC) and ``weight`` (log-expression per bound site)."""

    name: str
    consensus: str
    weight: float

    def __len__(self) -> int:
        return len(self.consensus)

    @cached_property
    def allowed(self) -> np.ndarray:
        """Boolean (k, 4): base b allowed at motif position j (forward strand)."""
        mask = np.zeros((len(self.consensus), 4), dtype=bool)
        for j, symbol in enumerate(self.consensus):
            for base in IUPAC[symbol]:
                mask[j, CODE[base]] = True
        return mask

    @cached_property
    def pattern(self) -> re.Pattern:
        """Regex that finds overlapping exact matches on either strand (lookahead, alternation)."""
        def as_class(seq: str) -> str:
            return "".join(f"[{IUPAC[s]}]" if len(IUPAC[s]) > 1 else s for s in seq)

        fwd, rev = as_class(self.consensus), as_class(revcomp(self.consensus))
        # A palindromic motif matches once per site, not twice.
        return re.compile(f"(?=({fwd}))" if fwd == rev else f"(?=({fwd}|{rev}))")

    @cached_property
    def pwm(self) -> np.ndarray:
        """Log2-odds matrix (k, 4) against a uniform background: allowed bases share 0.9 of the mass."""
        allowed = self.allowed
        n_allowed = allowed.sum(axis=1, keepdims=True)
        prob = np.where(allowed, 0.9 / n_allowed, 0.1 / (4 - n_allowed).clip(min=1))
        prob = prob / prob.sum(axis=1, keepdims=True)
        return np.log2(prob / 0.25)

    @cached_property
    def fixed_positions(self) -> np.ndarray:
        """Indices of positions that allow exactly one base (any change there breaks the site)."""
        return np.flatnonzero(self.allowed.sum(axis=1) == 1)

    def sample_site(self, rng: np.random.Generator) -> np.ndarray:
        """A concrete bound site as base codes (k,), drawn uniformly from the allowed bases."""
        return np.array([rng.choice(np.flatnonzero(row)) for row in self.allowed], dtype=np.uint8)


MOTIFS: tuple[Motif, ...] = (
    Motif("AP1", "ATGASTCAT", 0.45),
    Motif("CREB", "TGACGTCA", 0.40),
    Motif("EBOX", "CCACGTGG", 0.35),
    Motif("SP1", "GGGGCGGGGC", 0.50),
    Motif("NFKB", "GGGRNTTTCC", 0.55),
    Motif("ETS", "ACCGGAAGTG", 0.40),
    Motif("GATA", "AGATAAGA", 0.30),
    Motif("NRF1", "GCGCATGCGC", 0.45),
    Motif("YY1", "AAGATGGCGGC", -0.35),
    Motif("REST", "TTCAGCACCATGG", -0.60),
    Motif("TATA", "TATAAAAG", 0.50),
)
MOTIF_BY_NAME = {m.name: m for m in MOTIFS}


def count_matches(seq: str, motifs: tuple[Motif, ...] = MOTIFS) -> np.ndarray:
    """Exact matches of each motif in ``seq`` on either strand, shape (len(motifs),) int64."""
    return np.array([sum(1 for _ in m.pattern.finditer(seq)) for m in motifs], dtype=np.int64)


def _best_window_scores(codes: np.ndarray, pwm: np.ndarray) -> np.ndarray:
    """Max PWM score over every offset of windows ``codes`` (n, 2k-1) that cover the centre, shape (n,).

    Codes outside 0..3 (N) score 0 at that position.
    """
    k = pwm.shape[0]
    n = codes.shape[0]
    safe = np.where(codes < 4, codes, 0)
    valid = codes < 4
    best = np.full(n, -np.inf)
    for offset in range(k):  # k offsets; each is one vectorised gather over all variants
        window = safe[:, offset:offset + k]
        score = np.where(valid[:, offset:offset + k], pwm[np.arange(k), window], 0.0).sum(axis=1)
        best = np.maximum(best, score)
    return best


def pwm_delta_snv(ref_windows: np.ndarray, alt_codes: np.ndarray,
                  motifs: tuple[Motif, ...] = MOTIFS) -> np.ndarray:
    """Change in best PWM score (alt - ref), both strands, for SNVs at the centre of their windows.

    ``ref_windows``: (n, 2K-1) uint8 base codes centred on each SNV, K = the longest motif;
    ``alt_codes``: (n,) alt base codes. Returns (n, len(motifs)) float64 in log2-odds units.
    """
    kmax = (ref_windows.shape[1] + 1) // 2
    centre = kmax - 1
    alt_windows = ref_windows.copy()
    alt_windows[:, centre] = alt_codes
    out = np.zeros((ref_windows.shape[0], len(motifs)))
    for i, motif in enumerate(motifs):
        k = len(motif)
        lo, hi = centre - (k - 1), centre + k  # the 2k-1 bases whose k-windows cover the centre
        for pwm in (motif.pwm, motif.pwm[::-1, ::-1]):  # forward and reverse-complement strands
            ref = _best_window_scores(ref_windows[:, lo:hi], pwm)
            alt = _best_window_scores(alt_windows[:, lo:hi], pwm)
            # Keep the strand with the larger change; the 1e-9 makes exact ties (palindromes) keep the
            # forward strand whatever the floating-point summation order.
            delta = alt - ref
            out[:, i] = np.where(np.abs(delta) > np.abs(out[:, i]) + 1e-9, delta, out[:, i])
    return out
