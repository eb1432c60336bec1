"""The convolutional trunk shared by the reference and the personal model (SAGE-net architecture).

Inputs are channels-last one-hot windows (B, L, 4); the trunk transposes them to (B, 4, L).
Trunk: Conv1d(4, C1, k=10, 'same') + ReLU; Conv1d(C1, C, k=5) + BatchNorm + ReLU + AvgPool(p);
``n_res`` x residual [Conv1d(C, C, k=5) + BatchNorm + ReLU] each followed by AvgPool(p); the final
positions are averaged to one (with the published sizes, L = 40 kb and p = 10, one position is left
after ceil-mode pooling; smaller windows or fewer blocks leave more and are averaged) -> (B, C).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from varflow.s2e.onehot import as_onehot


@dataclass
class ModelConfig:
    """Architecture sizes; defaults are the published ones (``tiny`` for CPU tests)."""

    window: int = 40_000
    conv1_channels: int = 900
    channels: int = 256
    n_res: int = 4
    pool: int = 10
    hidden: int = 256

    @classmethod
    def tiny(cls, window: int) -> "ModelConfig":
        return cls(window=window, conv1_channels=16, channels=16, n_res=2, pool=4, hidden=16)

    def to_dict(self) -> dict:
        return asdict(self)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel_size=5, padding=2)
        self.bn = nn.BatchNorm1d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.relu(self.bn(self.conv(x)))


class Trunk(nn.Module):
    """(B, L, 4) one-hot or (B, L) uint8 base codes (``varflow.s2e.onehot``) -> (B, channels) embedding."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        # 'same' padding for the even kernel (4 left, 5 right), written out to avoid torch's copy warning
        self.conv1 = nn.Conv1d(4, cfg.conv1_channels, kernel_size=10)
        self.conv2 = nn.Conv1d(cfg.conv1_channels, cfg.channels, kernel_size=5, padding=2)
        self.bn2 = nn.BatchNorm1d(cfg.channels)
        self.blocks = nn.ModuleList(ResidualBlock(cfg.channels) for _ in range(cfg.n_res))
        # ceil_mode keeps at least one position whatever the window
        self.pool = nn.AvgPool1d(cfg.pool, ceil_mode=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv1(nn.functional.pad(as_onehot(x).transpose(1, 2), (4, 5))))
        # Only the two full-resolution convolutions (nearly all of the compute) run in bf16 under
        # autocast; pooling and the residual blocks run in float32. Each pooling level shrinks a
        # variant's local change relative to the pooled values (~1e-4 after the last level at 40 kb),
        # below bf16's ~3 significant digits, and the personal model reads exactly that change. A
        # 40 kb model all in bf16 predicted one deviation for every individual; with only the heads
        # in float32 its predictions correlated -0.57..0.26 per gene with float32 ones; as here, 1.00.
        # Without autocast .float() is a no-op and nothing changes.
        x = self.pool(torch.relu(self.bn2(self.conv2(x))).float())
        with torch.autocast(device_type=x.device.type, enabled=False):
            for block in self.blocks:
                x = self.pool(block(x))
            return x.mean(dim=2)


class ReferenceModel(nn.Module):
    """Reference sequence -> gene mean expression: trunk, Linear+ReLU, hidden Linear+ReLU, Linear(1)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.trunk = Trunk(cfg)
        self.shared = nn.Sequential(nn.Linear(cfg.channels, cfg.hidden), nn.ReLU())
        self.mean_head = nn.Sequential(nn.Linear(cfg.hidden, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, 1))

    def forward(self, ref: torch.Tensor) -> torch.Tensor:
        """ref (B, L, 4) -> (B,) predicted gene mean."""
        return self.mean_head(self.shared(self.trunk(ref))).squeeze(1)


class PersonalModel(nn.Module):
    """Reference + two haplotypes -> (gene mean, individual's z-scored deviation).

    The trunk embeds the reference (once per gene in the batch) and both haplotypes in one pass;
    haplotype embeddings are averaged; one shared Linear+ReLU maps both to z_ref and z_pers; the
    mean head reads z_ref, the deviation head reads L * (z_pers - z_ref) (zero for a reference-only
    genome) through a BatchNorm. A few variants move the position-averaged embedding by ~1/L of their local change
    (a variance of ~1e-8 at L = 8 kb, ~1e-10 at 40 kb): far below BatchNorm's eps (1e-5) and its
    initial running variance (1), so the batch statistics could not normalise it and the running
    statistics used at evaluation stayed those of the initialisation (eval-mode predictions ~50x
    smaller than, and a different function from, the trained one). Multiplying by the window length
    turns the mean over positions back into a sum — a local change's own size, whatever L — which
    the BatchNorm then brings to unit scale in training and evaluation alike.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.trunk = Trunk(cfg)
        self.shared = nn.Sequential(nn.Linear(cfg.channels, cfg.hidden), nn.ReLU())
        self.mean_head = nn.Sequential(nn.Linear(cfg.hidden, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, 1))
        self.dev_head = nn.Sequential(nn.BatchNorm1d(cfg.hidden), nn.Linear(cfg.hidden, cfg.hidden), nn.ReLU(),
                                      nn.Linear(cfg.hidden, 1))

    @classmethod
    def from_reference(cls, ref_model: ReferenceModel) -> "PersonalModel":
        """A personal model whose trunk, shared layer and mean head start from a trained reference model."""
        model = cls(ref_model.cfg)
        model.trunk.load_state_dict(ref_model.trunk.state_dict())
        model.shared.load_state_dict(ref_model.shared.state_dict())
        model.mean_head.load_state_dict(ref_model.mean_head.state_dict())
        return model

    def forward(self, ref: torch.Tensor, ref_index: torch.Tensor, hap1: torch.Tensor, hap2: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """ref (G_b, L, 4) unique reference windows, ref_index (B,) item -> row of ref, haps (B, L, 4).

        Returns (mean (B,), deviation (B,)).
        """
        g, b = ref.shape[0], hap1.shape[0]
        # One trunk pass over [references; haplotypes 1; haplotypes 2]: in training mode the trunk's
        # BatchNorms then normalise the reference and the haplotypes with the same batch statistics.
        # Passed separately (G_b references vs 2B haplotypes in other gene proportions), the two
        # branches were normalised differently and personal - reference carried a batch-dependent
        # offset (measured ~10x a single SNV's difference, on haplotypes equal to the reference).
        e = self.trunk(torch.cat((ref, hap1, hap2), dim=0))
        # the heads are small; in float32 the personal - reference difference survives bf16 autocast
        with torch.autocast(device_type=e.device.type, enabled=False):
            z_ref = self.shared(e[:g])[ref_index]
            z_pers = self.shared(0.5 * (e[g:g + b] + e[g + b:]))
            return self.mean_head(z_ref).squeeze(1), self.deviation(z_pers, z_ref)

    def deviation(self, z_pers: torch.Tensor, z_ref: torch.Tensor) -> torch.Tensor:
        """(B, hidden) personal and reference embeddings after ``shared`` -> (B,) predicted deviation."""
        return self.dev_head(float(self.cfg.window) * (z_pers - z_ref)).squeeze(1)


def model_from_bundle(bundle: dict) -> PersonalModel:
    """Rebuild a trained personal model from a saved bundle (``train`` writes ``model.pt``)."""
    cfg = ModelConfig(**bundle["model_config"])
    model = PersonalModel(cfg)
    model.load_state_dict(bundle["personal_state"])
    model.eval()
    return model
