"""Training-data simulation, ensemble training determinism, storage round trip, scale handling."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from varflow.shrink.features import compute_features
from varflow.shrink.model import Ensemble
from varflow.shrink.simulate_training import ld_factor, simulate_gwas, simulate_training_set
from varflow.shrink.train import train_ensemble


def _blocks():
    out = []
    for m, rho in ((30, 0.8), (20, 0.5)):
        i = np.arange(m)
        out.append((rho ** np.abs(i[:, None] - i[None, :])).astype(np.float32))
    return out


def test_simulated_gwas_has_the_right_distribution():
    blocks = _blocks()
    factors = [ld_factor(b) for b in blocks]
    np.testing.assert_allclose(factors[0] @ factors[0].T, blocks[0], atol=1e-5)
    rng = np.random.default_rng(0)
    n = 1000
    sims = [simulate_gwas(blocks, factors, 0.1, 0.4, n, rng) for _ in range(3000)]
    sim = sims[0]
    assert np.count_nonzero(sim.beta_true) == 5  # 10% of 50 SNPs
    g = sum(float(sim.beta_true[a:b] @ blk @ sim.beta_true[a:b]) for (a, b), blk in zip(((0, 30), (30, 50)), blocks))
    assert g == pytest.approx(0.4)  # rescaled to h2 exactly
    noise = np.array([s.beta_hat[:30] - blocks[0] @ s.beta_true[:30] for s in sims])  # (reps, 30)
    np.testing.assert_allclose(np.cov(noise.T) * n, blocks[0], atol=0.08)
    np.testing.assert_allclose(sim.se, np.sqrt((1 - sim.beta_hat ** 2) / n))


@pytest.fixture(scope="module")
def small_ensemble():
    data = simulate_training_set(_blocks(), n_reps=2, n_gwas=(500,), seed=1, top_r=4)
    return data, train_ensemble(data, top_r=4, n_models=2, seed=3, max_epochs=3, batch_size=64, lr=1e-3)


def test_training_is_deterministic_and_round_trips(small_ensemble, tmp_path):
    data, ens = small_ensemble
    again = train_ensemble(data, top_r=4, n_models=2, seed=3, max_epochs=3, batch_size=64, lr=1e-3)
    for a, b in zip(ens.states, again.states):
        assert list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)
    ens.save(tmp_path / "m")
    loaded = Ensemble.load(tmp_path / "m")
    X = data.X[:200]
    np.testing.assert_allclose(loaded.predict(X, 0.05), ens.predict(X, 0.05), rtol=1e-6)


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
    np.testing.assert_allclose(ens.predict(data.X[:300], 0.05, batch=64), ens.predict(data.X[:300], 0.05), rtol=1e-5, atol=1e-8)


def test_prediction_scales_with_the_gwas_scale(small_ensemble):
    """beta-like inputs are divided by the median SE: scaling beta_hat and SE by c scales the output by c."""
    _, ens = small_ensemble
    blocks = _blocks()
    rng = np.random.default_rng(2)
    sim = simulate_gwas(blocks, [ld_factor(b) for b in blocks], 0.1, 0.5, 800, rng)
    X1 = compute_features(sim.beta_hat, sim.se, blocks, 4)
    X2 = compute_features(sim.beta_hat * 10, sim.se * 10, blocks, 4)
    np.testing.assert_allclose(ens.predict(X2, float(np.median(sim.se * 10))),
                               10 * ens.predict(X1, float(np.median(sim.se))), rtol=1e-4, atol=1e-7)


def test_shipped_ensemble_loads_without_torch():
    ens = Ensemble.load(None)
    assert ens.n_models == 10 and ens.top_r == 15 and ens.mean.shape == (33,)
    # the effects step predicts without importing torch or scikit-learn (seconds and ~0.3 GB saved)
    code = ("import sys; from varflow.shrink.steps import effects_step; from varflow.shrink.model import Ensemble; "
            "Ensemble.load(None).predict(__import__('numpy').zeros((3, 33)), 0.01); "
            "print(sorted(m for m in ('torch', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
