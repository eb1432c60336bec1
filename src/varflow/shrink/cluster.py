"""Variational Bayesian mixture of zero-mean Gaussians (truncated stick-breaking prior) for shrunk
effects of one or more traits, run as many seeded restarts at once (arrays carry a restart axis).

Model, for x_n in R^D (D traits): v_k ~ Beta(1, alpha), pi_k = v_k prod_{j<k} (1 - v_j) (v_K = 1),
z_n ~ Cat(pi), Lambda_k ~ Wishart(nu0, W0 = I), x_n | z_n = k ~ N(0, Lambda_k^-1). Mean-field q(v) q(Lambda) q(z);
coordinate ascent until the ELBO changes by less than ``tol``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import betaln, digamma, logsumexp, multigammaln


@dataclass
class VBState:
    """Variational parameters of R restarts: ``gamma`` (R, K, 2) Beta parameters of the sticks,
    ``nu`` (R, K) Wishart degrees of freedom, ``W`` (R, K, D, D) Wishart scale matrices."""

    gamma: np.ndarray
    nu: np.ndarray
    W: np.ndarray


@dataclass
class _Data:
    """The data in the two layouts the updates need: ``aug`` (N, 1 + D*D) float64 rows [1, vec(x_n x_n')]
    (N_k and S_k in one matrix product) and ``quad`` (D(D+1)/2, N) float32 products x_i x_j, i <= j,
    with ``pairs`` (i, j) and ``factor`` (2 off the diagonal): the quadratic forms of the E-step as a
    few broadcast multiply-adds, several times faster than a batched matmul with an inner size of 1-4."""

    aug: np.ndarray
    quad: np.ndarray
    pairs: tuple[np.ndarray, np.ndarray]
    factor: np.ndarray

    @classmethod
    def of(cls, X: np.ndarray) -> "_Data":
        N, D = X.shape
        outer = (X[:, :, None] * X[:, None, :]).reshape(N, D * D)
        iu, ju = np.triu_indices(D)
        quad = (X[:, iu] * X[:, ju]).T.astype(np.float32)
        return cls(np.hstack([np.ones((N, 1)), outer]), np.ascontiguousarray(quad), (iu, ju),
                   np.where(iu == ju, 1.0, 2.0))


def _stats(data: _Data, resp: np.ndarray, D: int) -> tuple[np.ndarray, np.ndarray]:
    """N_k (R, K) and S_k = sum_n r_nk x_n x_n' (R, K, D, D) from responsibilities (R, K, N), in float64.

    Responsibilities are laid out (R, K, N): reductions over the short K axis then run as element-wise
    operations over long N-vectors, several times faster than reducing a short contiguous last axis."""
    M = np.matmul(resp.astype(np.float64), data.aug)
    return M[..., 0], M[..., 1:].reshape(resp.shape[0], resp.shape[1], D, D)


def _m_step(Nk: np.ndarray, Sk: np.ndarray, alpha: float, nu0: float, W0inv: np.ndarray) -> VBState:
    tail = np.cumsum(Nk[:, ::-1], axis=1)[:, ::-1] - Nk  # sum_{j>k} N_j
    gamma = np.stack([1.0 + Nk, alpha + tail], axis=-1)
    nu = nu0 + Nk
    W = np.linalg.inv(W0inv + Sk)
    return VBState(gamma, nu, W)


def _expectations(state: VBState, D: int) -> tuple[np.ndarray, np.ndarray]:
    """E[ln pi_k] (R, K) and E[ln |Lambda_k|] (R, K)."""
    g1, g2 = state.gamma[..., 0], state.gamma[..., 1]
    dsum = digamma(g1 + g2)
    e_ln_v = digamma(g1) - dsum
    e_ln_1mv = digamma(g2) - dsum
    e_ln_v[:, -1] = 0.0  # truncation: the last stick takes the rest
    e_ln_1mv[:, -1] = -np.inf
    before = np.concatenate([np.zeros((len(g1), 1)), np.cumsum(e_ln_1mv[:, :-1], axis=1)], axis=1)
    e_ln_pi = e_ln_v + before
    d = np.arange(1, D + 1)
    _, logdet = np.linalg.slogdet(state.W)
    e_ln_lam = digamma((state.nu[..., None] + 1 - d) / 2).sum(-1) + D * np.log(2.0) + logdet
    return e_ln_pi, e_ln_lam


def _e_step(data: _Data, D: int, state: VBState, e_ln_pi: np.ndarray, e_ln_lam: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Responsibilities summarised: sum_nk r ln r (R,), N_k (R, K) and S_k (R, K, D, D).

    The log-responsibility is l_nk - ln Z_n with l_nk = a_k + c_k . xx_n linear in the sufficient
    statistics and sum_k r_nk = 1, so sum_nk r_nk ln r_nk = sum_k (a_k N_k + c_k . S_k) - sum_n ln Z_n:
    the entropy term needs no pass over the big array beyond the ones that build r. In-place float32
    passes over the (R, K, N) array, because this is where the time goes."""
    R, K = state.nu.shape
    coef = state.W * (-0.5 * state.nu[:, :, None, None])                         # c_k (R, K, D, D)
    const = e_ln_pi + 0.5 * e_ln_lam - 0.5 * D * np.log(2 * np.pi)               # a_k (R, K)
    coef_u = (coef[:, :, data.pairs[0], data.pairs[1]] * data.factor).astype(np.float32)
    # float32 for the big array halves memory traffic; sums are accumulated in float64.
    resp = coef_u[:, :, 0, None] * data.quad[0]
    resp += const.astype(np.float32)[:, :, None]
    for t in range(1, len(data.quad)):
        resp += coef_u[:, :, t, None] * data.quad[t]
    shift = resp.max(axis=1, keepdims=True)
    resp -= shift
    np.exp(resp, out=resp)
    total = resp.sum(axis=1, keepdims=True)
    resp /= total
    log_z = (shift.astype(np.float64) + np.log(total, dtype=np.float64)).sum(axis=(1, 2))
    Nk, Sk = _stats(data, resp, D)
    qz = (const * Nk).sum(1) + (coef * Sk).sum((2, 3)).sum(1) - log_z
    return qz, Nk, Sk


def _log_wishart_norm(W: np.ndarray, nu: np.ndarray, D: int) -> np.ndarray:
    """ln B(W, nu) of the Wishart density."""
    _, logdet = np.linalg.slogdet(W)
    return -0.5 * nu * logdet - 0.5 * nu * D * np.log(2.0) - multigammaln(nu / 2, D)


def _elbo(D, qz, state, Nk, Sk, alpha, nu0, W0inv) -> np.ndarray:
    """Evidence lower bound (R,) of each restart."""
    e_ln_pi, e_ln_lam = _expectations(state, D)
    tr_SW = np.einsum("rkde,rked->rk", Sk, state.W)
    lik = (0.5 * Nk * (e_ln_lam - D * np.log(2 * np.pi)) - 0.5 * state.nu * tr_SW).sum(1)
    safe_pi = np.where(Nk > 0, e_ln_pi, 0.0)
    pz = (Nk * safe_pi).sum(1)
    g1, g2 = state.gamma[:, :-1, 0], state.gamma[:, :-1, 1]
    dsum = digamma(g1 + g2)
    e_ln_v, e_ln_1mv = digamma(g1) - dsum, digamma(g2) - dsum
    pv = ((alpha - 1) * e_ln_1mv - betaln(1.0, alpha)).sum(1)
    qv = ((g1 - 1) * e_ln_v + (g2 - 1) * e_ln_1mv - betaln(g1, g2)).sum(1)
    W0 = np.linalg.inv(W0inv)
    tr_W0inv_W = np.einsum("de,rked->rk", W0inv, state.W)
    plam = (_log_wishart_norm(W0[None, None], np.full_like(state.nu, nu0), D)
            + 0.5 * (nu0 - D - 1) * e_ln_lam - 0.5 * state.nu * tr_W0inv_W).sum(1)
    qlam = (_log_wishart_norm(state.W, state.nu, D) + 0.5 * (state.nu - D - 1) * e_ln_lam
            - 0.5 * state.nu * D).sum(1)
    return lik + pz - qz + pv - qv + plam - qlam


@dataclass
class VBRun:
    """One restart's result: ``weights`` (K,) E[pi], ``cov`` (K, D, D) E[Lambda]^-1, ``elbo``, ``n_iter``
    (coordinate-ascent sweeps), ``elbo_trace`` the ELBO after each accepted update."""

    weights: np.ndarray
    cov: np.ndarray
    elbo: float
    n_iter: int
    converged: bool
    elbo_trace: list[float] = field(default_factory=list)


def _sweep(data: _Data, D: int, Nk: np.ndarray, Sk: np.ndarray, prior: tuple, dead_count: float
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One coordinate-ascent sweep from sufficient statistics N_k (A, K), S_k (A, K, D, D): q(v) and
    q(Lambda) from them (M-step), then q(z) (E-step). Returns the new N_k, S_k and sum r ln r (A,).
    Trailing components with N_k <= ``dead_count`` in every restart are skipped (responsibility 0)."""
    state = _m_step(Nk, Sk, *prior)
    e_ln_pi, e_ln_lam = _expectations(state, D)
    alive = np.flatnonzero((Nk > dead_count).any(axis=0))
    live = int(alive[-1]) + 1 if alive.size else 1
    qz, Nk_live, Sk_live = _e_step(data, D, VBState(state.gamma[:, :live], state.nu[:, :live], state.W[:, :live]),
                                   e_ln_pi[:, :live], e_ln_lam[:, :live])
    Nk_new, Sk_new = np.zeros_like(Nk), np.zeros_like(Sk)
    Nk_new[:, :live], Sk_new[:, :live] = Nk_live, Sk_live
    return Nk_new, Sk_new, qz


def _bound(D: int, qz: np.ndarray, Nk: np.ndarray, Sk: np.ndarray, prior: tuple) -> np.ndarray:
    """ELBO (A,) of q(z) (through ``qz`` and the statistics it produced) with q(v), q(Lambda) from them."""
    return _elbo(D, qz, _m_step(Nk, Sk, *prior), Nk, Sk, *prior)


def _sort_components(Nk: np.ndarray, Sk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Components ordered by N_k descending. The stick-breaking prior is not exchangeable: this order
    tightens the bound and leaves empty components last with negligible weight."""
    order = np.argsort(-Nk, axis=1, kind="stable")
    return np.take_along_axis(Nk, order, axis=1), np.take_along_axis(Sk, order[:, :, None, None], axis=1)


def _extrapolate(N0, S0, N1, S1, N2, S2) -> tuple[np.ndarray, np.ndarray]:
    """SQUAREM proposal (Varadhan & Roland 2008, scheme S3) from three successive statistics, per
    restart: theta0 - 2 a r + a^2 v with r = theta1 - theta0, v = theta2 - 2 theta1 + theta0,
    a = min(-|r| / |v|, -1); projected back to valid statistics (N_k >= 0, S_k positive semidefinite)."""
    A = len(N0)
    r = np.hstack([(N1 - N0).reshape(A, -1), (S1 - S0).reshape(A, -1)])
    v = np.hstack([(N2 - 2 * N1 + N0).reshape(A, -1), (S2 - 2 * S1 + S0).reshape(A, -1)])
    rr, vv = (r * r).sum(1), (v * v).sum(1)
    step = np.minimum(-np.sqrt(rr / np.where(vv > 0, vv, 1.0)), -1.0)
    step = np.where(vv > 0, step, -1.0)[:, None, None]
    Nk = N0 - 2 * step[:, :, 0] * (N1 - N0) + step[:, :, 0] ** 2 * (N2 - 2 * N1 + N0)
    Sk = S0 - 2 * step[..., None] * (S1 - S0) + step[..., None] ** 2 * (S2 - 2 * S1 + S0)
    Nk = np.maximum(Nk, 0.0)
    vals, vecs = np.linalg.eigh(0.5 * (Sk + np.swapaxes(Sk, -1, -2)))
    Sk = (vecs * np.maximum(vals, 0.0)[..., None, :]) @ np.swapaxes(vecs, -1, -2)
    Sk[Nk == 0] = 0.0
    return Nk, Sk


def fit_vb_restarts(X: np.ndarray, n_restarts: int = 25, K: int = 20, alpha: float = 0.5, nu0: float = 5.0,
                    max_iter: int = 1000, tol: float = 1e-3, seed: int = 0, dead_count: float = 1e-3,
                    accelerate: bool = True) -> list[VBRun]:
    """Fit ``n_restarts`` seeded VB mixtures to ``X`` (N, D) at once; restart i is initialised from
    ``default_rng([seed, i])`` with random hard assignments (one trait: random |x|-rank groups). A restart
    stops once an update changes its ELBO by less than ``tol``; the others go on (up to ``max_iter`` sweeps).

    Coordinate ascent on zero-mean components converges slowly (components with similar variances
    drain into each other over hundreds of sweeps, often past 1,000). ``accelerate`` makes each update a
    SQUAREM cycle: two sweeps, an extrapolated proposal and a stabilising sweep from it, kept only when
    its ELBO is at least that of the plain second sweep, so the bound still never decreases and the fixed
    points are those of plain coordinate ascent; it reaches them in several times fewer sweeps."""
    N, D = X.shape
    prior = (alpha, nu0, np.eye(D))
    data = _Data.of(X)
    resp = np.zeros((n_restarts, K, N))
    rank = np.argsort(np.argsort(np.abs(X[:, 0]), kind="stable"), kind="stable")
    for i in range(n_restarts):
        rng = np.random.default_rng([seed, i])
        if D == 1:
            # One trait: start from K groups of increasing |x| split at random ranks. Zero-mean
            # components that start with equal variances separate very slowly (thousands of
            # iterations); starting them apart converges in tens to hundreds.
            cuts = np.sort(rng.choice(np.arange(1, N), size=min(K - 1, N - 1), replace=False))
            labels = np.searchsorted(cuts, rank, side="right")
        else:
            labels = rng.integers(0, K, size=N)
        resp[i, labels, np.arange(N)] = 1.0
    Nk, Sk = _sort_components(*_stats(data, resp, D))
    del resp
    elbo = np.full(n_restarts, -np.inf)
    traces: list[list[float]] = [[] for _ in range(n_restarts)]
    n_iter = np.zeros(n_restarts, dtype=int)
    active = np.ones(n_restarts, dtype=bool)
    while True:
        a = np.flatnonzero(active & (n_iter < max_iter))
        if a.size == 0:
            break
        N0, S0 = Nk[a], Sk[a]
        N1, S1, q1 = _sweep(data, D, N0, S0, prior, dead_count)
        if accelerate and n_iter[a].max() + 3 <= max_iter:
            N2, S2, q2 = _sweep(data, D, N1, S1, prior, dead_count)
            N3, S3, q3 = _sweep(data, D, *_extrapolate(N0, S0, N1, S1, N2, S2), prior, dead_count)
            take = _bound(D, q3, N3, S3, prior) >= _bound(D, q2, N2, S2, prior)
            N1 = np.where(take[:, None], N3, N2)
            S1 = np.where(take[:, None, None, None], S3, S2)
            q1 = np.where(take, q3, q2)
            n_iter[a] += 3
        else:
            n_iter[a] += 1
        Nk[a], Sk[a] = _sort_components(N1, S1)
        new_elbo = _bound(D, q1, Nk[a], Sk[a], prior)
        for i, value in zip(a, new_elbo):
            traces[i].append(float(value))
        done = np.abs(new_elbo - elbo[a]) < tol
        elbo[a] = new_elbo
        active[a[done]] = False
    state = _m_step(Nk, Sk, *prior)
    runs = []
    for i in range(n_restarts):
        g = state.gamma[i]
        ev = g[:, 0] / g.sum(1)
        ev[-1] = 1.0
        weights = ev * np.concatenate([[1.0], np.cumprod(1 - ev[:-1])])
        cov = np.linalg.inv(state.nu[i][:, None, None] * state.W[i])
        runs.append(VBRun(weights, cov, float(elbo[i]), int(n_iter[i]), not bool(active[i]), traces[i]))
    return runs


def effective_k(weights: np.ndarray, cover: float = 0.99) -> int:
    """Fewest components whose weights sum to more than ``cover``."""
    w = np.sort(weights)[::-1]
    return int(min(np.searchsorted(np.cumsum(w), cover, side="right") + 1, len(w)))


def _mixture_logpdf(X: np.ndarray, weights: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """(N, K) log pi_k N(x_n; 0, cov_k)."""
    D = X.shape[1]
    prec = np.linalg.inv(cov)
    _, logdet = np.linalg.slogdet(cov)
    quad = np.einsum("nd,kde,ne->nk", X, prec, X)
    return np.log(weights)[None] - 0.5 * (D * np.log(2 * np.pi) + logdet[None] + quad)


@dataclass
class MixtureFit:
    """Chosen mixture: ``weights`` (K,), ``cov`` (K, D, D) on the original effect scale, components ordered
    by trace(cov) descending; ``labels`` (N,) of the fitted SNPs; ``scale`` the 1/mean(sd) rescaling
    factor used; restart diagnostics in ``restarts``."""

    weights: np.ndarray
    cov: np.ndarray
    labels: np.ndarray
    scale: float
    k: int
    bic: float
    restarts: list[dict] = field(default_factory=list)

    def to_dict(self, traits: list[str]) -> dict:
        return {"traits": traits, "k": self.k, "weights": self.weights.tolist(), "cov": self.cov.tolist(),
                "scale": self.scale, "bic": self.bic, "restarts": self.restarts}


def choose_k(ks: list[int]) -> int:
    """Most common K (ties to the larger); K = 1 only when every run gave 1."""
    values, counts = np.unique(ks, return_counts=True)
    if len(values) > 1 and values[0] == 1:
        values, counts = values[1:], counts[1:]
    best = counts.max()
    return int(values[counts == best].max())


def fit_mixture(X: np.ndarray, n_restarts: int = 25, K: int = 20, alpha: float = 0.5, nu0: float = 5.0,
                max_iter: int = 1000, tol: float = 1e-3, seed: int = 0) -> MixtureFit:
    """Fit the zero-mean VB mixture to effects ``X`` (N, D) and pick one run (see module docs)."""
    X = np.asarray(X, dtype=np.float64)
    sd = X.std(axis=0)
    scale = 1.0 / float(np.mean(sd)) if np.mean(sd) > 0 else 1.0
    Xs = X * scale
    runs = fit_vb_restarts(Xs, n_restarts, K, alpha, nu0, max_iter, tol, seed)
    ks = [effective_k(r.weights) for r in runs]
    k = choose_k(ks)
    N, D = Xs.shape
    best = None
    diagnostics = []
    for i, (run, k_i) in enumerate(zip(runs, ks)):
        top = np.argsort(run.weights)[::-1][:k_i]
        w = run.weights[top] / run.weights[top].sum()
        loglik = float(logsumexp(_mixture_logpdf(Xs, w, run.cov[top]), axis=1).sum())
        n_params = k_i * D * (D + 1) / 2 + (k_i - 1)
        bic = -2 * loglik + n_params * np.log(N)
        diagnostics.append({"restart": i, "k": k_i, "elbo": run.elbo, "bic": bic, "n_iter": run.n_iter,
                            "converged": run.converged})
        if k_i == k and (best is None or bic < best[0]):
            best = (bic, w, run.cov[top])
    bic, w, cov = best
    order = np.argsort(-np.trace(cov, axis1=1, axis2=2), kind="stable")
    w, cov = w[order], cov[order]
    labels = np.argmax(_mixture_logpdf(Xs, w, cov), axis=1)
    return MixtureFit(w, cov / scale ** 2, labels, scale, k, float(bic), diagnostics)


def select_snps(effects: np.ndarray, max_tries: int = 10, min_pass: int = 1000) -> tuple[np.ndarray, float]:
    """Mask (J,) of SNPs to cluster and the cutoff used.

    ``effects`` (J, D): a SNP passes when |effect| > cutoff for any trait. The cutoff starts at 1e-5 /
    1e-4 / 1e-3 for J <= 10k / 50k / more and is halved (too few pass) or doubled (too many) up to
    ``max_tries`` times until between min(min_pass, upper / 2) and upper = J/3 (J/5 when J > 15k) pass.
    """
    J = effects.shape[0]
    cutoff = 1e-5 if J <= 10_000 else 1e-4 if J <= 50_000 else 1e-3
    upper = J / 5 if J > 15_000 else J / 3
    # When J/3 < min_pass the spec's window is empty; keep a feasible one of width 2 (the cutoff steps by 2).
    lower = min(min_pass, upper / 2)
    mags = np.abs(effects).max(axis=1)
    for _ in range(max_tries):
        n = int((mags > cutoff).sum())
        if n < lower:
            cutoff /= 2
        elif n > upper:
            cutoff *= 2
        else:
            break
    return mags > cutoff, cutoff
