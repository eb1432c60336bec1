"""Train the shrinkage ensemble: each net on its own seeded train/validation split, Adam, weighted MSE
(rows with a non-zero true effect weigh 2), early stopping on validation loss."""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch import nn

from varflow.shrink.features import n_features
from varflow.shrink.model import HIDDEN, Ensemble, scale_features
from varflow.shrink.simulate_training import TrainingSet

log = logging.getLogger("varflow")


class ShrinkNet(nn.Module):
    """One MLP of the ensemble: (batch, F) standardised features -> (batch,) scaled effect. Its
    state-dict keys are the names ``varflow.shrink.model`` reads for numpy inference."""

    def __init__(self, n_in: int, hidden: tuple[int, int] = HIDDEN, dropout: tuple[float, float] = (0.2, 0.1)):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(n_in, hidden[0]), nn.BatchNorm1d(hidden[0]), nn.ReLU(), nn.Dropout(dropout[0]),
            nn.Linear(hidden[0], hidden[1]), nn.BatchNorm1d(hidden[1]), nn.ReLU(), nn.Dropout(dropout[1]),
            nn.Linear(hidden[1], 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x).squeeze(-1)


def net_state(net: ShrinkNet) -> dict[str, np.ndarray]:
    """A trained net's parameters and BatchNorm running statistics as numpy arrays."""
    return {name: value.detach().cpu().numpy() for name, value in net.state_dict().items()}


def weighted_mse(pred: torch.Tensor, target: torch.Tensor, nonzero_weight: float = 2.0) -> torch.Tensor:
    weight = torch.where(target != 0, nonzero_weight, 1.0)
    return (weight * (pred - target) ** 2).sum() / weight.sum()


def train_net(Xtr: np.ndarray, ytr: np.ndarray, Xva: np.ndarray, yva: np.ndarray, seed: int, device: str,
              lr: float = 1e-4, batch_size: int = 256, max_epochs: int = 200, patience: int = 10
              ) -> tuple[ShrinkNet, dict]:
    """Train one net on standardised features; returns the net at its best validation epoch."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = ShrinkNet(Xtr.shape[1]).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    xtr, ttr = torch.from_numpy(Xtr).to(device), torch.from_numpy(ytr).to(device)
    xva, tva = torch.from_numpy(Xva).to(device), torch.from_numpy(yva).to(device)
    best, best_state, best_epoch, waited = np.inf, None, -1, 0
    for epoch in range(max_epochs):
        net.train()
        perm = torch.randperm(len(xtr), generator=gen).to(device)
        for i in range(0, len(perm) - 1, batch_size):
            idx = perm[i:i + batch_size]
            if len(idx) < 2:  # BatchNorm needs two rows
                continue
            opt.zero_grad()
            loss = weighted_mse(net(xtr[idx]), ttr[idx])
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            val = float(weighted_mse(net(xva), tva))
        if val < best - 1e-9:
            best, best_epoch, waited = val, epoch, 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            waited += 1
            if waited >= patience:
                break
    net.load_state_dict(best_state)
    net.eval()
    return net.cpu(), {"best_epoch": best_epoch, "epochs_run": epoch + 1, "val_loss": best}


def train_ensemble(data: TrainingSet, top_r: int, n_models: int = 10, seed: int = 0, device: str = "cpu",
                   val_fraction: float = 0.2, **kwargs) -> Ensemble:
    """Train ``n_models`` nets on ``data``; net i uses seed ``seed + i`` for its split, init and batches.

    Features are scaled by each replicate's median SE and standardised with the whole set's mean/SD
    (stored in the ensemble). Targets are beta_true / scale.
    """
    if data.X.shape[1] != n_features(top_r):
        raise ValueError("feature width does not match top_r")
    Xs = scale_features(data.X, data.scale, top_r)
    mean = Xs.mean(axis=0)
    std = Xs.std(axis=0)
    std[std == 0] = 1.0
    Z = ((Xs - mean) / std).astype(np.float32)
    y = (data.y / data.scale).astype(np.float32)
    nets, infos = [], []
    threads = torch.get_num_threads()
    if device == "cpu":
        # The layers are tiny: intra-op threads only add synchronisation (measured ~25x slower with 2
        # threads than 1 on a loaded 2-core machine), so train each net on one thread.
        torch.set_num_threads(1)
    try:
        for i in range(n_models):
            rng = np.random.default_rng(seed + i)
            is_val = rng.random(len(Z)) < val_fraction
            net, info = train_net(Z[~is_val], y[~is_val], Z[is_val], y[is_val], seed + i, device, **kwargs)
            log.info("shrink train: net %d/%d best epoch %d of %d, validation loss %.4g", i + 1, n_models,
                     info["best_epoch"], info["epochs_run"], info["val_loss"])
            nets.append(net)
            infos.append(info)
    finally:
        torch.set_num_threads(threads)
    return Ensemble([net_state(net) for net in nets], mean.astype(np.float32), std.astype(np.float32), top_r,
                    {"nets": infos, "n_rows": int(len(Z)), "seed": seed})
