"""Train the shrinkage ensemble: each net on its own seeded train/validation split (replicates are
split whole, so validation GWAS are unseen, and only reported), Adam with cosine annealing.

Each net learns a SNP's prior variance E[t | features], t = (zeta / u_b)^2 the squared true effect in
the block's effect units, through a log link f with the Poisson loss exp(f) - t f: its minimiser is
exp(f) = E[t | features] (a proper loss for the mean, so the prior variance is calibrated), it stays
positive, and it is far less dominated by the rare huge t of sparse architectures than squared error.
"""

from __future__ import annotations

import logging
import numpy as np
import torch
from torch import nn

from varflow.shrink.features import n_features
from varflow.shrink.model import HIDDEN, Ensemble
from varflow.shrink.simulate_training import TrainingSet
from varflow.shrink.train_config import NetTraining

log = logging.getLogger("varflow")


class ShrinkNet(nn.Module):
    """One MLP of the ensemble: (batch, F) standardised features -> (batch,) log prior variance. Its
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


def poisson_loss(log_mean: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean of exp(f) - t f over the batch (Poisson deviance up to terms free of f)."""
    return torch.mean(torch.exp(log_mean) - target * log_mean)


def train_net(Xtr: np.ndarray, ytr: np.ndarray, Xva: np.ndarray, yva: np.ndarray, seed: int, device: str,
              cfg: NetTraining) -> tuple[ShrinkNet, dict]:
    """Train one net on standardised features for ``cfg.epochs`` epochs; returns it at its best
    validation epoch from ``cfg.min_epochs`` on, with the per-epoch validation losses."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = ShrinkNet(Xtr.shape[1]).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    steps_per_epoch = max(1, -(-len(Xtr) // cfg.batch_size))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs * steps_per_epoch)
    xtr, ttr = torch.from_numpy(Xtr).to(device), torch.from_numpy(ytr).to(device)
    xva, tva = torch.from_numpy(Xva).to(device), torch.from_numpy(yva).to(device)
    val_losses: list[float] = []
    best_state, best_epoch = None, -1
    for epoch in range(cfg.epochs):
        net.train()
        perm = torch.randperm(len(xtr), generator=gen).to(device)
        for i in range(0, len(perm), cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            if len(idx) >= 2:  # BatchNorm needs two rows
                opt.zero_grad()
                poisson_loss(net(xtr[idx]), ttr[idx]).backward()
                opt.step()
            schedule.step()
        net.eval()
        with torch.no_grad():
            val_losses.append(round(float(poisson_loss(net(xva), tva)), 5))
        if epoch >= min(cfg.min_epochs, cfg.epochs - 1) and (best_state is None or val_losses[-1] < val_losses[best_epoch]):
            best_state, best_epoch = {k: v.detach().clone() for k, v in net.state_dict().items()}, epoch
    net.load_state_dict(best_state)
    net.eval()
    return net.cpu(), {"best_epoch": best_epoch, "val_loss": val_losses}


def train_ensemble(data: TrainingSet, top_r: int, cfg: NetTraining = NetTraining(), seed: int = 0,
                   device: str = "cpu") -> Ensemble:
    """Train ``cfg.n_models`` nets on ``data`` (z-unit features and targets); net i uses seed
    ``seed + i`` for its split, initialisation and batches. Features are standardised with the whole
    set's mean/SD (stored in the ensemble). Validation holds out whole replicates (rows when there are
    fewer than 5 replicates)."""
    if data.X.shape[1] != n_features(top_r):
        raise ValueError("feature width does not match top_r")
    mean = data.X.mean(axis=0, dtype=np.float64).astype(np.float32)
    std = data.X.std(axis=0, dtype=np.float64).astype(np.float32)
    std[std == 0] = 1.0
    Z = ((data.X - mean) / std).astype(np.float32)
    y = np.square(data.y, dtype=np.float64).astype(np.float32)  # squared true effects, the targets
    n_reps = int(data.replicate.max()) + 1
    nets, infos = [], []
    threads = torch.get_num_threads()
    if device == "cpu":
        # The layers are tiny: intra-op threads only add synchronisation (measured ~25x slower with 2
        # threads than 1 on a loaded 2-core machine), so train each net on one thread.
        torch.set_num_threads(1)
    try:
        for i in range(cfg.n_models):
            rng = np.random.default_rng(seed + i)
            if n_reps >= 5:
                val_reps = rng.permutation(n_reps)[:max(1, int(round(cfg.val_fraction * n_reps)))]
                is_val = np.isin(data.replicate, val_reps)
            else:
                is_val = rng.random(len(Z)) < cfg.val_fraction
            net, info = train_net(Z[~is_val], y[~is_val], Z[is_val], y[is_val], seed + i, device, cfg)
            log.info("shrink train: net %d/%d, best epoch %d, validation loss by epoch %s", i + 1, cfg.n_models,
                     info["best_epoch"], info["val_loss"])
            nets.append(net)
            infos.append(info)
    finally:
        torch.set_num_threads(threads)
    return Ensemble([net_state(net) for net in nets], mean, std, top_r,
                    {"nets": infos, "n_rows": int(len(Z)), "seed": seed})
