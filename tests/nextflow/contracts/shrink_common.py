"""Shared staging for the shrink module contracts: tiny-cohort inputs made with the step functions."""

from __future__ import annotations

import shutil
from pathlib import Path

from varflow.shrink import steps


def ld_blocks(workdir: Path, tiny_cohort, chrom: str = "chr1") -> Path:
    out = workdir / f"{chrom}.blocks.npz"
    steps.ld_blocks_step(tiny_cohort.path("ld", chrom), chrom, workdir / f"{chrom}.blocks.parquet", out, avg_block=300)
    return out


def effects(workdir: Path, tiny_cohort, trait: str = "trait1", chrom: str = "chr1") -> Path:
    blocks = ld_blocks(workdir / "_blocks", tiny_cohort, chrom)
    out = workdir / f"{trait}.{chrom}.effects.parquet"
    steps.effects_step(tiny_cohort.path("sumstats", trait), blocks, out, trait=trait)
    shutil.rmtree(workdir / "_blocks")
    return out


def cluster(workdir: Path, effect_files: list[Path], name: str) -> tuple[Path, Path]:
    out, model = workdir / f"{name}.clusters.parquet", workdir / f"{name}.model.json"
    steps.cluster_step(effect_files, out, model, n_restarts=3, seed=0)
    return out, model


def genes(workdir: Path, tiny_cohort) -> Path:
    shutil.copy(tiny_cohort.path("gwas_genes"), workdir / "genes.parquet")
    return workdir / "genes.parquet"


def text_ld(workdir: Path, tiny_cohort, chrom: str = "chr1") -> tuple[str, str]:
    """The tiny cohort's LD of ``chrom`` as PLINK ``--r square`` writes it: ``<chrom>.ld`` (9 digits, a float32
    round trip) and the ``<chrom>.bim`` beside it; returns their names."""
    import numpy as np
    import pandas as pd

    with np.load(tiny_cohort.path("ld", chrom)) as npz:
        np.savetxt(workdir / f"{chrom}.ld", npz["r"], fmt="%.9g", delimiter="\t")
        pd.DataFrame({"c": chrom, "SNP": npz["snp"], "cm": 0, "POS": npz["pos"], "A1": npz["a1"], "A2": npz["a2"]}).to_csv(
            workdir / f"{chrom}.bim", sep="\t", header=False, index=False)
    return f"{chrom}.ld", f"{chrom}.bim"
