"""LD blocks: the published breakpoint count, even blocks from the slot rule, local-search optimality of
every cut, and what the rules trade on simulated chromosome LD."""

from __future__ import annotations

import numpy as np
import pytest

from varflow.shrink.ldblocks import find_blocks, ld_profiles


@pytest.fixture(scope="module")
def msprime_chromosome():
    """msprime LD (hotspot recombination map) of 2,400 SNPs over 10 Mb, 400 diploids."""
    from varflow.shrink.simulate_training import msprime_ld

    r, _, _ = msprime_ld(2400, 400, 5, length_mb=10.0)
    return r


def _between_block_fraction(r: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> float:
    """Share of the off-diagonal r^2 mass that falls between blocks (what the block approximation drops)."""
    sq = np.square(r, dtype=np.float64)
    total = (sq.sum() - len(r)) / 2
    within = sum((sq[s:e, s:e].sum() - (e - s)) / 2 for s, e in zip(starts, ends))
    return float((total - within) / total)


def test_published_breakpoint_count(msprime_chromosome):
    """floor(J / avg) + 1 breakpoints: J = 2,400 at avg 300 gives 9 cuts and 10 blocks, tiling 0..J."""
    r = msprime_chromosome
    for avg, blocks in ((300, 10), (1000, 4), (5000, 2)):
        for rule in ("slots", "deepest"):
            starts, ends = find_blocks(r, avg_block=avg, rule=rule)
            assert len(starts) == blocks, (avg, rule)
            assert starts[0] == 0 and ends[-1] == len(r) and np.all(starts[1:] == ends[:-1])
    starts, ends = find_blocks(r[:3, :3], avg_block=300)
    assert list(starts) == [0] and list(ends) == [3]  # too few SNPs for two blocks of >= 2


def test_slot_rule_gives_even_blocks_with_less_ld_between_than_even_cuts(msprime_chromosome):
    """At avg 300 (s = 240 SNPs per slot) every slot-rule block lies within [s/4, 13s/6] (window s/3
    plus local search s/4), the spread is below the deepest-minima rule's, and the cuts drop less LD
    between blocks than evenly spaced cuts do."""
    r = msprime_chromosome
    starts, ends = find_blocks(r, avg_block=300, rule="slots")
    sizes = ends - starts
    s = len(r) / 10
    assert sizes.min() >= s / 4 and sizes.max() <= 13 * s / 6, sizes
    d_starts, d_ends = find_blocks(r, avg_block=300, rule="deepest")
    assert sizes.max() / sizes.min() < (d_ends - d_starts).max() / (d_ends - d_starts).min()
    even = np.linspace(0, len(r), 11).round().astype(np.int64)
    assert _between_block_fraction(r, starts, ends) < _between_block_fraction(r, even[:-1], even[1:])


def test_local_search_moves_each_cut_to_least_crossing_ld_within_reach(msprime_chromosome):
    """Each final cut lies within s/4 of the breakpoint the smoothed profile chose and has the least LD
    crossing of the positions there that keep blocks >= s/4 (the left neighbour as already moved)."""
    from varflow.shrink.ldblocks import WINDOW, _deepest_cuts, _slot_cuts

    r = msprime_chromosome
    n, slot = len(r), len(r) / 10
    antidiag, crossing = ld_profiles(r)
    profile = np.concatenate([[np.inf], antidiag[1::2]])
    reach = int(slot // 4)
    for rule, chosen in (("slots", _slot_cuts(profile, n, 9, slot, WINDOW, 200)),
                         ("deepest", _deepest_cuts(profile, n, 9, slot, 200))):
        starts, _ = find_blocks(r, avg_block=300, rule=rule)
        final = [0, *starts[1:].tolist(), n]
        moved = 0
        for k, c in enumerate(sorted(chosen), start=1):
            right = sorted(chosen)[k] if k < len(chosen) else n
            lo, hi = max(c - reach, final[k - 1] + reach, 1), min(c + reach, right - reach, n - 1)
            assert lo <= final[k] <= hi, (rule, k)
            assert crossing[final[k]] == crossing[lo:hi + 1].min(), (rule, k)
            moved += final[k] != c
        assert moved > 0  # the search does something on real LD


def test_unknown_rule_is_an_error(msprime_chromosome):
    with pytest.raises(ValueError, match="rule must be one of slots, deepest"):
        find_blocks(msprime_chromosome, rule="even")
