"""The example's stand-in intervals and matching summary, on hand-made inputs (no download)."""

from __future__ import annotations

import pandas as pd

from varflow.shrink.example import Reached, window_bed


def test_windows_tile_the_snp_span_and_skip_empty_ones():
    """1-based positions 1 and 100,000 lie in the 0-based window [0, 100000), 100,001 in the next;
    [200000, 300000) holds no SNP and is left out."""
    bed = window_bed([1, 100_000, 100_001, 350_000], "chr22", width=100_000)
    want = pd.DataFrame({"chrom": "chr22", "start": [0, 100_000, 300_000], "end": [100_000, 200_000, 400_000],
                         "name": ["win_0_100000", "win_100000_200000", "win_300000_400000"]})
    pd.testing.assert_frame_equal(bed, want, check_dtype=False)


def test_reached_counts_the_panel_snps_that_reach_the_shrinkage():
    reached = Reached({"sumstats": 200, "not_in_ld": 10, "matched": 180, "flipped": 50, "by_frequency": 4,
                       "ambiguous": 9, "mismatched": 1})
    assert reached.in_panel == 190 and reached.fraction == 180 / 190
    assert reached.line().startswith("matching: 200 sumstats SNPs on chr22, 190 in the panel, 180 reach the "
                                     "shrinkage (94.7%): 50 with alleles flipped, 4 A/T or C/G oriented by "
                                     "allele frequency, 9 strand-ambiguous dropped")
