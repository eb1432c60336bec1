"""Same seed -> the same cohort content; another seed -> a different cohort; config checks."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from varflow.errors import VarflowError
from varflow.simulate.cohort import SimulationConfig, build_cohort

SMALL = dict(n_chromosomes=1, chrom_length=200_000, n_genes_per_chrom=4, n_individuals=40, gwas_individuals=200)


def content(path: Path):
    """A comparable view of one file: table for Parquet, arrays for NPZ, text for gzip, else bytes."""
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".npz":
        with np.load(path) as npz:
            return {k: npz[k] for k in npz.files if k != "__provenance__"}
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as handle:
            return handle.read()
    return path.read_bytes()


def same(a, b) -> bool:
    if isinstance(a, pd.DataFrame):
        return a.equals(b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    return a == b


@pytest.fixture(scope="module")
def three_builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("determinism")
    a = build_cohort(SimulationConfig.preset("tiny", seed=11, **SMALL), root / "a")
    b = build_cohort(SimulationConfig.preset("tiny", seed=11, **SMALL), root / "b")
    c = build_cohort(SimulationConfig.preset("tiny", seed=12, **SMALL), root / "c")
    return a, b, c


def files_of(cohort) -> dict[str, Path]:
    return {str(p.relative_to(cohort.root)): p for p in sorted(cohort.root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_content(three_builds):
    a, b, _ = three_builds
    fa, fb = files_of(a), files_of(b)
    assert fa.keys() == fb.keys() and len(fa) > 15
    different = [name for name in fa if not same(content(fa[name]), content(fb[name]))]
    assert different == []


def test_other_seed_changes_genome_genotypes_and_expression(three_builds):
    a, _, c = three_builds
    for key in ("reference", "vcf", "expression", "causal_variants", "finemap"):
        assert not same(content(a.path(key)), content(c.path(key))), key


def test_scale_multiplies_sizes():
    base = SimulationConfig.preset("demo", seed=1)
    big = SimulationConfig.preset("demo", seed=1, scale=2.0)
    assert big.chrom_length == 2 * base.chrom_length
    assert big.n_individuals == 2 * base.n_individuals
    assert big.n_genes_per_chrom == 2 * base.n_genes_per_chrom
    assert big.gwas.n_individuals == 2 * base.gwas.n_individuals
    big.validate()
    assert SimulationConfig.preset("tiny", n_traits=3, gwas_h2=0.2).gwas.n_traits == 3


@pytest.mark.parametrize("overrides, message", [
    (dict(n_genes_per_chrom=40), "cannot fit"),
    (dict(n_individuals=0), "n-individuals"),
    (dict(n_chromosomes=0), "n-chromosomes"),
    (dict(scale=-1.0), "--scale"),
    (dict(h2_range=(0.5, 0.2)), "h2_range"),
    (dict(n_traits=0), "n_traits"),
    (dict(colour="red"), "unknown simulation setting"),
])
def test_bad_settings_are_one_line_errors(overrides, message):
    with pytest.raises(VarflowError, match=message) as err:
        SimulationConfig.preset("tiny", **overrides).validate()
    assert "\n" not in str(err.value)


def test_unknown_preset():
    with pytest.raises(VarflowError, match="unknown preset"):
        SimulationConfig.preset("huge")
