"""Shared fixtures: a tiny simulated cohort built once per test session (seconds)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_cohort(tmp_path_factory):
    """A tiny simulated cohort (``varflow.io.cohort.Cohort``) with known truth, shared by all tests.

    Tests must not modify it; copy files first when a test needs to corrupt one.
    """
    from varflow.simulate.cohort import SimulationConfig, build_cohort

    outdir = tmp_path_factory.mktemp("cohort") / "tiny"
    return build_cohort(SimulationConfig.preset("tiny", seed=7), outdir)


@pytest.fixture(scope="session")
def tiny_results(tiny_cohort, tmp_path_factory):
    """Every workflow run in-process (quick sizes) on the tiny cohort, laid out as ``varflow run all`` does."""
    import shutil

    from varflow.pipelines import run_all

    outdir = tmp_path_factory.mktemp("results")
    shutil.copytree(tiny_cohort.root, outdir / "cohort")
    run_all(outdir, cohort=outdir / "cohort", seed=3, device="cpu", quick=True)
    return outdir
