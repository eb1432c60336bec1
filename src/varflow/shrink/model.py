"""The shrinkage ensemble as small data files and its inference, in numpy (no torch import).

Net (F = 2 r + 6 inputs): Linear(F, 64) + BatchNorm + ReLU + Dropout(0.2), Linear(64, 8) + BatchNorm +
ReLU + Dropout(0.1), Linear(8, 1); trained in torch (``varflow.shrink.train``). The network reads
scale-free features (``varflow.shrink.features``), standardised by the training means/SDs; exp of its
output is the SNP's prior variance of its joint effect in the block's effect units,
E[(zeta_j / u_b)^2 | features]. The shrunk effects are the block's posterior mean under that prior
(``varflow.shrink.posterior``). Weights are stored without pickle: ``weights.npz`` (float32 arrays
``m<i>/<torch state-dict key>``) + ``ensemble.json``.

Inference runs in numpy: in eval mode each BatchNorm is an affine map folded into the Linear before it,
so an ensemble is three stacked matrix products. Predicting 10 nets for a chromosome takes milliseconds,
and the effects step does not pay torch's import (~2 s) and memory (~0.3 GB).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from varflow.errors import VarflowError
from varflow.io.arrays import read_npz, write_npz
from varflow.io.provenance import Provenance
from varflow.shrink.features import effect_unit, n_features

WEIGHTS_FILE = "weights.npz"
CONFIG_FILE = "ensemble.json"
HIDDEN = (64, 8)
BN_EPS = 1e-5  # torch.nn.BatchNorm1d's default
# state-dict prefixes of the Linear and BatchNorm layers in ShrinkNet's nn.Sequential
LINEAR_LAYERS = ("layers.0", "layers.4", "layers.8")
BATCHNORM_LAYERS = ("layers.1", "layers.5")


def fold_batchnorm(state: dict[str, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """One net's eval-mode layers as affine maps [(W (out, in), b (out,))] x 3, BatchNorm folded into
    the Linear before it: BN(Wx + b) = (a * W) x + a * (b - running_mean) + beta, a = gamma / sqrt(var + eps)."""
    layers = []
    for i, lin in enumerate(LINEAR_LAYERS):
        W = np.asarray(state[f"{lin}.weight"], dtype=np.float64)
        b = np.asarray(state[f"{lin}.bias"], dtype=np.float64)
        if i < len(BATCHNORM_LAYERS):
            bn = BATCHNORM_LAYERS[i]
            a = np.asarray(state[f"{bn}.weight"], np.float64) / np.sqrt(np.asarray(state[f"{bn}.running_var"], np.float64) + BN_EPS)
            W = W * a[:, None]
            b = a * (b - np.asarray(state[f"{bn}.running_mean"], np.float64)) + np.asarray(state[f"{bn}.bias"], np.float64)
        layers.append((W, b))
    return layers


@dataclass
class Ensemble:
    """Trained ensemble: ``states`` one dict of float32 arrays per net (torch state-dict keys), feature
    ``mean``/``std`` (F,), ``top_r``, training ``info``."""

    states: list[dict[str, np.ndarray]]
    mean: np.ndarray
    std: np.ndarray
    top_r: int
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        # stacked folded layers: W_l (M, out, in) and b_l (M, out) over the M nets
        folded = [fold_batchnorm(state) for state in self.states]
        self._W = [np.stack([f[l][0] for f in folded]).astype(np.float32) for l in range(len(LINEAR_LAYERS))]
        self._b = [np.stack([f[l][1] for f in folded]).astype(np.float32) for l in range(len(LINEAR_LAYERS))]

    @property
    def n_models(self) -> int:
        return len(self.states)

    def forward(self, Z: np.ndarray) -> np.ndarray:
        """Each net's output (M, n) float32 for standardised features ``Z`` (n, F) float32."""
        h = np.broadcast_to(Z, (self.n_models, *Z.shape))
        for layer, (W, b) in enumerate(zip(self._W, self._b)):
            h = np.matmul(h, W.transpose(0, 2, 1)) + b[:, None, :]
            if layer < len(self._W) - 1:
                np.maximum(h, 0.0, out=h)
        return h[..., 0]

    def prior_variance(self, X: np.ndarray, batch: int = 16384) -> np.ndarray:
        """Each SNP's prior variance of its joint effect in z units^2, E[zeta^2 | features] (n,) float64,
        from its features ``X`` (n, F): the nets' mean of exp(output) (their log link), times u_b^2.
        All SNPs of all blocks at once, in row batches that bound the (M, batch, 64) hidden layer."""
        if X.shape[1] != n_features(self.top_r):
            raise VarflowError(f"model expects {n_features(self.top_r)} features (top_r={self.top_r}), "
                               f"got {X.shape[1]}")
        Z = ((np.asarray(X, np.float32) - self.mean) / self.std).astype(np.float32)
        total = np.zeros(len(X), dtype=np.float64)
        for i in range(0, len(Z), batch):
            out = self.forward(Z[i:i + batch]).astype(np.float64)
            total[i:i + batch] = np.exp(np.clip(out, -30.0, 30.0)).mean(axis=0)
        return total * np.square(effect_unit(X))

    def save(self, folder: Path | str, provenance: Provenance | None = None) -> Path:
        folder = Path(folder)
        arrays = {"mean": self.mean.astype(np.float32), "std": self.std.astype(np.float32)}
        for i, state in enumerate(self.states):
            for name, value in state.items():
                arrays[f"m{i}/{name}"] = np.asarray(value)
        write_npz(folder / WEIGHTS_FILE, arrays, provenance)
        config = {"n_models": self.n_models, "top_r": self.top_r, "n_features": n_features(self.top_r),
                  "output": "log_prior_variance", "info": self.info}
        (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        return folder

    @classmethod
    def load(cls, folder: Path | str | None = None) -> "Ensemble":
        """Load an ensemble folder; None = the default ensemble shipped in the package."""
        folder = Path(folder) if folder is not None else default_model_dir()
        cfg_path = folder / CONFIG_FILE
        if not cfg_path.exists():
            raise VarflowError(f"{folder}: not a shrink model folder (no {CONFIG_FILE})")
        config = json.loads(cfg_path.read_text())
        if config.get("output") != "log_prior_variance":
            raise VarflowError(f"{folder}: a shrink model of an older varflow (it predicted effects, not prior variances); "
                               "retrain it with `varflow shrink train`")
        arrays = read_npz(folder / WEIGHTS_FILE)
        n_in = int(config["n_features"])
        expected = {f"{LINEAR_LAYERS[0]}.weight": (HIDDEN[0], n_in), f"{LINEAR_LAYERS[1]}.weight": (HIDDEN[1], HIDDEN[0]),
                    f"{LINEAR_LAYERS[2]}.weight": (1, HIDDEN[1])}
        states = []
        for i in range(int(config["n_models"])):
            prefix = f"m{i}/"
            state = {k[len(prefix):]: np.array(v) for k, v in arrays.items() if k.startswith(prefix)}
            needed = [f"{lin}.{p}" for lin in LINEAR_LAYERS for p in ("weight", "bias")] + \
                     [f"{bn}.{p}" for bn in BATCHNORM_LAYERS for p in ("weight", "bias", "running_mean", "running_var")]
            missing = [k for k in needed if k not in state]
            wrong = [k for k, shape in expected.items() if k in state and state[k].shape != shape]
            if missing or wrong:
                what = f"missing {', '.join(missing)}" if missing else \
                    ", ".join(f"{k} has shape {state[k].shape}, expected {expected[k]}" for k in wrong)
                raise VarflowError(f"{folder / WEIGHTS_FILE}: weights of model {i} do not fit the network ({what})")
            states.append(state)
        return cls(states, arrays["mean"], arrays["std"], int(config["top_r"]), config.get("info", {}))


def default_model_dir() -> Path:
    """Folder of the default ensemble shipped with the package (``varflow/data/shrink``)."""
    return Path(str(resources.files("varflow") / "data" / "shrink"))
