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
