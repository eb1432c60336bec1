"""The shrinkage network, an ensemble of them, and their storage as small data files.

Net (F = 2 r + 3 inputs): Linear(F, 64) + BatchNorm + ReLU + Dropout(0.2), Linear(64, 8) + BatchNorm +
ReLU + Dropout(0.1), Linear(8, 1). The network sees beta-like features (beta_hat, SE, neighbour
beta_hat) divided by the dataset's median SE, so that its inputs look like z-scores whatever the GWAS
sample size, then standardised by the training means/SDs; its output times that scale is the effect.
Weights are stored without pickle: ``weights.npz`` (float32 arrays ``m<i>/<param>``) + ``ensemble.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch import nn

from varflow.errors import VarflowError
from varflow.io.arrays import read_npz, write_npz
from varflow.io.provenance import Provenance
from varflow.shrink.features import n_features

WEIGHTS_FILE = "weights.npz"
CONFIG_FILE = "ensemble.json"


class ShrinkNet(nn.Module):
    """One MLP of the ensemble: (batch, F) standardised features -> (batch,) scaled effect."""

    def __init__(self, n_in: int, hidden: tuple[int, int] = (64, 8), dropout: tuple[float, float] = (0.2, 0.1)):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(n_in, hidden[0]), nn.BatchNorm1d(hidden[0]), nn.ReLU(), nn.Dropout(dropout[0]),
            nn.Linear(hidden[0], hidden[1]), nn.BatchNorm1d(hidden[1]), nn.ReLU(), nn.Dropout(dropout[1]),
            nn.Linear(hidden[1], 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x).squeeze(-1)


def beta_columns(top_r: int) -> np.ndarray:
    """Feature columns holding beta-like values (beta_hat, SE, neighbour beta_hat) that scale with SE."""
    return np.r_[0, 1, 3:3 + top_r]


def scale_features(X: np.ndarray, scale: np.ndarray | float, top_r: int) -> np.ndarray:
    """Divide the beta-like columns of ``X`` (n, F) by ``scale`` (scalar or (n,)); returns a float32 copy."""
    out = np.array(X, dtype=np.float32, copy=True)
    sc = np.asarray(scale, dtype=np.float32)
    out[:, beta_columns(top_r)] /= sc[:, None] if sc.ndim else sc
    return out


@dataclass
class Ensemble:
    """Trained ensemble: ``nets`` in eval mode, feature ``mean``/``std`` (F,), ``top_r``, training ``info``."""

    nets: list[ShrinkNet]
    mean: np.ndarray
    std: np.ndarray
    top_r: int
    info: dict = field(default_factory=dict)

    def predict(self, X: np.ndarray, scale: float, device: str = "cpu", batch: int = 65536) -> np.ndarray:
        """Ensemble-mean effect (n,) float64 for raw features ``X`` (n, F) of one dataset whose median SE
        is ``scale``; one batched forward pass per net over all SNPs of all blocks."""
        if X.shape[1] != n_features(self.top_r):
            raise VarflowError(f"model expects {n_features(self.top_r)} features (top_r={self.top_r}), "
                               f"got {X.shape[1]}")
        Z = (scale_features(X, scale, self.top_r) - self.mean) / self.std
        xt = torch.from_numpy(Z.astype(np.float32))
        total = np.zeros(len(X), dtype=np.float64)
        with torch.no_grad():
            for net in self.nets:
                net.to(device).eval()
                preds = [net(xt[i:i + batch].to(device)).cpu().numpy() for i in range(0, len(xt), batch)]
                total += np.concatenate(preds) if preds else 0.0
        return total / len(self.nets) * scale

    def save(self, folder: Path | str, provenance: Provenance | None = None) -> Path:
        folder = Path(folder)
        arrays = {"mean": self.mean.astype(np.float32), "std": self.std.astype(np.float32)}
        for i, net in enumerate(self.nets):
            for name, value in net.state_dict().items():
                arrays[f"m{i}/{name}"] = value.detach().cpu().numpy()
        write_npz(folder / WEIGHTS_FILE, arrays, provenance)
        config = {"n_models": len(self.nets), "top_r": self.top_r, "n_features": n_features(self.top_r),
                  "scale": "median_se", "info": self.info}
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
        arrays = read_npz(folder / WEIGHTS_FILE)
        nets = []
        for i in range(int(config["n_models"])):
            net = ShrinkNet(int(config["n_features"]))
            prefix = f"m{i}/"
            state = {k[len(prefix):]: torch.from_numpy(np.array(v)) for k, v in arrays.items() if k.startswith(prefix)}
            try:
                net.load_state_dict(state)
            except RuntimeError as exc:
                raise VarflowError(f"{folder / WEIGHTS_FILE}: weights of model {i} do not fit the network ({exc})") from None
            net.eval()
            nets.append(net)
        return cls(nets, arrays["mean"], arrays["std"], int(config["top_r"]), config.get("info", {}))


def default_model_dir() -> Path:
    """Folder of the default ensemble shipped with the package (``varflow/data/shrink``)."""
    return Path(str(resources.files("varflow") / "data" / "shrink"))
