"""SuSiE fine-mapping: recovery of planted causal variants, exactness of the single-effect case against
an independent Gaussian computation, ELBO monotonicity, credible-set coverage, edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from varflow.errors import VarflowError
from varflow.io.schemas import SCHEMAS
from varflow.io.tables import validate
from varflow.simulate.finemap import credible_sets, finemap_gene, marginal_ols, susie


def ld_genotypes(rng: np.random.Generator, n: int, p: int, copy_prob: float = 0.8) -> np.ndarray:
    """Dosages (n, p) in {0, 1, 2} with LD between neighbours: each column copies the previous one for
    a fraction ``copy_prob`` of individuals, so adjacent columns correlate at about ``copy_prob``."""
    freqs = rng.uniform(0.1, 0.5, size=p)
    X = rng.binomial(2, freqs, size=(n, p)).astype(float)
    for j in range(1, p):
        copy = rng.random(n) < copy_prob
        X[copy, j] = X[copy, j - 1]
    return X


@pytest.mark.parametrize("n_causal,seed", [(1, 11), (2, 12), (3, 13)])
def test_causal_variants_get_high_pip_and_sit_in_credible_sets(n_causal, seed):
    rng = np.random.default_rng(seed)
    n, p = 600, 200
    X = ld_genotypes(rng, n, p)
    causal = rng.choice(np.arange(5, p - 5), size=n_causal, replace=False)
    while n_causal > 1 and np.diff(np.sort(causal)).min() < 20:  # keep causal signals separable
        causal = rng.choice(np.arange(5, p - 5), size=n_causal, replace=False)
    beta = np.zeros(p)
    # each causal variant explains ~10% of the phenotype variance (z about 8 at n = 600)
    beta[causal] = rng.choice([-1, 1], size=n_causal) * 0.35 / X[:, causal].std(axis=0)
    y = X @ beta + rng.normal(size=n)
    fit = susie(X, y, L=10)
    assert fit.converged
    in_sets = np.concatenate(fit.credible_sets)
    for j in causal:
        assert fit.pip[j] > 0.5, (j, fit.pip[j])
        assert j in in_sets
    assert len(fit.credible_sets) == n_causal
    assert all(pur >= 0.5 for pur in fit.cs_purity)
    # non-causal variants far from the causal ones stay near zero
    far = np.ones(p, bool)
    for j in causal:
        far[max(j - 10, 0): j + 11] = False
    assert fit.pip[far].max() < 0.2


def test_null_phenotype_gives_no_credible_set_and_small_pips():
    rng = np.random.default_rng(5)
    X = ld_genotypes(rng, 400, 150)
    fit = susie(X, rng.normal(size=400), L=10)
    assert fit.credible_sets == []
    assert fit.pip.max() < 0.2


def test_elbo_never_decreases():
    rng = np.random.default_rng(8)
    X = ld_genotypes(rng, 300, 120)
    beta = np.zeros(120)
    beta[[10, 60, 100]] = [0.4, -0.3, 0.25]
    y = X @ beta + rng.normal(size=300)
    fit = susie(X, y, L=8, tol=1e-8, max_iter=60)
    elbo = np.asarray(fit.elbo)
    assert len(elbo) >= 3
    assert (np.diff(elbo) >= -1e-8 * np.abs(elbo[:-1])).all(), np.diff(elbo)


def _gaussian_log_bf(x: np.ndarray, y: np.ndarray, prior_var: float, sigma2: float) -> float:
    """log N(y; 0, sigma2 I + V x x^T) - log N(y; 0, sigma2 I), by dense multivariate normal densities."""
    n = y.size
    cov1 = sigma2 * np.eye(n) + prior_var * np.outer(x, x)
    return (stats.multivariate_normal(np.zeros(n), cov1).logpdf(y)
            - stats.multivariate_normal(np.zeros(n), sigma2 * np.eye(n)).logpdf(y))


def test_single_effect_matches_independent_gaussian_bayes_factors():
    rng = np.random.default_rng(21)
    n, p = 60, 12
    X = ld_genotypes(rng, n, p, copy_prob=0.6)
    y = 0.6 * X[:, 4] + rng.normal(size=n)
    prior_var, sigma2 = 0.3, 1.1
    fit = susie(X, y, L=1, scaled_prior_variance=prior_var / y.var(ddof=1), residual_variance=sigma2,
                estimate_prior_variance=False, estimate_residual_variance=False)
    xs = (X - X.mean(0)) / X.std(0)
    yc = y - y.mean()
    log_bf = np.array([_gaussian_log_bf(xs[:, j], yc, prior_var, sigma2) for j in range(p)])
    expected_alpha = np.exp(log_bf - log_bf.max())
    expected_alpha /= expected_alpha.sum()
    np.testing.assert_allclose(fit.alpha[0], expected_alpha, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(fit.pip, expected_alpha, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(fit.lbf[0], np.log(np.mean(np.exp(log_bf))), rtol=1e-8)
    # posterior mean of the effect given variable j, by Gaussian conditioning, on the dosage scale
    for j in (0, 4, 9):
        cov = sigma2 * np.eye(n) + prior_var * np.outer(xs[:, j], xs[:, j])
        post_mean_std = prior_var * xs[:, j] @ np.linalg.solve(cov, yc)
        np.testing.assert_allclose(fit.mu[0, j], post_mean_std / X[:, j].std(), rtol=1e-6)


def test_fitted_prior_variance_maximises_single_effect_evidence():
    rng = np.random.default_rng(3)
    n, p = 80, 10
    X = ld_genotypes(rng, n, p, copy_prob=0.5)
    y = 0.5 * X[:, 2] + rng.normal(size=n)
    sigma2 = float(y.var(ddof=1))
    fit = susie(X, y, L=1, residual_variance=sigma2, estimate_residual_variance=False)
    xs = (X - X.mean(0)) / X.std(0)
    yc = y - y.mean()

    def evidence(v):
        return np.log(np.mean(np.exp([_gaussian_log_bf(xs[:, j], yc, v, sigma2) for j in range(p)])))

    best = evidence(fit.prior_var[0])
    assert fit.prior_var[0] > 0
    for v in fit.prior_var[0] * np.array([0.5, 0.8, 1.25, 2.0]):
        assert evidence(v) <= best + 1e-6


def test_credible_set_coverage_is_about_nominal():
    rng = np.random.default_rng(99)
    covered = total = 0
    for _ in range(300):
        n, p = 200, 40
        X = ld_genotypes(rng, n, p, copy_prob=0.85)
        j = rng.integers(p)
        # the causal variant explains ~8% of the variance: detected most of the time, rarely trivially
        y = 0.3 * X[:, j] / X[:, j].std() + rng.normal(size=n)
        fit = susie(X, y, L=3)
        for cs in fit.credible_sets:
            total += 1
            covered += int(j in cs)
    assert total >= 150  # the effect is usually detected, so the check has power
    # measured: 181 of 188 sets hold the causal variant (96.3%); the binomial sd is about 1.4%
    assert 0.90 <= covered / total <= 0.99, (covered, total)


def test_monomorphic_columns_and_more_variables_than_individuals():
    rng = np.random.default_rng(4)
    n, p = 80, 300
    X = ld_genotypes(rng, n, p)
    X[:, [0, 50, 299]] = 0.0
    X[:, 120] = 2.0
    y = 0.9 * X[:, 200] + rng.normal(size=n)
    fit = susie(X, y, L=5)
    assert np.isfinite(fit.pip).all()
    assert (fit.pip[[0, 50, 120, 299]] == 0).all()
    assert (fit.alpha[:, [0, 50, 120, 299]] == 0).all()
    assert any(200 in cs for cs in fit.credible_sets)


def test_finemap_gene_table_is_valid_and_marginal_stats_match_linregress():
    rng = np.random.default_rng(6)
    n, p = 300, 60
    X = ld_genotypes(rng, n, p)
    X[:, 7] = 1.0  # monomorphic
    expression = 3.0 + 0.7 * X[:, 30] + rng.normal(size=n)
    ids = [f"chr1:{1000 + k}:A:G" for k in range(p)]
    maf = np.minimum(X.mean(0) / 2, 1 - X.mean(0) / 2)
    df = finemap_gene(X, expression, ids, maf, "gene1")
    df = validate(df, SCHEMAS["finemap"])
    assert list(df.columns) == ["variant_id", "gene_id", "pip", "cs", "betahat", "se", "maf"]
    assert (df.gene_id == "gene1").all() and df.variant_id.tolist() == ids
    assert df.pip.between(0, 1).all() and (df.se > 0).all()
    assert df.cs.iloc[30] >= 1 and df.pip.iloc[30] > 0.5
    assert set(df.cs) - {0} == set(range(1, df.cs.max() + 1))  # 1-based, contiguous
    y = (expression - expression.mean()) / expression.std()
    for j in (0, 30, 45):
        ref = stats.linregress(X[:, j], y)
        assert df.betahat.iloc[j] == pytest.approx(ref.slope, rel=1e-9)
        assert df.se.iloc[j] == pytest.approx(ref.stderr, rel=1e-9)
    assert df.betahat.iloc[7] == 0.0 and df.pip.iloc[7] == 0.0 and df.cs.iloc[7] == 0


def test_finemap_gene_rejects_bad_input():
    X = np.ones((10, 3))
    with pytest.raises(VarflowError, match="gene g: expression is constant"):
        finemap_gene(np.random.default_rng(0).random((10, 3)), np.ones(10), ["a", "b", "c"],
                     np.zeros(3), "g")
    with pytest.raises(VarflowError, match="gene g: fine-mapping inputs disagree"):
        finemap_gene(X, np.arange(10.0), ["a", "b"], np.zeros(3), "g")


def test_finemap_gene_without_variants_returns_empty_valid_table():
    df = finemap_gene(np.zeros((20, 0)), np.arange(20.0), [], np.zeros(0), "g")
    assert len(df) == 0
    validate(df, SCHEMAS["finemap"])


def test_marginal_ols_is_vectorised_simple_regression():
    rng = np.random.default_rng(1)
    X = rng.binomial(2, 0.3, size=(50, 4)).astype(float)
    y = rng.normal(size=50)
    beta, se = marginal_ols(X, y)
    for j in range(4):
        ref = stats.linregress(X[:, j], y)
        assert beta[j] == pytest.approx(ref.slope) and se[j] == pytest.approx(ref.stderr)


def test_credible_set_purity_filter_matches_brute_force_correlations():
    rng = np.random.default_rng(12)
    n, p = 120, 300
    base = rng.normal(size=(n, 1))
    # columns 0..149: near-copies of one signal (|r| > 0.9); columns 150..299: independent noise
    X = np.hstack([base + 0.1 * rng.normal(size=(n, 150)), rng.normal(size=(n, 150))])
    Xs = (X - X.mean(0)) / X.std(0)
    prior_var, lbf = np.array([1.0, 1.0, 1.0]), np.array([3.0, 2.0, 1.0])
    alpha = np.zeros((3, p))
    alpha[0, :140] = 1.0 / 140           # set of 133 near-copies: pure
    alpha[1, :110] = 0.9 / 110            # the 100 leading variables are copies, the tail is noise:
    alpha[1, 150:170] = 0.1 / 20          # the probe passes, the full check must reject it
    alpha[2, 150:] = 1.0 / 150            # independent noise: impure
    sets, purity, effects = credible_sets(alpha, prior_var, lbf, Xs, 0.95, 0.5)
    assert effects == [0]
    brute = np.abs(np.corrcoef(X[:, sets[0]].T)).min()
    assert purity[0] == pytest.approx(brute, rel=1e-9) and brute >= 0.5
    order = np.argsort(-alpha[1], kind="stable")
    size = np.searchsorted(np.cumsum(alpha[1, order]), 0.95) + 1
    assert np.abs(np.corrcoef(X[:, order[:size]].T)).min() < 0.5
