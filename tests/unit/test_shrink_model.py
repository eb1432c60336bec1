"""Training-data simulation, ensemble training determinism, storage round trip, units handling."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from varflow.shrink.features import compute_features, effect_unit
from varflow.shrink.model import Ensemble
from varflow.shrink.simulate_training import LdSegment, TrainingGrid, simulate_gwas, simulate_training_set
from varflow.shrink.train import train_ensemble
from varflow.shrink.train_config import NetTraining


def _segment(top_r: int = 4) -> LdSegment:
    blocks = []
    for m, rho in ((30, 0.8), (20, 0.5)):
        i = np.arange(m)
        blocks.append((rho ** np.abs(i[:, None] - i[None, :])).astype(np.float32))
    freq = np.random.default_rng(0).uniform(0.05, 0.5, 50)
    return LdSegment(blocks, freq, "ar1", top_r)


def test_simulated_gwas_has_the_right_distribution():
    seg = _segment()
    np.testing.assert_allclose(seg.factors[0] @ seg.factors[0].T, seg.blocks[0], atol=1e-5)
    rng = np.random.default_rng(0)
    n = 1000
    sims = [simulate_gwas(seg, 0.1, 0.4, n, rng) for _ in range(3000)]
    sim = sims[0]
    assert np.count_nonzero(sim.beta_true) == 5  # 10% of 50 SNPs
    g = sum(float(sim.beta_true[a:b] @ blk @ sim.beta_true[a:b]) for (a, b), blk in zip(((0, 30), (30, 50)), seg.blocks))
    assert g == pytest.approx(0.4)  # rescaled to h2 exactly
    noise = np.array([s.beta_hat[:30] - seg.blocks[0] @ s.beta_true[:30] for s in sims])  # (reps, 30)
    np.testing.assert_allclose(np.cov(noise.T) * n, seg.blocks[0], atol=0.08)
    np.testing.assert_allclose(sim.se, np.sqrt((1 - sim.beta_hat ** 2) / n))
    assert not simulate_gwas(seg, 0.1, 0.0, n, rng).beta_true.any()  # h2 = 0: a null trait


def test_maf_dependent_effects_follow_het_power_s():
    """s = -0.25: a causal SNP's effect variance is proportional to (2f(1-f))^-0.25 before rescaling."""
    seg = _segment()
    rng = np.random.default_rng(1)
    het = 2 * seg.freq * (1 - seg.freq)
    draws = np.array([simulate_gwas(seg, 1.0, 0.3, 1000, rng, s=-0.25).beta_true for _ in range(4000)])
    ratio = (draws ** 2).mean(axis=0) / np.power(het, -0.25)
    assert ratio.std() / ratio.mean() < 0.08  # same constant for every SNP (sampling noise ~5%)
    flat = np.array([simulate_gwas(seg, 1.0, 0.3, 1000, rng, s=0.0).beta_true for _ in range(4000)])
    assert np.corrcoef((flat ** 2).mean(axis=0), het)[0, 1] < 0.3 < np.corrcoef((draws ** 2).mean(axis=0), -het)[0, 1]


GRID = TrainingGrid(n_gwas=(500, 5000), h2=(0.3,), p_causal=(0.1,), s=(0.0,), n_reps=3, snp_fraction=1.0)
NETS = NetTraining(n_models=2, epochs=3, batch_size=64, lr=1e-3)


@pytest.fixture(scope="module")
def small_ensemble():
    data = simulate_training_set([_segment()], GRID, seed=1)
    return data, train_ensemble(data, top_r=4, cfg=NETS, seed=3)


def test_training_set_targets_are_true_effects_in_z_units():
    seg = _segment()
    data = simulate_training_set([seg], GRID, seed=1)
    assert data.X.shape == (6 * 50, 14) and int(data.replicate.max()) == 5
    rng = np.random.default_rng(1)  # the same stream: the first replicate again
    sim = simulate_gwas(seg, 0.1, 0.3, 500, rng)
    z = sim.beta_hat / sim.se
    X = data.X[:50]
    np.testing.assert_allclose(X, compute_features(z, seg.blocks, 4), rtol=1e-5, atol=1e-6)
    unit = np.sqrt(np.maximum((np.mean(z[:30] ** 2) - 1) / np.mean((seg.blocks[0].astype(float) ** 2).sum(1)), 1e-2))
    np.testing.assert_allclose(effect_unit(X[:30]), unit, rtol=1e-5)
    np.testing.assert_allclose(data.y[:50], sim.beta_true / sim.se / effect_unit(X), rtol=1e-5)


def test_training_is_deterministic_and_round_trips(small_ensemble, tmp_path):
    data, ens = small_ensemble
    again = train_ensemble(data, top_r=4, cfg=NETS, seed=3)
    for a, b in zip(ens.states, again.states):
        assert list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)
    ens.save(tmp_path / "m")
    loaded = Ensemble.load(tmp_path / "m")
    X = data.X[:200]
    np.testing.assert_allclose(loaded.prior_variance(X), ens.prior_variance(X), rtol=1e-6)


def test_numpy_inference_equals_the_torch_nets(small_ensemble):
    """The numpy forward (BatchNorm folded into the Linear layers) equals torch's eval-mode nets, built
    back from the stored states, on features far from the training distribution too."""
    import torch

    from varflow.shrink.train import ShrinkNet

    data, ens = small_ensemble
    rng = np.random.default_rng(5)
    Z = np.concatenate([data.X[:300], rng.normal(0, 3, size=(300, data.X.shape[1]))]).astype(np.float32)
    expected = []
    for state in ens.states:
        net = ShrinkNet(Z.shape[1])
        net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
        net.eval()
        with torch.no_grad():
            expected.append(net(torch.from_numpy(Z)).numpy())
    np.testing.assert_allclose(ens.forward(Z), np.stack(expected), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ens.prior_variance(data.X[:300], batch=64), ens.prior_variance(data.X[:300]), rtol=1e-5)
    # prior variance = mean over nets of exp(output), times the block's effect unit squared
    standardised = ((data.X[:300] - ens.mean) / ens.std).astype(np.float32)
    expect = np.exp(ens.forward(standardised).astype(np.float64)).mean(axis=0) * np.exp(data.X[:300, -1])
    np.testing.assert_allclose(ens.prior_variance(data.X[:300]), expect, rtol=1e-4)


def test_shrunk_effects_follow_the_units_of_the_gwas():
    """The same GWAS in other units (betas and SEs x 37, e.g. cm instead of m; or another N with the
    same z-scores) gets the same shrunk effects in its own units: z in, z-unit posterior mean out, times
    the SNP's SE; and shrinkage beats the raw estimates on this replicate."""
    import pandas as pd

    from varflow.shrink.effects import shrink_effects
    from varflow.shrink.ldblocks import BlockLD

    ens = Ensemble.load(None)
    seg = _segment(ens.top_r)
    sim = simulate_gwas(seg, 0.1, 0.5, 800, np.random.default_rng(2))
    snp = np.array([f"s{i}" for i in range(50)])
    bld = BlockLD("1", snp, np.arange(1, 51) * 100, np.full(50, "G"), np.full(50, "A"), np.array([0, 30]),
                  np.array([30, 50]), seg.blocks)
    out = []
    for k in (1.0, 37.0):
        ss = pd.DataFrame({"CHR": "1", "SNP": snp, "A1": "G", "A2": "A", "BETA": k * sim.beta_hat, "SE": k * sim.se})
        out.append(shrink_effects(ss, bld, ensemble=ens)[0]["BETA_SHRUNK"].to_numpy())
    np.testing.assert_allclose(out[1], 37 * out[0], rtol=1e-5)
    assert np.corrcoef(out[0], sim.beta_true)[0, 1] > np.corrcoef(sim.beta_hat, sim.beta_true)[0, 1]


def test_block_posterior_mean_against_the_direct_formula():
    """(R + ridge I + D^-1)^-1 z by explicit inverse equals the stable D^1/2 (D^1/2 R' D^1/2 + I)^-1
    D^1/2 z form; a SNP with prior variance 0 gets exactly 0; rank-deficient LD is fine."""
    from varflow.shrink.posterior import LD_RIDGE, block_posterior_mean

    rng = np.random.default_rng(3)
    G = rng.normal(size=(20, 40))  # 20 samples, 40 SNPs: LD of rank <= 20
    r = np.corrcoef(G.T)
    z = rng.normal(size=40) * 3
    d = rng.uniform(0.1, 4.0, 40)
    direct = np.linalg.inv(r + LD_RIDGE * np.eye(40) + np.diag(1 / d)) @ z
    np.testing.assert_allclose(block_posterior_mean(z, r, d), direct, rtol=1e-8)
    d[5] = 0.0
    assert block_posterior_mean(z, r, d)[5] == 0.0


def test_em_refinement_is_the_posterior_second_moment():
    """refined_prior_var = m^2 + diag(V), V = (R' + D^-1)^-1 the posterior covariance, by explicit
    inverse; shrink_blocks applies it block by block and returns the prior its posterior used."""
    from varflow.shrink.posterior import LD_RIDGE, block_posterior_mean, refined_prior_var, shrink_blocks

    rng = np.random.default_rng(4)
    blocks, zs, ds = [], [], []
    for m in (30, 45):
        G = rng.normal(size=(25, m))  # rank-deficient panel LD
        blocks.append(np.corrcoef(G.T).astype(np.float32))
        zs.append(rng.normal(size=m) * 2)
        ds.append(rng.uniform(0.01, 5.0, m))
    expect_prior, expect_mean = [], []
    for r, z, d in zip(blocks, zs, ds):
        V = np.linalg.inv(r.astype(np.float64) + LD_RIDGE * np.eye(len(z)) + np.diag(1 / d))
        refined = (V @ z) ** 2 + np.diag(V)
        np.testing.assert_allclose(refined_prior_var(z, r, d), refined, rtol=1e-8)
        expect_prior.append(refined)
        expect_mean.append(np.linalg.inv(r.astype(np.float64) + LD_RIDGE * np.eye(len(z)) + np.diag(1 / refined)) @ z)
    zeta, prior = shrink_blocks(np.concatenate(zs), blocks, np.concatenate(ds))
    np.testing.assert_allclose(prior, np.concatenate(expect_prior), rtol=1e-8)
    np.testing.assert_allclose(zeta, np.concatenate(expect_mean), rtol=1e-7)
    np.testing.assert_allclose(zeta[:30], block_posterior_mean(zs[0], blocks[0], expect_prior[0]), rtol=1e-10)


def test_shipped_ensemble_loads_without_torch():
    ens = Ensemble.load(None)
    assert ens.n_models == 10 and ens.top_r == 15 and ens.mean.shape == (36,)
    # the effects step predicts without importing torch or scikit-learn (seconds and ~0.3 GB saved)
    code = ("import sys; from varflow.shrink.steps import effects_step; from varflow.shrink.model import Ensemble; "
            "Ensemble.load(None).prior_variance(__import__('numpy').zeros((3, 36))); "
            "print(sorted(m for m in ('torch', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
