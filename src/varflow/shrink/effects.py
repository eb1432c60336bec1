"""Shrunk effect sizes of one trait on one chromosome: ensemble mean (default) or elastic net."""

from __future__ import annotations

import numpy as np
import pandas as pd

from varflow.shrink.features import compute_features
from varflow.shrink.inputs import LDPanel, Matched, match_to_ld
from varflow.shrink.ldblocks import BlockLD
from varflow.shrink.model import Ensemble
from varflow.shrink.posterior import shrink_blocks

METHODS = ("nn", "enet")


def matched_blocks(block_ld: BlockLD, matched: Matched) -> tuple[list[np.ndarray], np.ndarray]:
    """LD blocks restricted to the matched SNPs: list of (m_b, m_b) matrices and each matched SNP's
    block index (M,). Matched SNPs are in LD order, so the blocks stay in order."""
    block_of = np.searchsorted(block_ld.ends, matched.ld_index, side="right")
    blocks = []
    for b, (s, blk) in enumerate(zip(block_ld.starts, block_ld.blocks)):
        local = matched.ld_index[block_of == b] - s
        blocks.append(blk[np.ix_(local, local)])
    return blocks, block_of.astype(np.int64)


def shrink_effects(sumstats: pd.DataFrame, block_ld: BlockLD, method: str = "nn", ensemble: Ensemble | None = None,
                   seed: int = 0, where: str = "sumstats", trait: str = "trait"
                   ) -> tuple[pd.DataFrame, dict]:
    """Match ``sumstats`` to the chromosome's LD SNPs and shrink their effects.

    Returns the effects table (schema shrink_effects, SNPs in LD order) and the matching counts.
    ``nn``: features of all SNPs of all blocks, one batched ensemble prediction of their prior
    variances, then per block one EM refinement of those and the posterior mean (z units) times each
    SNP's SE (PRIOR_VAR = the refined prior variances); ``enet``: per block.
    """
    panel = LDPanel(np.empty((0, 0), np.float32), block_ld.snp, block_ld.pos, block_ld.a1, block_ld.a2,
                    where + " vs LD", block_ld.freq)
    matched = match_to_ld(sumstats, panel, block_ld.chrom, where=where)
    blocks, block_of = matched_blocks(block_ld, matched)
    prior_var = None
    if method == "nn":
        if ensemble is None:
            ensemble = Ensemble.load(None)
        z = matched.beta / matched.se
        zeta, prior_var = shrink_blocks(z, blocks, ensemble.prior_variance(compute_features(z, blocks, ensemble.top_r)))
        shrunk = zeta * matched.se
    elif method == "enet":
        from varflow.shrink.enet import enet_effects  # scikit-learn loads only for the baseline

        shrunk = enet_effects(matched.beta, blocks, seed=seed)
    else:
        raise ValueError(f"method must be one of {METHODS}")
    li = matched.ld_index
    a1 = block_ld.a1[li] if block_ld.a1 is not None else sumstats.set_index("SNP").reindex(block_ld.snp[li])["A1"]
    a2 = block_ld.a2[li] if block_ld.a2 is not None else sumstats.set_index("SNP").reindex(block_ld.snp[li])["A2"]
    columns = {} if prior_var is None else {"PRIOR_VAR": prior_var}
    table = pd.DataFrame({
        "TRAIT": trait, "CHR": block_ld.chrom, "SNP": block_ld.snp[li].astype(str), "POS": block_ld.pos[li].astype(np.int64),
        "A1": np.asarray(a1, dtype=str), "A2": np.asarray(a2, dtype=str),
        "BETA": matched.beta, "SE": matched.se, "BETA_SHRUNK": shrunk.astype(np.float64),
        "block": block_of, "ld_index": li.astype(np.int64), **columns,
    })
    return table, matched.counts
