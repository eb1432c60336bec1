"""Shrinkage correctness on the simulator's GWAS: over 5 seeds the shipped ensemble's shrunk effects
correlate better with the true effects than raw beta_hat and than the elastic-net baseline.

Seed 0 is the tiny cohort's own GWAS. Seeds 1-4 keep the cohort's LD (in-sample LD of the written
genotypes) and its GWAS design (N, h2, causal fraction, shared/specific patterns from the simulator's
own ``effect_patterns``) and redraw effects and noise: beta_hat ~ N(R beta, R (1 - h2) / N), which is the
exact sampling distribution of the simulator's marginal regression on standardised genotypes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from varflow.io.arrays import read_npz
from varflow.io.tables import read_table
from varflow.shrink.effects import shrink_effects
from varflow.shrink.ldblocks import BlockLD, find_blocks, split_blocks
from varflow.shrink.model import Ensemble
from varflow.shrink.simulate_training import ld_factor


@pytest.fixture(scope="module")
def cohort_ld(tiny_cohort):
    out = {}
    for chrom, path in tiny_cohort.group("ld").items():
        a = read_npz(path)
        # ~300-SNP blocks keep the elastic-net baseline to seconds per replicate
        starts, ends = find_blocks(a["r"], avg_block=300)
        blocks = split_blocks(a["r"], starts, ends)
        out[chrom] = (BlockLD(chrom, a["snp"], a["pos"], a["a1"], a["a2"], starts, ends, blocks),
                      [ld_factor(b) for b in blocks])
    return out


def _replicate(tiny_cohort, cohort_ld, seed: int, trait: str) -> tuple[pd.DataFrame, pd.Series]:
    """(sumstats, true beta by SNP) for one replicate."""
    if seed == 0:
        ss = read_table(tiny_cohort.path("sumstats", trait), "sumstats")
        truth = read_table(tiny_cohort.path("gwas_truth"), "gwas_truth").set_index("SNP")[f"beta_{trait}"]
        return ss, truth
    from varflow.simulate.gwas import GwasConfig, effect_patterns

    info = tiny_cohort.info
    n = int(info["gwas_n"])
    config = GwasConfig(n_individuals=n, n_traits=len(info["traits"]))
    h2 = float(config.heritabilities()[0])
    chroms = list(cohort_ld)
    sizes = [len(cohort_ld[c][0].snp) for c in chroms]
    beta_all, _ = effect_patterns(config, int(sum(sizes)), seed)
    k = sorted(info["traits"]).index(trait)
    beta = beta_all[:, k]
    rng = np.random.default_rng([seed, k])
    rows, truth = [], {}
    offset = 0
    genetic = 0.0
    for c, size in zip(chroms, sizes):
        bl = cohort_ld[c][0]
        b = beta[offset:offset + size]
        genetic += sum(float(b[s:e] @ blk @ b[s:e]) for s, e, blk in zip(bl.starts, bl.ends, bl.blocks))
        offset += size
    scale = np.sqrt(h2 / genetic)
    offset = 0
    for c, size in zip(chroms, sizes):
        bl = cohort_ld[c][0]
        b = beta[offset:offset + size] * scale
        offset += size
        bhat = np.empty(size)
        for s, e, blk in zip(bl.starts, bl.ends, bl.blocks):
            bhat[s:e] = blk @ b[s:e] + ld_factor(blk) @ rng.standard_normal(e - s) * np.sqrt((1 - h2) / n)
        rows.append(pd.DataFrame({"CHR": c, "SNP": bl.snp, "POS": bl.pos, "A1": bl.a1, "A2": bl.a2, "BETA": bhat,
                                  "SE": np.sqrt((1 - bhat ** 2) / (n - 2))}))
        truth.update(zip(bl.snp, b))
    return pd.concat(rows, ignore_index=True), pd.Series(truth)


def test_shrinkage_beats_raw_and_enet_over_five_seeds(tiny_cohort, cohort_ld):
    ensemble = Ensemble.load(None)
    scores = {"nn": [], "raw": [], "enet": []}
    for seed in range(5):
        for trait in ("trait1",) if seed % 2 == 0 else ("trait2",):
            ss, truth = _replicate(tiny_cohort, cohort_ld, seed, trait)
            for method in ("nn", "enet"):
                parts = [shrink_effects(ss, cohort_ld[c][0], method=method, ensemble=ensemble, seed=seed)[0]
                         for c in cohort_ld]
                eff = pd.concat(parts, ignore_index=True)
                b = truth.reindex(eff["SNP"]).to_numpy()
                scores[method].append(np.corrcoef(eff["BETA_SHRUNK"], b)[0, 1])
                if method == "nn":
                    scores["raw"].append(np.corrcoef(eff["BETA"], b)[0, 1])
    nn, raw, enet = (np.array(scores[k]) for k in ("nn", "raw", "enet"))
    print({k: np.round(v, 3).tolist() for k, v in scores.items()})
    assert nn.mean() > raw.mean() and nn.mean() > enet.mean(), scores
    assert (nn > raw).sum() >= len(nn) - 1, scores  # better than raw in (almost) every replicate
