"""Gene-level tests of one trait, three statistics over a gene's m SNPs with LD R_g (m, m) from the full LD:

* shrunk (the method's): T = sum_j beta_shrunk_j^2 against the null beta ~ N(0, eps R_g), eps the null
  effect variance of the trait's single-trait mixture; then T ~ sum_k eps lambda_k chi2_1.
* raw (calibrated): T_RAW = sum_j z_j^2 with z = BETA / SE the marginal z-scores. Without association
  z ~ N(0, R_g) at any sample size, so T_RAW ~ sum_k lambda_k chi2_1 exactly; no effect variance is
  estimated and nothing depends on how well the shrinkage fits. It tests "some SNP in LD with the gene
  is associated": a strong SNP outside the gene lifts every gene in LD with it.
* conditional (localised): T_COND = sum_j e_j^2, e = z_g - R_go zeta_o, the gene's z-scores less what
  the shrunk effects of the other SNPs of the same LD block predict through LD (zeta = BETA_SHRUNK / SE,
  the posterior-mean joint effects in z units; o = the block's SNPs outside the gene: the shrinkage's
  own block model). It asks "are this gene's own SNPs associated beyond what its neighbours explain".
  The shrunk effects are the block posterior mean zeta = A z, A = (R_b + D^-1)^-1 with D the ensemble's
  prior variances (PRIOR_VAR), so e = (S_g - R_go A_o) z = M z is linear in the block's z; under the
  null z ~ N(0, R_b), Cov(e) = M R_b M', and T_COND ~ sum_k mu_k chi2_1 with mu the eigenvalues of that
  covariance (block-diagonal over the blocks a gene spans). Using R_g there instead would make the test
  far too conservative (the posterior mean absorbs part of the noise: type-I error 0.002 at 0.05).

lambda = eigenvalues of R_g: one ``eigvalsh`` per gene serves the shrunk and raw statistics (the shrunk
weights are eps lambda); the conditional one takes the eigenvalues of its own null covariance.
R_g of a finite reference panel is rank-deficient or slightly indefinite: eigenvalues are clipped at 0.
Neither statistic inverts R_g, so z with a component outside R_g's column space (panel and GWAS
samples differ) needs no projection: such a component adds to T_RAW as the matching LD would.

Upper-tail probabilities of a weighted chi-square: Imhof's numerical inversion (accurate, default),
the Lugannani-Rice saddlepoint approximation (accurate far in the tail, where Imhof's integral loses
relative precision; ``auto`` switches to it below 1e-4) and Liu-Tang-Zhang moment matching (option).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize, stats

P_METHODS = ("auto", "imhof", "saddlepoint", "liu")


# Gauss-Kronrod 7-15 rule on [-1, 1] (QUADPACK qk15): 15 Kronrod nodes, the 7 Gauss nodes are the odd ones.
_XK = np.array([0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
                0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
                0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
                0.207784955007898467600689403773245, 0.0])
_WK = np.array([0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
                0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
                0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
                0.204432940075298892414161999234649, 0.209482141084727828012999174891714])
_WG = np.array([0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
                0.381830050505118944950369775488975, 0.417959183673469387755102040816327])
GK_NODES = np.concatenate([-_XK[:-1], _XK[::-1]])
GK_KRONROD = np.concatenate([_WK[:-1], _WK[::-1]])
GK_GAUSS = np.zeros(15)
GK_GAUSS[1::2] = np.concatenate([_WG[:-1], _WG[::-1]])
IMHOF_TOL = 1e-10  # absolute error target of a p-value
_MAX_ROUNDS = 12


def adaptive_gk(f, edges: np.ndarray, tol: float) -> tuple[complex, bool]:
    """Integral of ``f`` over [edges[0], edges[-1]] by Gauss-Kronrod 7-15 panels, every round splitting in
    two the panels whose |Kronrod - Gauss| exceeds their share of ``tol`` (share by length). ``f`` maps a
    (P, 15) node array to values of that shape (real or complex). Returns (integral, converged)."""
    a, b = edges[:-1].astype(np.float64), edges[1:].astype(np.float64)
    length = float(b.sum() - a.sum())
    total = 0.0
    for _ in range(_MAX_ROUNDS):
        half = 0.5 * (b - a)
        values = f((0.5 * (a + b))[:, None] + half[:, None] * GK_NODES)
        k = (values @ GK_KRONROD) * half
        err = np.abs(k - (values @ GK_GAUSS) * half)
        ok = err <= tol * (2 * half) / length
        total = total + k[ok].sum()
        if ok.all():
            return total, True
        mid = 0.5 * (a + b)[~ok]
        a, b = np.concatenate([a[~ok], mid]), np.concatenate([mid, b[~ok]])
    return total + k[~ok].sum(), False


def imhof_sf(t: float, lam: np.ndarray) -> float:
    """P(sum lam_i chi2_1 > t) by Imhof (1961): 1/2 + 1/pi int_0^inf sin(theta(u)) / (u rho(u)) du with
    theta(u) = sum arctan(lam_i u) / 2 - t u / 2 and rho(u) = prod (1 + lam_i^2 u^2)^(1/4).

    With weights scaled to max 1 and w = t / 2: the integrand is Im[g(u) e^(-i w u)], g(u) = prod
    (1 - i lam_i u)^(-1/2) / u, analytic for Re u > 0 (its branch points -i / lam_i lie on the imaginary
    axis). [0, u0] with u0 = k / w (about k / 2pi oscillations) is integrated on the real axis; the
    slowly decaying oscillating rest [u0, inf) is moved onto the ray u0 - i s, where the integrand decays
    as e^(-w s): int_u0^inf g e^(-i w u) du = -i e^(-i w u0) int_0^inf g(u0 - i s) e^(-w s) ds.
    k = max(8, m / 5) keeps a cluster of m equal weights from piling the ray's integrand up near
    s = 1 / lam. Both pieces are adaptive Gauss-Kronrod over numpy arrays (no per-node Python call);
    a piece that does not reach IMHOF_TOL falls back to QUADPACK's Fourier-integral rule (QAWF).
    """
    lam = np.asarray(lam, dtype=np.float64)
    top = lam.max()
    lam, t = lam / top, t / top
    if t <= 0:
        return 1.0
    omega = 0.5 * t
    u0 = max(8.0, lam.size / 5.0) / omega
    head_edges = [0.0]
    while head_edges[-1] < u0:  # panels <= 1 radian of e^(-i w u), <= half the distance to a singularity
        x = head_edges[-1]
        head_edges.append(min(u0, x + min(max(0.5, 0.5 * x), 1.0 / omega)))

    def head_f(x: np.ndarray) -> np.ndarray:
        lu = x[..., None] * lam
        c = 0.5 * np.arctan(lu).sum(-1)
        return np.sin(c - omega * x) * np.exp(-0.25 * np.log1p(lu * lu).sum(-1)) / x

    lam_u0 = lam * u0

    def ray_f(y: np.ndarray) -> np.ndarray:  # y = w s; 1 - i lam (u0 - i s) = (1 - lam s) - i lam u0
        re = 1.0 - (y / omega)[..., None] * lam
        log_mod = -0.25 * np.log(re * re + lam_u0 * lam_u0).sum(-1)
        phase = -0.5 * np.arctan2(-lam_u0, re).sum(-1)
        return np.exp(log_mod - y + 1j * phase) / (u0 - 1j * y / omega)

    tol = IMHOF_TOL * np.pi / 2
    head, ok_head = adaptive_gk(head_f, np.array(head_edges), tol)
    ray, ok_ray = adaptive_gk(ray_f, omega * u0 * np.arange(0.0, 12.5, 1.0), tol * omega)
    if not (ok_head and ok_ray):
        return _imhof_qawf(t, lam)
    tail = (-1j * np.exp(-1j * omega * u0) * ray / omega).imag
    return float(np.clip(0.5 + (head + tail) / np.pi, 0.0, 1.0))


def _imhof_qawf(t: float, lam: np.ndarray) -> float:
    """Imhof's integral (see ``imhof_sf``) by QUADPACK, one Python call per node: the fallback.

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


REPORT_STATISTICS = ("conditional", "raw", "shrunk")
DEFAULT_REPORT_STATISTIC = "conditional"  # calibrated and localised (benchmarks/shrink_accuracy.py)
_COLUMNS = {"conditional": ("T_COND", "P_COND", "Q_COND"), "raw": ("T_RAW", "P_RAW", "Q_RAW"),
            "shrunk": ("T", "P", "Q")}


def reported_columns(statistic: str) -> tuple[str, str, str]:
    """(T, P, Q) column names of the gene-tests table for ``statistic`` (conditional | raw | shrunk)."""
    if statistic not in REPORT_STATISTICS:
        raise ValueError(f"statistic must be one of {', '.join(REPORT_STATISTICS)}, got {statistic!r}")
    return _COLUMNS[statistic]


@dataclass(frozen=True)
class GeneTest:
    """One gene's statistics: ``T``/``P`` shrunk (method's), ``T_raw``/``P_raw`` on the raw z-scores,
    ``T_cond``/``P_cond`` on the z-scores conditional on the other SNPs' shrunk effects."""

    T: float
    P: float
    T_raw: float
    P_raw: float
    T_cond: float
    P_cond: float


def gene_eigenvalues(r_gene: np.ndarray) -> np.ndarray:
    """Eigenvalues (m,) of a gene's LD ``r_gene`` (m, m), float64, clipped at 0 (panel LD may be indefinite)."""
    return np.clip(np.linalg.eigvalsh(r_gene.astype(np.float64)), 0.0, None)


@dataclass
class BlockOperators:
    """One LD block's matrices for the conditional statistic, computed once for all its genes (float64):
    ``r`` R_b, ``a`` the posterior operator A = (R_b + D^-1)^-1, ``ra`` R_b A, ``rar`` R_b A R_b
    (J_b, J_b) each; ``zeta``, ``z`` (J_b,) posterior means and z-scores."""

    r: np.ndarray
    a: np.ndarray
    ra: np.ndarray
    rar: np.ndarray
    zeta: np.ndarray
    z: np.ndarray


def conditional_part(ops: BlockOperators, inside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A gene's residual e (m,) and its null covariance (m, m) within one LD block; ``inside`` (m,) the
    gene's SNP positions in the block.

    e = z_g - R_go zeta_o = M z with M = S_g - P, P = R_go A_o = (R A)_g - R_gg A_g; the covariance
    M R M' = MR_g - MR P' with MR = R_g - P R = R_g - (R A R)_g + R_gg (A R)_g: O(m^2 J_b) per gene
    from the block's precomputed products (A R = (R A)', both symmetric)."""
    r_gg = ops.r[np.ix_(inside, inside)]
    e = ops.z[inside] - (ops.r[inside] @ ops.zeta - r_gg @ ops.zeta[inside])
    P = ops.ra[inside] - r_gg @ ops.a[inside]
    MR = ops.r[inside] - ops.rar[inside] + r_gg @ ops.ra[:, inside].T
    cov = MR[:, inside] - MR @ P.T
    return e, 0.5 * (cov + cov.T)


def gene_test(beta_shrunk: np.ndarray, z: np.ndarray, r_gene: np.ndarray, eps: float, method: str = "auto",
              residual: np.ndarray | None = None, residual_cov: np.ndarray | None = None) -> GeneTest:
    """The three statistics of one gene: ``beta_shrunk``, ``z`` (m,) its SNPs' shrunk effects and
    marginal z-scores, ``r_gene`` (m, m) their LD from the full matrix, ``eps`` the null effect variance,
    ``residual`` (m,) and ``residual_cov`` (m, m) the conditional residual and its null covariance
    (``conditional_part``; None: the conditional statistic is NaN)."""
    if not eps > 0:
        raise ValueError(f"null effect variance eps must be > 0, got {eps}")
    lam = gene_eigenvalues(r_gene)
    T = float(np.sum(np.square(beta_shrunk, dtype=np.float64)))
    T_raw = float(np.sum(np.square(z, dtype=np.float64)))
    T_cond = P_cond = float("nan")
    if residual is not None:
        T_cond = float(np.sum(np.square(residual)))
        P_cond = weighted_chi2_sf(T_cond, gene_eigenvalues(residual_cov), method)
    # P(sum eps lam chi2 > T) = P(sum lam chi2 > T / eps): both are tails of the same weights
    return GeneTest(T, weighted_chi2_sf(T / eps, lam, method), T_raw, weighted_chi2_sf(T_raw, lam, method),
                    T_cond, P_cond)
