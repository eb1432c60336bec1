"""Contract of modules/local/shrink_train: a 2-net ensemble trained for a few epochs on chr1's blocks."""

from __future__ import annotations

from pathlib import Path

from varflow.shrink.model import Ensemble

import shrink_common as common


def stage(workdir: Path, tiny_cohort) -> dict:
    blocks = common.ld_blocks(workdir, tiny_cohort)
    return {"inputs": {"meta": {"id": "tiny"}, "block_ld": [blocks.name]},
            "ext": {"args": "--n-models 2 --n-reps 1 --max-epochs 2 --n-gwas 500 --device cpu"}}


def check(workdir: Path, outputs: dict) -> None:
    (model,) = outputs["model"]
    assert Ensemble.load(model).n_models == 2
