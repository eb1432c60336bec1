"""Gene-test p-values: agreement with Monte Carlo, calibration under the null, BH q-values."""

from __future__ import annotations

import numpy as np
import pytest

from varflow.shrink.genetest import bh_qvalues, gene_test, null_eps, weighted_chi2_sf


@pytest.fixture(scope="module")
def mc():
    """Monte-Carlo draws of three weighted chi-square sums (4e6 each; SE of p ~ 2.5e-4 at p = 0.25)."""
    rng = np.random.default_rng(123)
    weights = [np.array([3.0, 1.0, 0.5, 0.2, 0.1]), np.array([1.0]), np.linspace(0.05, 2.0, 12)]
    draws = []
    for lam in weights:
        acc = np.zeros(4_000_000)
        for w in lam:
            acc += w * rng.standard_normal(acc.size) ** 2
        draws.append(np.sort(acc))
    return weights, draws


@pytest.mark.parametrize("method", ["auto", "imhof", "saddlepoint"])
def test_agrees_with_monte_carlo(mc, method):
    weights, draws = mc
    for lam, d in zip(weights, draws):
        for q in (0.5, 0.8, 0.95, 0.99, 0.999, 0.9995):
            t = float(np.quantile(d, q))
            p_mc = 1 - np.searchsorted(d, t, side="right") / d.size
            p = weighted_chi2_sf(t, lam, method)
            if method == "saddlepoint":  # used only in the far tail: check its relative accuracy there
                if q >= 0.99:
                    assert abs(p - p_mc) <= 0.1 * p_mc, (lam, t, p, p_mc)
            else:
                assert abs(p - p_mc) <= 1e-3, (lam, t, p, p_mc)


def test_single_weight_is_exact_chi2():
    from scipy import stats

    for t in (0.1, 1.0, 5.0, 30.0, 80.0):
        assert weighted_chi2_sf(t, np.array([2.0])) == pytest.approx(stats.chi2.sf(t / 2.0, 1), rel=1e-2, abs=1e-9)


def test_far_tail_uses_saddlepoint_not_imhof_noise():
    from scipy import stats

    p = weighted_chi2_sf(160.0, np.array([2.0]))  # exact: chi2_1 > 80 ~ 3.3e-19
    assert p == pytest.approx(stats.chi2.sf(80.0, 1), rel=0.1)


def test_type_one_error_under_null():
    """beta ~ N(0, eps R_g) for 400 simulated genes of varying LD: rejection rate at 0.05 in [0.03, 0.07]."""
    rng = np.random.default_rng(5)
    eps = 2e-4
    pvals = []
    for g in range(400):
        m = int(rng.integers(3, 25))
        rho = rng.uniform(0.2, 0.95)
        i = np.arange(m)
        R = rho ** np.abs(i[:, None] - i[None, :])
        beta = np.linalg.cholesky(eps * R + 1e-12 * np.eye(m)) @ rng.standard_normal(m)
        pvals.append(gene_test(beta, R, eps)[1])
    rate = float(np.mean(np.array(pvals) < 0.05))
    assert 0.03 <= rate <= 0.07, rate


def test_bh_qvalues_against_definition():
    p = np.array([0.01, 0.04, np.nan, 0.03, 0.5, 0.2])
    q = bh_qvalues(p)
    ok = ~np.isnan(p)
    n = ok.sum()
    ranks = np.argsort(np.argsort(p[ok])) + 1
    expect = [min(min(p[ok][j] * n / ranks[j] for j in range(n) if ranks[j] >= ranks[i]), 1.0) for i in range(n)]
    np.testing.assert_allclose(q[ok], expect)
    assert np.isnan(q[2])


def test_null_eps_rule():
    assert null_eps(np.array([0.05, 0.15, 0.8]), np.array([1.0, 0.1, 0.01])) == 0.1
    assert null_eps(np.array([0.005, 0.15, 0.845]), np.array([1.0, 0.1, 0.01])) == 0.01
    assert null_eps(np.array([0.005, 0.995]), np.array([1.0, 0.1])) == 0.1
