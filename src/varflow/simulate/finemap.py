"""SuSiE fine-mapping on individual-level data (sum of single effects, Wang et al. 2020), in numpy.

Model: ``y = X b + e``, ``e ~ N(0, sigma2 I)``, ``b = sum_l b_l`` where each single effect ``b_l`` has
exactly one non-zero entry, at variable ``j`` with prior probability ``pi_j``, of size ``N(0, V_l)``.
The variational posterior factorises over effects; each ``q_l`` is fitted by a single-effect regression
(SER) of the residual that leaves effect ``l`` out (iterative Bayesian stepwise selection). The prior
variances ``V_l`` are fitted by maximising each SER's marginal likelihood, the residual variance by its
closed-form update, and iterations stop when the evidence lower bound (ELBO) changes by less than ``tol``.

Shapes: ``n`` individuals, ``p`` variables, ``L`` effects. ``X`` is centred (an intercept is implied)
and, by default, each column scaled to unit variance, so that ``V_l`` is a variance of standardised
effects; posterior moments are reported back on the scale of the columns of the caller's ``X``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from threadpoolctl import threadpool_limits

from varflow.errors import VarflowError

# Effects whose fitted prior variance is at or below this are treated as absent (they carry no signal
# and their alpha is the prior, which would otherwise give a spurious, huge credible set).
PRIOR_TOL = 1e-9
# Bounds on log(V / var(y)) for the 1-D optimisation of a prior variance.
_LOG_V_BOUNDS = (-30.0, 15.0)


@dataclass
class SusieFit:
    """Result of :func:`susie`.

    alpha (L, p): posterior probability that effect l sits on variable j (rows sum to 1 over
        polymorphic variables).
    mu (L, p): posterior mean of effect l's size given it sits on variable j, in units of y per unit
        of the caller's column j.
    mu2 (L, p): posterior second moment matching ``mu``.
    prior_var (L,): fitted prior variance of each effect on the standardised-X scale (0 = effect absent).
    lbf (L,): log Bayes factor of each single-effect model against no effect.
    sigma2: fitted residual variance (units of y squared).
    pip (p,): posterior inclusion probability, 1 - prod_l (1 - alpha_lj) over effects with V_l > 0.
    credible_sets: index arrays (into the p columns), strongest effect first, each with coverage
        >= the requested level and purity >= ``min_abs_corr``.
    cs_purity: min |r| among the variables of each credible set (1.0 for a single variable).
    cs_effect: the effect l that produced each credible set.
    elbo: ELBO after each iteration (non-decreasing up to rounding).
    converged: ELBO change fell below ``tol`` before ``max_iter``.
    """

    alpha: np.ndarray
    mu: np.ndarray
    mu2: np.ndarray
    prior_var: np.ndarray
    lbf: np.ndarray
    sigma2: float
    pip: np.ndarray
    credible_sets: list[np.ndarray] = field(default_factory=list)
    cs_purity: list[float] = field(default_factory=list)
    cs_effect: list[int] = field(default_factory=list)
    elbo: list[float] = field(default_factory=list)
    converged: bool = False

    @property
    def posterior_mean(self) -> np.ndarray:
        """E[b] (p,), in units of y per unit of each column of the caller's X."""
        return (self.alpha * self.mu).sum(axis=0)


def _logsumexp(a: np.ndarray) -> float:
    """log(sum(exp(a))) for a 1-D array that may hold -inf (zero prior weight); a few times faster
    than scipy's general version, which matters in the prior-variance optimisation."""
    top = a.max()
    return float(top + np.log(np.exp(a - top).sum()))


def ser_log_bf(xty: np.ndarray, d: np.ndarray, sigma2: float, prior_var: float) -> np.ndarray:
    """Log Bayes factor (p,) of "variable j has effect N(0, prior_var)" against "no effect".

    ``xty`` (p,) = X^T r, ``d`` (p,) = column sums of squares of X, residual variance ``sigma2`` known.
    Equals Wakefield's approximate BF with betahat = xty / d and shat^2 = sigma2 / d, which is exact for
    a Gaussian likelihood with known variance. Columns with d = 0 get 0 (they are given no prior weight).
    """
    vd = prior_var * d
    return -0.5 * np.log1p(vd / sigma2) + 0.5 * xty**2 * prior_var / (sigma2 * (sigma2 + vd))


def _ser_log_evidence(log_v: float, xty, d, sigma2, log_pi) -> float:
    return _logsumexp(ser_log_bf(xty, d, sigma2, float(np.exp(log_v))) + log_pi)


def _fit_prior_var(xty, d, sigma2, log_pi, current: float, scale: float) -> float:
    """Prior variance maximising the SER evidence; never worse than ``current`` or than 0 (no effect).

    Keeping the best of {optimum, current, 0} is what makes every coordinate step raise the ELBO.
    """
    res = minimize_scalar(lambda t: -_ser_log_evidence(t + np.log(scale), xty, d, sigma2, log_pi),
                          bounds=_LOG_V_BOUNDS, method="bounded", options={"xatol": 1e-3})
    candidates = [(0.0, 0.0), (float(-res.fun), float(np.exp(res.x) * scale))]
    if current > 0:
        candidates.append((_ser_log_evidence(np.log(current), xty, d, sigma2, log_pi), current))
    best = max(candidates, key=lambda c: c[0])
    return best[1] if best[0] > 0.0 else 0.0


def _ser_posterior(xty, d, sigma2, prior_var, log_pi):
    """alpha, mu, mu2 (p,) and log evidence ratio of one single-effect regression (standardised X)."""
    if prior_var <= 0.0:
        alpha = np.exp(log_pi)
        zero = np.zeros_like(xty)
        return alpha, zero, zero.copy(), 0.0
    lbf = ser_log_bf(xty, d, sigma2, prior_var)
    weighted = lbf + log_pi
    lbf_model = _logsumexp(weighted)
    alpha = np.exp(weighted - lbf_model)
    denom = sigma2 + prior_var * d
    post_var = prior_var * sigma2 / denom
    mu = prior_var * xty / denom
    return alpha, mu, post_var + mu**2, lbf_model


def _min_abs_corr(Xs: np.ndarray, idx: np.ndarray) -> float:
    if idx.size == 1:
        return 1.0
    sub = Xs[:, idx]
    return float(np.abs(sub.T @ sub).min() / Xs.shape[0])


def _purity(Xs: np.ndarray, idx: np.ndarray, threshold: float, probe: int = 100) -> float:
    """Min |correlation| among columns ``idx`` (ordered by decreasing alpha) of Xs (n, p).

    Xs is centred with unit-variance columns. A large set is first probed on its ``probe`` leading
    variables: the min over a subset bounds the full min from above, so a probe below ``threshold``
    already proves the set impure (the returned value is then that bound), and the full O(size^2 n)
    product is computed only for sets that could pass.
    """
    if idx.size > probe:
        bound = _min_abs_corr(Xs, idx[:probe])
        if bound < threshold:
            return bound
    return _min_abs_corr(Xs, idx)


def credible_sets(alpha: np.ndarray, prior_var: np.ndarray, lbf: np.ndarray, Xs: np.ndarray,
                  coverage: float = 0.95, min_abs_corr: float = 0.5):
    """Credible sets of the effects with V_l > 0, purity-filtered and de-duplicated.

    For effect l: the fewest variables, by decreasing alpha_l, whose alpha sums to >= ``coverage``.
    ``Xs`` (n, p) is centred with unit-variance columns (zero columns for monomorphic variables).
    Returns (sets, purities, effects), strongest effect (largest lbf) first.
    """
    sets, purities, effects, seen = [], [], [], set()
    for l in np.argsort(-lbf, kind="stable"):
        if prior_var[l] <= PRIOR_TOL:
            continue
        order = np.argsort(-alpha[l], kind="stable")
        cum = np.cumsum(alpha[l, order])
        size = min(int(np.searchsorted(cum, coverage * (1 - 1e-12))) + 1, alpha.shape[1])
        by_alpha = order[:size]
        idx = np.sort(by_alpha)
        key = idx.tobytes()
        if key in seen:
            continue
        seen.add(key)
        purity = _purity(Xs, by_alpha, min_abs_corr)
        if purity >= min_abs_corr:
            sets.append(idx)
            purities.append(purity)
            effects.append(int(l))
    return sets, purities, effects


# The fit is a long chain of small matrix-vector products, which multi-threaded BLAS only slows down
# (measured 50x slower on a loaded 2-core machine), so BLAS runs single-threaded inside it.
@threadpool_limits.wrap(limits=1, user_api="blas")
def susie(X: np.ndarray, y: np.ndarray, L: int = 10, *, scaled_prior_variance: float = 0.2,
          residual_variance: float | None = None, estimate_residual_variance: bool = True,
          estimate_prior_variance: bool = True, prior_weights: np.ndarray | None = None,
          standardize: bool = True, coverage: float = 0.95, min_abs_corr: float = 0.5,
          max_iter: int = 100, tol: float = 1e-3) -> SusieFit:
    """Fit SuSiE to individual-level data.

    X (n, p) float, y (n,) float. ``L`` single effects (capped at the number of polymorphic columns).
    ``scaled_prior_variance`` sets the initial (or, with ``estimate_prior_variance=False``, fixed) prior
    variance as a fraction of var(y). ``residual_variance`` defaults to var(y). Constant columns of X
    get zero prior weight, alpha 0 and PIP 0. ``prior_weights`` (p,) need not be normalised.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError(f"susie: X must be (n, p) and y (n,), got {X.shape} and {y.shape}")
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        raise ValueError("susie: X and y must be finite")
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"susie: coverage must lie in (0, 1), got {coverage}")
    n, p = X.shape
    Xc = X - X.mean(axis=0)
    yc = y - y.mean()
    sd = Xc.std(axis=0)
    # A column is constant if its spread is rounding noise relative to its values.
    polymorphic = sd > 1e-10 * np.maximum(1.0, np.abs(X).max(axis=0, initial=0.0))
    scale = np.where(polymorphic, sd if standardize else 1.0, 1.0)
    Xs = np.where(polymorphic, Xc / scale, 0.0)
    d = np.einsum("ij,ij->j", Xs, Xs)
    var_y = float(yc @ yc / max(n - 1, 1))

    weights = np.ones(p) if prior_weights is None else np.asarray(prior_weights, dtype=float)
    if weights.shape != (p,) or (weights < 0).any():
        raise ValueError("susie: prior_weights must be (p,) and non-negative")
    weights = np.where(polymorphic, weights, 0.0)
    L = int(min(L, int((weights > 0).sum())))
    if L == 0 or var_y <= 0.0 or n < 2:
        empty = np.zeros((L, p))
        return SusieFit(empty, empty.copy(), empty.copy(), np.zeros(L), np.zeros(L),
                        var_y, np.zeros(p), elbo=[], converged=True)
    with np.errstate(divide="ignore"):
        log_pi = np.log(weights / weights.sum())

    sigma2 = float(residual_variance) if residual_variance is not None else var_y
    prior_var = np.full(L, scaled_prior_variance * var_y)
    alpha = np.tile(np.exp(log_pi), (L, 1))
    mu = np.zeros((L, p))
    mu2 = np.zeros((L, p))
    lbf = np.zeros(L)
    kl = np.zeros(L)
    fitted = np.zeros((L, n))  # X @ E[b_l] for each effect, so the full fit is a sum over rows
    elbo: list[float] = []
    converged = False
    for _ in range(max_iter):
        for l in range(L):
            residual = yc - (fitted.sum(axis=0) - fitted[l])
            xty = Xs.T @ residual
            if estimate_prior_variance:
                prior_var[l] = _fit_prior_var(xty, d, sigma2, log_pi, prior_var[l], var_y)
            alpha[l], mu[l], mu2[l], lbf[l] = _ser_posterior(xty, d, sigma2, prior_var[l], log_pi)
            mean_l = alpha[l] * mu[l]
            fitted[l] = Xs @ mean_l
            # KL(q_l || prior_l) from the SER identity log p(r) = E_q log p(r | b_l) - KL.
            kl[l] = (2.0 * xty @ mean_l - d @ (alpha[l] * mu2[l])) / (2.0 * sigma2) - lbf[l]
        total = fitted.sum(axis=0)
        erss = float(np.sum((yc - total) ** 2) - np.sum(fitted**2) + np.sum(d * (alpha * mu2)))
        elbo.append(-0.5 * n * np.log(2 * np.pi * sigma2) - erss / (2 * sigma2) - float(kl.sum()))
        if estimate_residual_variance:
            sigma2 = max(erss / n, 1e-12 * var_y)
        if len(elbo) > 1 and abs(elbo[-1] - elbo[-2]) < tol:
            converged = True
            break

    active = prior_var > PRIOR_TOL
    pip = 1.0 - np.prod(1.0 - alpha[active], axis=0) if active.any() else np.zeros(p)
    sets, purities, effects = credible_sets(alpha, prior_var, lbf, Xs, coverage, min_abs_corr)
    return SusieFit(alpha=alpha, mu=mu / scale, mu2=mu2 / scale**2, prior_var=prior_var, lbf=lbf,
                    sigma2=float(sigma2), pip=np.clip(pip, 0.0, 1.0), credible_sets=sets,
                    cs_purity=purities, cs_effect=effects, elbo=elbo, converged=converged)


def marginal_ols(dosage: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column simple regression of y (n,) on dosage (n, p) with an intercept: betahat, se (p,).

    Monomorphic columns carry no information: betahat 0 and se set to the standard error a single
    minor-allele copy would give (sum of squares 1 - 1/n), the widest any observable variant can have.
    """
    n = dosage.shape[0]
    xc = dosage - dosage.mean(axis=0)
    yc = y - y.mean()
    sxx = np.einsum("ij,ij->j", xc, xc)
    sxy = xc.T @ yc
    syy = float(yc @ yc)
    informative = sxx > 1e-10
    safe_sxx = np.where(informative, sxx, 1.0 - 1.0 / n)
    beta = np.where(informative, sxy / safe_sxx, 0.0)
    rss = np.maximum(syy - beta * sxy, 0.0)
    se = np.sqrt(rss / (n - 2) / safe_sxx)
    return beta, se


FINEMAP_COLUMNS = ["variant_id", "gene_id", "pip", "cs", "betahat", "se", "maf"]


def finemap_gene(dosage: np.ndarray, expression: np.ndarray, variant_ids: list[str], maf: np.ndarray,
                 gene_id: str, *, L: int = 10, coverage: float = 0.95) -> pd.DataFrame:
    """Fine-map one gene's cis window: SuSiE PIPs and credible sets plus marginal OLS statistics.

    dosage (n_ind, p) alt-allele counts, expression (n_ind,), variant_ids (p,), maf (p,).
    Expression is standardised first, so betahat/se are in SDs of expression per alt allele.
    Returns one row per variant with columns variant_id, gene_id, pip, cs, betahat, se, maf
    (schema ``finemap``); cs is 0 outside every credible set, else the 1-based set index within the
    gene (a variant in two overlapping sets gets the one where its alpha is larger).
    """
    dosage = np.asarray(dosage, dtype=float)
    expression = np.asarray(expression, dtype=float)
    maf = np.asarray(maf, dtype=float)
    n, p = dosage.shape if dosage.ndim == 2 else (-1, -1)
    if dosage.ndim != 2 or expression.shape != (n,) or len(variant_ids) != p or maf.shape != (p,):
        raise VarflowError(
            f"gene {gene_id}: fine-mapping inputs disagree in shape (dosage {dosage.shape}, "
            f"expression {expression.shape}, {len(variant_ids)} variant ids, maf {maf.shape})")
    if n < 3:
        raise VarflowError(f"gene {gene_id}: fine-mapping needs at least 3 individuals, got {n}")
    if not np.isfinite(expression).all():
        raise VarflowError(f"gene {gene_id}: expression has missing or infinite values")
    sd = expression.std()
    if sd <= 0:
        raise VarflowError(f"gene {gene_id}: expression is constant across individuals")
    y = (expression - expression.mean()) / sd
    if p == 0:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            FINEMAP_COLUMNS, ["object", "object", "float64", "int64", "float64", "float64", "float64"])})

    fit = susie(dosage, y, L=L, coverage=coverage)
    cs = np.zeros(p, dtype=np.int64)
    best_alpha = np.zeros(p)
    for k, (idx, effect) in enumerate(zip(fit.credible_sets, fit.cs_effect), start=1):
        a = fit.alpha[effect, idx]
        take = a > best_alpha[idx]
        cs[idx[take]] = k
        best_alpha[idx[take]] = a[take]
    betahat, se = marginal_ols(dosage, y)
    return pd.DataFrame({
        "variant_id": list(variant_ids), "gene_id": gene_id, "pip": fit.pip, "cs": cs,
        "betahat": betahat, "se": se, "maf": maf,
    })
