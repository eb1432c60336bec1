"""A small built-in library of TF-like motifs and the two ways the simulator reads them.

Each motif is an IUPAC consensus string plus an activity weight (log-expression units per bound
instance; negative = repressor). The simulator uses the motifs in two ways:

- *exact matching* (:func:`count_matches`): a site is bound when every base is allowed by the
  consensus, on either strand. This is the mechanism behind expression: a variant is causal when it
  changes the number of bound sites inside a regulatory element.
- *PWM scoring* (:func:`best_site_scores`, :func:`occupancy`): a log-odds matrix derived from the
  consensus gives a continuous score and a soft "bound" probability, the kind of signal a sequence
  model sees; they feed the ``dl_*`` annotation columns.

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
    def max_score(self) -> float:
        """PWM score of a perfect site."""
        return float(self.pwm.max(axis=1).sum())

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


PAD = 5  # code for "no base here" in ragged batches; N (4) inside a sequence scores 0
OCCUPANCY_MARGIN = 2.5  # log2-odds below the perfect score at which a site is half bound


def best_site_scores(codes: np.ndarray, motif: Motif) -> np.ndarray:
    """Best PWM score of ``motif`` over every window of each row of ``codes`` (n, W), both strands, (n,).

    Codes 0..3 are bases, 4 (N) scores 0, PAD marks the unused tail of a shorter row (no window
    that touches it can win). Rows shorter than the motif score -inf.
    """
    k = len(motif)
    best = np.full(codes.shape[0], -np.inf)
    for pwm in (motif.pwm, motif.pwm[::-1, ::-1]):  # forward and reverse-complement strands
        table = np.concatenate([pwm, np.zeros((k, 1)), np.full((k, 1), -1e9)], axis=1)  # (k, 6)
        for offset in range(codes.shape[1] - k + 1):  # one vectorised gather over all rows per offset
            best = np.maximum(best, table[np.arange(k), codes[:, offset:offset + k]].sum(axis=1))
    return best


def occupancy(score: np.ndarray, motif: Motif) -> np.ndarray:
    """Soft bound probability of a site with PWM ``score``: logistic, half-bound at max - margin.

    A perfect site is ~0.92 bound; one mismatch at a fixed position (-4.75) drops it to ~0.1;
    typical chance sites in random sequence score far lower and stay near 0.
    """
    return 1.0 / (1.0 + np.exp(-(score - (motif.max_score - OCCUPANCY_MARGIN))))
