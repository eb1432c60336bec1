"""Contract of modules/local/shrink_train: a 2-net ensemble trained for a few epochs on chr1's blocks."""

from __future__ import annotations

from pathlib import Path

from varflow.shrink.model import Ensemble

import shrink_common as common


def stage(workdir: Path, tiny_cohort) -> dict:
    blocks = common.ld_blocks(workdir, tiny_cohort)
    return {"inputs": {"meta": {"id": "tiny"}, "block_ld": [blocks.name]},
            "ext": {"args": "--no-reference-1000g --msprime-segments 0 --n-models 2 --n-reps 3 --epochs 2 "
                                "--n-gwas 500 --h2 0.3 --p-causal 0.05 --s 0 --snp-fraction 1 --device cpu"}}


def check(workdir: Path, outputs: dict) -> None:
    (model,) = outputs["model"]
    assert Ensemble.load(model).n_models == 2
