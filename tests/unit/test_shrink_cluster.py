"""VB zero-mean mixture: recovers planted components, seeded reproducibility, SNP selection, cluster types."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from varflow.shrink.cluster import choose_k, effective_k, fit_mixture, select_snps
from varflow.shrink.multitrait import cluster_types, gene_summaries


def _planted_two_traits(seed=0, n_null=900):
    rng = np.random.default_rng(seed)
    spec1 = rng.multivariate_normal([0, 0], [[1.0, 0], [0, 0.002]], 200)
    spec2 = rng.multivariate_normal([0, 0], [[0.002, 0], [0, 1.0]], 200)
    shared = rng.multivariate_normal([0, 0], [[1.0, 0.9], [0.9, 1.0]], 200)
    null = rng.normal(0, 0.03, (n_null, 2))
    X = np.concatenate([spec1, spec2, shared, null])
    truth = np.repeat(["specific_t1", "specific_t2", "shared", "null"], [200, 200, 200, n_null])
    return X, truth


@pytest.fixture(scope="module")
def planted_fit():
    X, truth = _planted_two_traits()
    return X, truth, fit_mixture(X, n_restarts=25, seed=3)  # the default: with 8 restarts a K tie can decide


def test_planted_patterns_get_their_types(planted_fit):
    X, truth, fit = planted_fit
    types = cluster_types(fit.cov, fit.weights, ["t1", "t2"])
    assert fit.k == 4
    found = dict(zip(types["cluster"], types["type"]))
    for name in ("specific_t1", "specific_t2", "shared"):
        # the cluster holding most SNPs of each planted group has that type
        main = np.bincount(fit.labels[truth == name], minlength=fit.k).argmax()
        assert found[main] == name
        assert np.mean(fit.labels[truth == name] == main) > 0.6  # groups overlap near the origin
    assert np.all(np.diff(np.trace(fit.cov, axis1=1, axis2=2)) <= 0)  # ordered by trace descending


def _rotated_cov(ratio, angle_deg, scale=1.0):
    """2x2 covariance with eigenvalue ratio ``ratio`` and main axis ``angle_deg`` from trait 1's axis."""
    a = np.radians(angle_deg)
    v = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return scale * v @ np.diag([ratio, 1.0]) @ v.T


def test_cluster_types_are_specific_or_shared_only():
    """The method's two types: elongated (ratio > 2) within 15 degrees of a trait axis is specific to
    that trait; everything else, the former "other" band (15-30 degrees, or ratio 1.5-2) included, is shared."""
    cases = [((10.0, 5.0), "specific_t1"), ((10.0, 80.0), "specific_t2"), ((3.0, 14.0), "specific_t1"),
             ((10.0, 20.0), "shared"), ((10.0, 28.0), "shared"), ((1.8, 3.0), "shared"),
             ((1.2, 60.0), "shared"), ((10.0, 45.0), "shared"), ((10.0, 100.0), "specific_t2")]
    cov = np.stack([_rotated_cov(ratio, angle) for (ratio, angle), _ in cases])
    types = cluster_types(cov, np.full(len(cases), 1 / len(cases)), ["t1", "t2"])
    assert types["type"].tolist() == [kind for _, kind in cases]
    np.testing.assert_allclose(types["eig_ratio"], [ratio for (ratio, _), _ in cases], rtol=1e-9)
    expect_angle = [min(a % 180, 180 - a % 180, abs(90 - a % 180)) for (_, a), _ in cases]
    np.testing.assert_allclose(types["angle_deg"], expect_angle, atol=1e-6)


def test_seeded_runs_are_reproducible(planted_fit):
    X, _, fit = planted_fit
    again = fit_mixture(X, n_restarts=25, seed=3)
    np.testing.assert_array_equal(fit.labels, again.labels)
    np.testing.assert_array_equal(fit.cov, again.cov)


def test_univariate_variances_recovered():
    rng = np.random.default_rng(1)
    sds = np.array([0.5, 0.1, 0.01])
    X = np.concatenate([rng.normal(0, s, n) for s, n in zip(sds, (100, 400, 1500))])[:, None]
    fit = fit_mixture(X, n_restarts=6, seed=0)
    assert fit.k == 3
    np.testing.assert_allclose(np.sqrt(fit.cov[:, 0, 0]), sds, rtol=0.15)
    np.testing.assert_allclose(fit.weights, [0.05, 0.2, 0.75], atol=0.03)


def test_k_rules():
    assert effective_k(np.array([0.6, 0.395, 0.003, 0.002])) == 2
    assert effective_k(np.array([0.6, 0.385, 0.01, 0.005])) == 3
    assert choose_k([1, 1, 1, 2, 3]) == 2 or choose_k([1, 1, 1, 2, 3]) == 3
    assert choose_k([1, 1, 1, 2, 3]) == 3  # K=1 avoided, tie between 2 and 3 -> larger
    assert choose_k([2, 2, 3, 3, 3]) == 3
    assert choose_k([1, 1]) == 1


def test_select_snps_cutoff_rule():
    rng = np.random.default_rng(0)
    eff = np.abs(rng.normal(0, 1e-3, (6000, 1)))
    mask, cutoff = select_snps(eff)
    assert 1000 <= mask.sum() <= 2000
    assert mask.sum() == (eff[:, 0] > cutoff).sum()
    two = np.concatenate([eff, np.zeros_like(eff)], axis=1)[:, ::-1]  # any trait passing keeps the SNP
    assert select_snps(two)[0].sum() == mask.sum()


def test_gene_summaries_by_type_use_the_right_cluster():
    types = pd.DataFrame({"cluster": [0, 1, 2], "weight": [0.2, 0.3, 0.5],
                          "type": ["shared", "specific_a", "specific_b"], "eig_ratio": 1.0, "angle_deg": 0.0})
    labels = np.array([0, 1, 2, -1, 1])
    eff = np.array([[1.0, 2.0], [3.0, -4.0], [5.0, 6.0], [7.0, 8.0], [-9.0, 10.0]])
    genes = pd.DataFrame({"gene": ["g"], "CHR": ["chr1"]})
    out = gene_summaries(genes, [np.arange(5)], labels, eff, ["a", "b"], types).iloc[0]
    assert out["frac_c1"] == pytest.approx(0.4) and out["frac_unclustered"] == pytest.approx(0.2)
    assert out["sum_abs_specific_a_a"] == 12.0 and out["sum_abs_specific_a_b"] == 14.0
    assert out["sum_abs_shared_a"] == 1.0 and out["sum_abs_specific_b_b"] == 6.0
    assert out["prod_c1_a_b"] == pytest.approx((3 * -4 + -9 * 10) / 2)


@pytest.mark.parametrize("D", [1, 2, 3])
def test_e_step_matches_direct_responsibilities(D):
    """The E-step's summaries (entropy term from N_k and S_k, float32 big array) equal responsibilities
    computed directly in float64 from the Gaussian log-densities with logsumexp."""
    from scipy.special import logsumexp

    from varflow.shrink.cluster import VBState, _Data, _e_step, _expectations

    rng = np.random.default_rng(D)
    R, K, N = 3, 5, 400
    X = rng.normal(size=(N, D)) * rng.uniform(0.1, 2, size=D)
    # component covariances with variances from 0.01 to 4 (the rescaled effects have unit mean SD)
    Q = np.linalg.qr(rng.normal(size=(R, K, D, D)))[0]
    cov = Q @ (rng.uniform(0.01, 4, size=(R, K, D))[..., None] * Q.transpose(0, 1, 3, 2))
    nu = rng.uniform(D + 1, 300, size=(R, K))
    state = VBState(rng.uniform(1, 50, size=(R, K, 2)), nu, np.linalg.inv(cov) / nu[..., None, None])
    e_ln_pi, e_ln_lam = _expectations(state, D)
    qz, Nk, Sk = _e_step(_Data.of(X), D, state, e_ln_pi, e_ln_lam)
    quad = np.einsum("nd,rkde,ne->rkn", X, np.linalg.inv(cov), X)
    log_r = e_ln_pi[..., None] + 0.5 * e_ln_lam[..., None] - 0.5 * D * np.log(2 * np.pi) - 0.5 * quad
    log_r -= logsumexp(log_r, axis=1, keepdims=True)
    r = np.exp(log_r)
    np.testing.assert_allclose(Nk, r.sum(2), rtol=1e-4)
    np.testing.assert_allclose(Sk, np.einsum("rkn,nd,ne->rkde", r, X, X), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(qz, (r * log_r).sum((1, 2)), rtol=1e-4)


@pytest.mark.parametrize("accelerate", [False, True])
def test_elbo_never_decreases(accelerate):
    """Coordinate ascent cannot lower the bound, and an accelerated update is kept only when it does
    not either: every restart's ELBO trace is non-decreasing."""
    from varflow.shrink.cluster import fit_vb_restarts

    X, _ = _planted_two_traits(seed=1, n_null=300)
    for run in fit_vb_restarts(X, n_restarts=3, max_iter=60, tol=0.0, seed=2, accelerate=accelerate):
        trace = np.array(run.elbo_trace)
        assert len(trace) == (60 if not accelerate else 20) and run.n_iter == 60
        assert np.all(np.diff(trace) >= -1e-6 * np.abs(trace[1:]))


@pytest.mark.parametrize("D", [1, 2])
def test_acceleration_reaches_the_plain_fixed_point_sooner(D):
    """Plain and SQUAREM-accelerated coordinate ascent from the same starts end at the same optimum
    (weights, covariances, ELBO), the accelerated ones in far fewer sweeps in total. Both stop by the
    ELBO-change rule, so on the slow drain of a near-empty component either may stop a little short
    (measured: 0.1 nats, weights within 1e-4)."""
    from varflow.shrink.cluster import fit_vb_restarts

    X, _ = _planted_two_traits(seed=4, n_null=500)
    X = X[:, :D]
    plain = fit_vb_restarts(X, n_restarts=3, max_iter=5000, tol=1e-4, seed=1, accelerate=False)
    fast = fit_vb_restarts(X, n_restarts=3, max_iter=5000, tol=1e-4, seed=1, accelerate=True)
    assert all(r.converged for r in plain + fast)
    assert sum(f.n_iter for f in fast) < 0.7 * sum(p.n_iter for p in plain)
    for p, f in zip(plain, fast):
        assert f.elbo == pytest.approx(p.elbo, abs=0.2)
        np.testing.assert_allclose(f.weights, p.weights, atol=1e-3)
        big = p.weights > 0.01
        np.testing.assert_allclose(f.cov[big], p.cov[big], rtol=1e-2, atol=1e-4)
