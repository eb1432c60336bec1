"""The convolutional trunk shared by the reference and the personal model, in two architectures.

``sagenet`` (the default, the published SAGE-net architecture). Inputs are channels-last one-hot
windows (B, L, 4); the trunk transposes them to (B, 4, L). Trunk: Conv1d(4, C1, k=10, 'same') + ReLU;
Conv1d(C1, C, k=5) + BatchNorm + ReLU + AvgPool(p); ``n_res`` x residual [Conv1d(C, C, k=5) +
BatchNorm + ReLU] each followed by AvgPool(p); the final positions are averaged to one (with the
published sizes, L = 40 kb and p = 10, one position is left after ceil-mode pooling; smaller windows
or fewer blocks leave more and are averaged) -> (B, C). Shared layer and heads: Linear + ReLU layers.

``scan`` (a motif scanner for small cohorts and CPUs): C1 filters of width ``motif_width``, each
scanned on both strands (the reverse-complement filter is the forward one reversed and
complemented, so a site scores the same on either strand), ReLU, averaged over positions -> (B, C1);
the mean head and the deviation head are linear in that embedding. Without pooling between the
filters and the average, the embedding of a haplotype is its reference embedding plus 1/L times the
local changes its variants make (an indel's shift of the sequence beyond it moves the average only
at the window ends), which the deviation head reads multiplied by L; the model has no normalisation
layer whose batch statistics differ between training and evaluation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from varflow.errors import VarflowError
from varflow.s2e.onehot import as_onehot


#: the trunk architectures (module docstring)
ARCHS = ("sagenet", "scan")


@dataclass
class ModelConfig:
    """Architecture sizes; defaults are the published ones (``tiny`` for CPU tests)."""

    window: int = 40_000
    conv1_channels: int = 900
    channels: int = 256
    n_res: int = 4
    pool: int = 10
    hidden: int = 256
    arch: str = "sagenet"       # "sagenet" | "scan" (module docstring)
    motif_width: int = 15       # scan filter width (bp); the simulator's motifs are 8-13 bp

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise VarflowError(f"unknown s2e architecture {self.arch!r}; expected one of {', '.join(ARCHS)}")

    @classmethod
    def tiny(cls, window: int) -> "ModelConfig":
        return cls(window=window, conv1_channels=16, channels=16, n_res=2, pool=4, hidden=16)

    @classmethod
    def scan(cls, window: int) -> "ModelConfig":
        """The motif scanner with 32 filters (the demo's model)."""
        return cls(window=window, conv1_channels=32, arch="scan")

    @property
    def embedding(self) -> int:
        """Width of the trunk's output."""
        return self.conv1_channels if self.arch == "scan" else self.channels

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


class ScanTrunk(nn.Module):
    """(B, L, 4) one-hot or (B, L) uint8 codes -> (B, C1): per filter, the mean over positions of
    ReLU(filter . window + bias) summed over both strands.

    Filters are centred over the four bases at each position (a window of N or of uniform
    composition scores the bias alone); initial bias -2 with weights ~ N(0, 0.5) keeps a random
    filter active at a minority of positions.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cfg.conv1_channels, 4, cfg.motif_width) * 0.5)
        self.bias = nn.Parameter(torch.full((cfg.conv1_channels,), -2.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # float32 throughout, also under autocast: the deviation reads the difference of two sums
        # over the window, which bf16's ~3 significant digits would not keep
        with torch.autocast(device_type=x.device.type, enabled=False):
            x = as_onehot(x).float().transpose(1, 2)
            w = self.weight - self.weight.mean(dim=1, keepdim=True)
            # channels A, C, G, T reversed are the complements T, G, C, A: flipping both axes gives
            # the filter that reads the reverse strand
            both = torch.cat((w, w.flip(1, 2)))
            r = torch.relu(nn.functional.conv1d(x, both, torch.cat((self.bias, self.bias))))
            return r.mean(dim=2).view(x.shape[0], 2, -1).sum(dim=1)


def _parts(cfg: ModelConfig) -> tuple[nn.Module, nn.Module, nn.Module]:
    """(trunk, shared layer, mean head) of the architecture."""
    if cfg.arch == "scan":
        return ScanTrunk(cfg), nn.Identity(), nn.Linear(cfg.conv1_channels, 1)
    return (Trunk(cfg), nn.Sequential(nn.Linear(cfg.channels, cfg.hidden), nn.ReLU()),
            nn.Sequential(nn.Linear(cfg.hidden, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, 1)))


class ReferenceModel(nn.Module):
    """Reference sequence -> gene mean expression: trunk, shared layer, mean head (``_parts``)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.trunk, self.shared, self.mean_head = _parts(cfg)

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

    The ``scan`` architecture's deviation head is one Linear without bias on L * (personal -
    reference), initialised to zero (a reference genome deviates by exactly 0).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.trunk, self.shared, self.mean_head = _parts(cfg)
        if cfg.arch == "scan":
            self.dev_head = nn.Linear(cfg.conv1_channels, 1, bias=False)
            nn.init.zeros_(self.dev_head.weight)
        else:
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

    def forward(self, ref: torch.Tensor, ref_index: torch.Tensor, haps: torch.Tensor, hap_index: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """ref (G_b, L, 4) distinct reference windows, ref_index (B,) item -> row of ref; haps (H, L, 4)
        distinct haplotype windows, hap_index (B, 2) item -> rows of its two haplotypes (``paired``
        builds them from per-item haplotypes). Windows may also be (.., L) uint8 codes.

        Returns (mean (B,), deviation (B,)).
        """
        g = ref.shape[0]
        # One trunk pass over [references; haplotypes]: in training mode the trunk's BatchNorms then
        # normalise the reference and the haplotypes with the same batch statistics. Passed
        # separately (G_b references vs 2B haplotypes in other gene proportions), the two branches
        # were normalised differently and personal - reference carried a batch-dependent offset
        # (measured ~10x a single SNV's difference, on haplotypes equal to the reference).
        e = self.trunk(torch.cat((ref, haps), dim=0))
        return self.heads(e[:g], ref_index, e[g:], hap_index)

    def heads(self, e_ref: torch.Tensor, ref_index: torch.Tensor, e_haps: torch.Tensor, hap_index: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """Trunk embeddings of the references (G_b, C) and haplotypes (H, C) -> (mean (B,), deviation (B,))
        of the items ``ref_index`` (B,) / ``hap_index`` (B, 2) pick, as ``forward``."""
        # the heads are small; in float32 the personal - reference difference survives bf16 autocast
        with torch.autocast(device_type=e_ref.device.type, enabled=False):
            e_ref, e_haps = e_ref.float(), e_haps.float()
            z_ref = self.shared(e_ref)[ref_index]
            z_pers = self.shared(0.5 * (e_haps[hap_index[:, 0]] + e_haps[hap_index[:, 1]]))
            return self.mean_head(z_ref).squeeze(1), self.deviation(z_pers, z_ref)

    def deviation(self, z_pers: torch.Tensor, z_ref: torch.Tensor) -> torch.Tensor:
        """(B, hidden) personal and reference embeddings after ``shared`` -> (B,) predicted deviation."""
        return self.dev_head(float(self.cfg.window) * (z_pers - z_ref)).squeeze(1)


def paired(hap1: torch.Tensor, hap2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-item haplotype windows (B, L, ...) x 2 -> (haps (2B, L, ...), hap_index (B, 2)) for ``forward``."""
    b = hap1.shape[0]
    index = torch.arange(b, device=hap1.device)
    return torch.cat((hap1, hap2), dim=0), torch.stack((index, index + b), dim=1)


def model_from_bundle(bundle: dict) -> PersonalModel:
    """Rebuild a trained personal model from a saved bundle (``train`` writes ``model.pt``)."""
    cfg = ModelConfig(**bundle["model_config"])
    model = PersonalModel(cfg)
    model.load_state_dict(bundle["personal_state"])
    model.eval()
    return model
