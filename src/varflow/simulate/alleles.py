"""Turn segregating sites into VCF alleles read from the reference: SNVs and short indels.

REF is always the reference base(s) at the site; each site becomes exactly one record, so VCF
positions are unique per chromosome. Indels are VCF-anchored on the site's own base:
a deletion of d bases has REF = seq[p : p+1+d], ALT = seq[p]; an insertion has REF = seq[p],
ALT = seq[p] + d random bases. Indels are kept away from regulatory elements and never span
another site, so no two records overlap and the planted motif mechanism stays SNV-driven.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from varflow.simulate.genome import codes_to_str
from varflow.simulate.motifs import BASES

_TRANSITION = np.array([2, 3, 0, 1], dtype=np.uint8)  # A<->G, C<->T


def assign_alleles(chrom: str, seq: np.ndarray, positions: np.ndarray, rng: np.random.Generator, *,
                   indel_fraction: float, element_mask: np.ndarray,
                   forced_alt: dict[int, int] | None = None) -> pd.DataFrame:
    """Alleles for every site ``positions`` (n,) 0-based on ``seq`` (L,) base codes.

    ``element_mask`` (L,) bool marks regulatory elements (no indels there, 20 bp padding).
    ``forced_alt`` maps a position to the ALT base code it must have (designed causal SNVs).
    Returns a DataFrame with one row per site in input order: chrom, pos (1-based), ref, alt,
    variant_id (``chrom:pos:ref:alt``), kind (snv | ins | del).
    """
    forced_alt = forced_alt or {}
    n = positions.size
    length = seq.size
    ref_base = seq[positions]
    # Transitions are about twice as common as transversions in human variation.
    transversion = (ref_base + rng.choice([1, 3], size=n)) % 4
    alt_base = np.where(rng.random(n) < 2 / 3, _TRANSITION[ref_base], transversion).astype(np.uint8)
    for pos, code in forced_alt.items():
        alt_base[np.searchsorted(positions, pos)] = code

    padded = np.convolve(element_mask.astype(np.int8), np.ones(41, dtype=np.int8), mode="same") > 0
    next_pos = np.append(positions[1:], length)
    forced = np.isin(positions, np.fromiter(forced_alt, dtype=np.int64, count=len(forced_alt)))
    eligible = ~padded[positions] & ~forced & (positions + 2 < length)
    is_indel = eligible & (rng.random(n) < indel_fraction)
    # Indel length 1-10 bp, short ones more common (weights 1/d).
    weights = 1.0 / np.arange(1, 11)
    size = rng.choice(np.arange(1, 11), size=n, p=weights / weights.sum())
    is_del = rng.random(n) < 0.5

    refs = [BASES[c] for c in ref_base]
    alts = [BASES[c] for c in alt_base]
    kinds = ["snv"] * n
    for i in np.flatnonzero(is_indel):
        p = int(positions[i])
        room = int(min(next_pos[i], length) - p - 1)  # bases after p that no other record touches
        if is_del[i] and room >= 1:
            d = int(min(size[i], room))
            refs[i] = codes_to_str(seq[p:p + 1 + d])
            alts[i] = refs[i][0]
            kinds[i] = "del"
        else:
            refs[i] = BASES[seq[p]]
            alts[i] = refs[i] + codes_to_str(rng.integers(0, 4, size=int(size[i])).astype(np.uint8))
            kinds[i] = "ins"
    pos1 = positions + 1
    ids = [f"{chrom}:{p}:{r}:{a}" for p, r, a in zip(pos1.tolist(), refs, alts)]
    return pd.DataFrame({"chrom": chrom, "pos": pos1.astype(np.int64), "ref": refs, "alt": alts,
                         "variant_id": ids, "kind": kinds})
