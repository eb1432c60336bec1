"""Gene-level tests: T = sum of squared shrunk effects over a gene's SNPs against the null
beta ~ N(0, eps R_g), under which T = sum_i lambda_i chi2_1 with lambda = eigenvalues of eps R_g.

Upper-tail probabilities of that weighted chi-square: Imhof's numerical inversion (accurate, default),
the Lugannani-Rice saddlepoint approximation (accurate far in the tail, where Imhof's integral loses
relative precision; ``auto`` switches to it below 1e-4) and Liu-Tang-Zhang moment matching (option).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import integrate, optimize, stats

P_METHODS = ("auto", "imhof", "saddlepoint", "liu")


def imhof_sf(t: float, lam: np.ndarray) -> float:
    """P(sum lam_i chi2_1 > t) by Imhof (1961): 1/2 + 1/pi int_0^inf sin(theta(u)) / (u rho(u)) du with
    theta(u) = sum arctan(lam_i u) / 2 - t u / 2 and rho(u) = prod (1 + lam_i^2 u^2)^(1/4).

    The slowly decaying oscillating tail (as u^(-1 - m/2) for m weights) is integrated as a Fourier
    integral (QUADPACK QAWF): sin(c(u) - w u) = sin c cos(w u) - cos c sin(w u), w = t / 2, with
    c(u) = sum arctan(lam_i u) / 2 smooth, so no truncation of the infinite range is needed.
    """
    lam = np.asarray(lam, dtype=np.float64)
    omega = 0.5 * t

    cache: dict[float, tuple[float, float]] = {}

    def c_amp(u: float) -> tuple[float, float]:
        # the two tail integrals are evaluated at the same QAWF nodes: compute each node once
        if u not in cache:
            lu = lam * u
            cache[u] = (0.5 * float(np.arctan(lu).sum()), 1.0 / (u * float(np.exp(0.25 * np.log1p(lu * lu).sum()))))
        return cache[u]

    def c(u: float) -> float:
        return c_amp(u)[0]

    def amp(u: float) -> float:
        return c_amp(u)[1]

    def integrand(u: float) -> float:
        cu, au = c_amp(u)
        return np.sin(cu - omega * u) * au

    split = 4.0 / lam.max()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        head, _ = integrate.quad(integrand, 0.0, split, limit=200, epsabs=1e-8, epsrel=1e-6)
        if omega > 0:
            tail_c, _ = integrate.quad(lambda u: np.sin(c(u)) * amp(u), split, np.inf, weight="cos", wvar=omega,
                                       limlst=100, epsabs=1e-8)
            tail_s, _ = integrate.quad(lambda u: np.cos(c(u)) * amp(u), split, np.inf, weight="sin", wvar=omega,
                                       limlst=100, epsabs=1e-8)
            tail = tail_c - tail_s
        else:
            tail, _ = integrate.quad(integrand, split, np.inf, limit=400)
    return float(np.clip(0.5 + (head + tail) / np.pi, 0.0, 1.0))


def saddlepoint_sf(t: float, lam: np.ndarray) -> float:
    """P(sum lam_i chi2_1 > t) by the Lugannani-Rice saddlepoint formula (lam > 0)."""
    lam = np.asarray(lam, dtype=np.float64)
    mean = lam.sum()
    if t <= 0:
        return 1.0

    def k1(s: float) -> float:  # K'(s) - t
        return float(np.sum(lam / (1 - 2 * s * lam))) - t

    upper = 1.0 / (2 * lam.max())
    if abs(t - mean) < 1e-8 * mean:
        return _liu_sf(t, lam)  # at the mean the formula is 0/0; moment matching is exact to O(n^-1/2) there
    lo = -1e6 / mean if t < mean else 0.0
    hi = 0.0 if t < mean else upper * (1 - 1e-15)
    while k1(lo) > 0:
        lo *= 2
    s_hat = optimize.brentq(k1, lo, hi, xtol=1e-300, rtol=1e-14, maxiter=500)
    K = -0.5 * np.sum(np.log1p(-2 * s_hat * lam))
    K2 = 2 * np.sum(lam ** 2 / (1 - 2 * s_hat * lam) ** 2)
    w = np.sign(s_hat) * np.sqrt(max(2 * (s_hat * t - K), 0.0))
    v = s_hat * np.sqrt(K2)
    if w == 0 or v == 0:
        return _liu_sf(t, lam)
    return float(np.clip(stats.norm.sf(w) + stats.norm.pdf(w) * (1 / v - 1 / w), 0.0, 1.0))


def _liu_sf(t: float, lam: np.ndarray) -> float:
    """Liu, Tang & Zhang (2009) moment matching to a (noncentral) chi-square (central weights)."""
    c1, c2, c3, c4 = (np.sum(lam ** k) for k in (1, 2, 3, 4))
    s1, s2 = c3 / c2 ** 1.5, c4 / c2 ** 2
    if s1 ** 2 > s2:
        a = 1 / (s1 - np.sqrt(s1 ** 2 - s2))
        delta = s1 * a ** 3 - a ** 2
        dof = a ** 2 - 2 * delta
    else:
        delta = 0.0
        a = 1 / s2 ** 0.5
        dof = 1 / s2
    mu_q, sigma_q = c1, np.sqrt(2 * c2)
    mu_x, sigma_x = dof + delta, np.sqrt(2) * a
    tstar = (t - mu_q) / sigma_q * sigma_x + mu_x
    return float(stats.ncx2.sf(tstar, dof, delta) if delta > 0 else stats.chi2.sf(tstar, dof))


def weighted_chi2_sf(t: float, lam: np.ndarray, method: str = "auto") -> float:
    """Upper tail P(sum lam_i chi2_1 > t); ``lam`` non-negative weights (tiny ones are dropped)."""
    lam = np.asarray(lam, dtype=np.float64)
    lam = lam[lam > 1e-10 * max(lam.max(initial=0.0), 1e-300)]
    if lam.size == 0:
        return 1.0 if t <= 0 else 0.0
    if method == "liu":
        return _liu_sf(t, lam)
    if method == "saddlepoint":
        return saddlepoint_sf(t, lam)
    p = imhof_sf(t, lam)
    if method == "auto" and p < 1e-4:
        return saddlepoint_sf(t, lam)
    return p


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values (n,) of p-values (n,); NaN p-values stay NaN and are not counted."""
    p = np.asarray(p, dtype=np.float64)
    q = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if ok.size == 0:
        return q
    order = ok[np.argsort(p[ok], kind="stable")]
    ranked = p[order] * ok.size / np.arange(1, ok.size + 1)
    q[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    return q


def null_eps(weights: np.ndarray, variances: np.ndarray) -> float:
    """Null effect variance from a univariate mixture ordered by variance descending: the 2nd-widest
    component's variance, or the 3rd when the widest holds <= 1% of the weight (the last one when the
    mixture has fewer components)."""
    idx = 2 if weights[0] <= 0.01 else 1
    return float(variances[min(idx, len(variances) - 1)])


def gene_test(beta_shrunk: np.ndarray, r_gene: np.ndarray, eps: float, method: str = "auto") -> tuple[float, float]:
    """(T, P) for one gene: ``beta_shrunk`` (m,), ``r_gene`` (m, m) its SNPs' LD from the full matrix."""
    T = float(np.sum(np.square(beta_shrunk)))
    lam = np.linalg.eigvalsh(eps * r_gene.astype(np.float64))
    return T, weighted_chi2_sf(T, np.clip(lam, 0.0, None), method)
