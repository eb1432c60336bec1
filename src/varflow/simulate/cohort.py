"""Build one coherent synthetic cohort folder: genome, genotypes, expression, truth, annotations, GWAS.

``build_cohort(SimulationConfig.preset("tiny", seed=7), outdir)`` writes the folder atomically and
returns its :class:`varflow.io.cohort.Cohort`. Every random choice derives from ``config.seed``
through ``numpy.random.default_rng([seed, stage, chromosome])``, so stages do not share streams and
the same seed gives the same files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from varflow.errors import VarflowError
from varflow.io.atomic import atomic_output
from varflow.io.cohort import MANIFEST_NAME, Cohort
from varflow.io.genome import ReferenceGenome
from varflow.io.provenance import Provenance
from varflow.io.tables import write_table
from varflow.simulate.alleles import assign_alleles
from varflow.simulate.annotations import dl_scores, gene_constraint, regulatory_beds
from varflow.simulate.assays import VariantContext, assay_effects, calibrate, draw_bank, readouts, variant_context
from varflow.simulate.expression import element_activity, scan_causal, simulate_expression
from varflow.simulate.finemap import finemap_gene
from varflow.simulate.genome import place_genes, random_background, write_fasta
from varflow.simulate.genotypes import Haplotypes, simulate_haplotypes
from varflow.simulate.gwas import GwasConfig, simulate_gwas
from varflow.simulate.motifs import MOTIFS
from varflow.simulate.regulatory import design_chromosome
from varflow.simulate.schemas import ELEMENTS, MOTIF_INSTANCES
from varflow.simulate.vcfwrite import write_phased_vcf

# Stage codes for seeding: each stage/chromosome pair draws from its own stream.
_ANCESTRY, _LAYOUT, _ALLELES, _EXPRESSION, _ANNOTATION = 1, 2, 3, 4, 5


@dataclass
class SimulationConfig:
    """Every size, rate and seed of a simulated cohort. Lengths in bp, rates per bp per generation."""

    seed: int = 0
    preset: str = "demo"
    n_chromosomes: int = 5
    chrom_length: int = 1_000_000
    n_genes_per_chrom: int = 20
    n_individuals: int = 200
    cis_window: int = 20_000          # half-width: each TSS keeps this much sequence on both sides
    regulatory_reach: int | None = None  # max TSS distance of enhancers / causal variants (None: cis_window)
    gene_spacing: int = 40_000        # minimum TSS-to-TSS distance, so cis windows do not share elements
    gc: float = 0.41
    cpg_retention: float = 0.25       # CpG observed/expected after depletion
    population_size: float = 1e4
    recombination_rate: float = 1e-8
    mutation_rate: float = 1.25e-8
    indel_fraction: float = 0.07
    null_gene_fraction: float = 0.3   # genes given no designed causal variant
    causal_counts: tuple[float, ...] = (0.5, 0.3, 0.2)  # P(1, 2, 3 designed causal variants)
    min_causal_maf: float = 0.05
    break_fraction: float = 0.7       # designed causal variants that break (vs create) a motif
    h2_range: tuple[float, float] = (0.1, 0.6)
    finemap_maf: float = 0.01
    finemap_window: int | None = None  # half-width of each gene's fine-mapping window (None: cis_window)
    celltypes: tuple[str, ...] = ("hepatocyte", "monocyte", "neuron")
    n_dl_draws: int = 8               # model draws per cell type x assay mark (dl columns: celltypes x 8 marks x draws)
    n_dl_noise: int = 8               # dl columns of pure noise
    dl_focal_fidelity: float = 0.95   # correlation of the focal (first) cell type's motif weights with the true ones
    dl_other_fidelity: float = 0.4    # the same for the other cell types
    dl_other_tf_fraction: float = 0.5  # share of the motifs' factors each other cell type expresses
    gwas: GwasConfig = field(default_factory=GwasConfig)

    PRESETS = {
        "tiny": dict(n_chromosomes=3, chrom_length=420_000, n_genes_per_chrom=9, n_individuals=80,
                     gwas=dict(n_individuals=500, n_traits=2)),
        # The demo's elements and causal variants lie within 4 kb of the TSS, inside the 8 kb window its
        # s2e stage can train on 2 CPU cores (docs/s2e.md); fine-mapping keeps the 20 kb cis window.
        # 2 dl model draws (3 x 8 x 2 + 8 = 56 dl columns, not 200): eqtl's CatBoost folds scale with the
        # feature count, and with 200 a fold took ~75 s, past the demo's 10-minute budget.
        "demo": dict(n_chromosomes=5, chrom_length=1_000_000, n_genes_per_chrom=20, n_individuals=200,
                     regulatory_reach=4_000, n_dl_draws=2, gwas=dict(n_individuals=2500, n_traits=2)),
    }
    SCALED = ("chrom_length", "n_genes_per_chrom", "n_individuals")

    @classmethod
    def preset(cls, name: str = "demo", seed: int = 0, **overrides: Any) -> "SimulationConfig":
        """Config of preset ``name`` (tiny | demo) with ``seed``; ``overrides`` replace fields.

        ``scale`` multiplies chromosome length, genes per chromosome, individuals and GWAS individuals.
        ``gwas_individuals``, ``n_traits`` and ``gwas_h2`` set the matching fields of ``gwas``.
        None values are ignored, so CLI options left unset keep the preset's value.
        """
        if name not in cls.PRESETS:
            raise VarflowError(f"unknown preset {name!r}; choose one of {', '.join(cls.PRESETS)}")
        overrides = {k: v for k, v in overrides.items() if v is not None}
        values = dict(cls.PRESETS[name])
        gwas_values = dict(values.pop("gwas"))
        scale = overrides.pop("scale", 1.0)
        if not (isinstance(scale, (int, float)) and np.isfinite(scale) and scale > 0):
            raise VarflowError(f"--scale must be a positive number, got {scale!r}")
        for key in cls.SCALED:
            values[key] = max(int(round(values[key] * scale)), 1)
        gwas_values["n_individuals"] = max(int(round(gwas_values["n_individuals"] * scale)), 1)
        for short, long in (("gwas_individuals", "n_individuals"), ("n_traits", "n_traits"), ("gwas_h2", "h2")):
            if short in overrides:
                gwas_values[long] = overrides.pop(short)
        gwas = overrides.pop("gwas", None)
        if gwas is None:
            gwas = GwasConfig(**gwas_values)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise VarflowError(f"unknown simulation setting(s): {', '.join(unknown)}")
        values.update(overrides)
        return cls(seed=seed, preset=name, gwas=gwas, **values)

    def validate(self) -> None:
        """Raise VarflowError (one line) for settings that cannot produce a cohort."""
        def positive_int(name: str, minimum: int = 1) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
                raise VarflowError(f"{name.replace('_', '-')} must be an integer >= {minimum}, got {value!r}")

        positive_int("n_chromosomes")
        positive_int("n_genes_per_chrom")
        positive_int("n_individuals", 10)
        positive_int("cis_window", 2_500)
        if self.regulatory_reach is not None:
            positive_int("regulatory_reach", 2_500)
            if self.regulatory_reach > self.cis_window:
                raise VarflowError(f"regulatory-reach ({self.regulatory_reach}) cannot exceed cis-window "
                                   f"({self.cis_window})")
        if self.finemap_window is not None:
            positive_int("finemap_window", 2_500)
        positive_int("gene_spacing")
        positive_int("chrom_length")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise VarflowError(f"seed must be a non-negative integer, got {self.seed!r}")
        need = 2 * self.cis_window + (self.n_genes_per_chrom - 1) * self.gene_spacing
        if self.chrom_length < need:
            raise VarflowError(
                f"{self.n_genes_per_chrom} genes per chromosome cannot fit on {self.chrom_length} bp chromosomes: "
                f"each gene keeps a {2 * self.cis_window} bp window and TSSs are {self.gene_spacing} bp apart, "
                f"which needs at least {need} bp (lower --n-genes-per-chrom or raise --scale)")
        lo, hi = self.h2_range
        if not 0 < lo <= hi < 1:
            raise VarflowError(f"h2_range must satisfy 0 < low <= high < 1, got {self.h2_range}")
        for name in ("indel_fraction", "null_gene_fraction", "break_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                raise VarflowError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        if not 0.2 <= self.gc <= 0.8:
            raise VarflowError(f"gc must lie in [0.2, 0.8], got {self.gc}")
        if not self.celltypes or len(set(self.celltypes)) != len(self.celltypes):
            raise VarflowError(f"celltypes must be distinct names, got {self.celltypes}")
        positive_int("n_dl_draws")
        positive_int("n_dl_noise", 0)
        for name in ("dl_focal_fidelity", "dl_other_fidelity", "dl_other_tf_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                raise VarflowError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        self.gwas.check()

    @property
    def reach(self) -> int:
        """Largest distance (bp) from a TSS at which regulatory elements and causal variants are placed."""
        return self.cis_window if self.regulatory_reach is None else self.regulatory_reach

    @property
    def finemap_reach(self) -> int:
        """Half-width (bp) of each gene's fine-mapping window."""
        return self.cis_window if self.finemap_window is None else self.finemap_window

    @property
    def chromosomes(self) -> list[str]:
        return [f"chr{i + 1}" for i in range(self.n_chromosomes)]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class _Chromosome:
    """Everything simulated for one chromosome before it is written."""

    name: str
    seq: np.ndarray
    haps: Haplotypes
    genes: pd.DataFrame
    elements: pd.DataFrame
    instances: pd.DataFrame
    variants: pd.DataFrame
    causal: pd.DataFrame


class StageTimer:
    """Wall-clock seconds per named stage, summed over repeats (chromosomes): ``with timer("vcf"): ...``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, stage: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start


def _rng(config: SimulationConfig, stage: int, index: int = 0) -> np.random.Generator:
    return np.random.default_rng([config.seed, stage, index])


def _simulate_chromosome(config: SimulationConfig, ci: int, timer: StageTimer) -> _Chromosome:
    name = config.chromosomes[ci]
    with timer("genotypes"):
        haps = simulate_haplotypes(config.n_individuals, config.chrom_length,
                                   seed=int(_rng(config, _ANCESTRY, ci).integers(2**31)),
                                   population_size=config.population_size,
                                   recombination_rate=config.recombination_rate, mutation_rate=config.mutation_rate)
    with timer("genome_layout"):
        rng = _rng(config, _LAYOUT, ci)
        seq = random_background(config.chrom_length, config.gc, config.cpg_retention, rng)
        genes = place_genes(name, config.chrom_length, config.n_genes_per_chrom, config.cis_window,
                            config.gene_spacing, rng, first_index=ci * config.n_genes_per_chrom + 1)
        layout = design_chromosome(name, seq, genes, haps.positions, haps.maf, rng,
                                   regulatory_reach=config.reach, null_fraction=config.null_gene_fraction,
                                   causal_counts=config.causal_counts, min_causal_maf=config.min_causal_maf,
                                   break_fraction=config.break_fraction)
        mask = np.zeros(seq.size, dtype=bool)
        for s, e in zip(layout.elements["start"], layout.elements["end"]):
            mask[s:e] = True
    with timer("alleles"):
        variants = assign_alleles(name, seq, haps.positions, _rng(config, _ALLELES, ci),
                                  indel_fraction=config.indel_fraction, element_mask=mask,
                                  forced_alt=layout.designed_alt)
    with timer("causal_scan"):
        causal = scan_causal(name, seq, variants, layout.elements, layout.instances)
    return _Chromosome(name, seq, haps, genes, layout.elements, layout.instances, variants, causal)


def _check_outdir(outdir: Path) -> None:
    """Refuse outdirs that cannot be written or whose replacement would destroy unrelated files."""
    here = Path.cwd().resolve()
    if outdir.resolve() == here or outdir.resolve() in here.parents:
        raise VarflowError(f"--outdir {outdir} is the working directory or one of its parents; "
                           "choose a new folder for the cohort")
    if outdir.exists() and not outdir.is_dir():
        raise VarflowError(f"output path {outdir} exists and is not a directory")
    if outdir.is_dir() and any(outdir.iterdir()) and not (outdir / MANIFEST_NAME).exists():
        raise VarflowError(f"output directory {outdir} is not empty and holds no cohort; "
                           "refusing to replace it (choose a new or empty --outdir)")
    parent = outdir.parent if outdir.parent != Path("") else Path(".")
    probe = parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise VarflowError(f"cannot write the cohort to {outdir}: {probe} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise VarflowError(f"cannot write the cohort to {outdir}: {probe} is not writable")


def build_cohort(config: SimulationConfig, outdir: Path | str, *, timings: dict[str, float] | None = None) -> Cohort:
    """Simulate the cohort described by ``config`` into ``outdir`` (replaced atomically) and return it.

    ``timings``, when given, receives wall-clock seconds per stage (for the benchmark).
    """
    config.validate()
    outdir = Path(outdir)
    _check_outdir(outdir)
    timer = StageTimer()
    prov = Provenance.from_cli("varflow simulate cohort", config.to_dict(), seed=config.seed)
    chroms = [_simulate_chromosome(config, ci, timer) for ci in range(config.n_chromosomes)]
    chrom_lengths = {c.name: int(c.seq.size) for c in chroms}
    samples = [f"ind{i + 1:04d}" for i in range(config.n_individuals)]
    genes = pd.concat([c.genes for c in chroms], ignore_index=True)
    elements = pd.concat([c.elements for c in chroms], ignore_index=True)
    instances = pd.concat([c.instances for c in chroms], ignore_index=True)
    causal = pd.concat([c.causal.drop(columns="site") for c in chroms], ignore_index=True)

    with atomic_output(outdir) as tmp:
        files: dict[str, Any] = {}
        for sub in ("genome", "genotypes", "truth", "annotations"):
            (tmp / sub).mkdir()

        files["reference"] = "genome/reference.fa"
        with timer("write_fasta"):
            write_fasta(tmp / files["reference"], {c.name: c.seq for c in chroms})
        files["vcf"] = "genotypes/cohort.vcf.gz"
        with timer("write_vcf"):
            write_phased_vcf(tmp / files["vcf"], chrom_lengths, samples,
                             [(c.variants, c.haps.haplotypes) for c in chroms])
        files["genes"] = "genes.parquet"
        write_table(genes, tmp / files["genes"], "genes", prov)

        with timer("expression"):
            expr, h2 = _expression(config, chroms, genes, elements, causal)
        expr_df = pd.concat([genes[["gene_id"]], pd.DataFrame(expr, columns=samples)], axis=1)
        files["expression"] = "expression.parquet"
        write_table(expr_df, tmp / files["expression"], "expression", prov)
        files["causal_variants"] = "truth/causal_variants.parquet"
        write_table(causal, tmp / files["causal_variants"], "causal_variants", prov)
        files["elements"] = "truth/elements.parquet"
        write_table(elements, tmp / files["elements"], ELEMENTS, prov)
        files["motif_instances"] = "truth/motif_instances.parquet"
        write_table(instances, tmp / files["motif_instances"], MOTIF_INSTANCES, prov)

        files["finemap"] = "finemap.parquet"
        with timer("finemap"):
            write_table(_finemap_all(config, chroms, expr), tmp / files["finemap"], "finemap", prov)
        with timer("annotations"):
            annotation_files, dl_assays = _write_annotations(config, chroms, genes, causal, elements,
                                                             chrom_lengths, tmp, prov)
        files.update(annotation_files)

        with timer("gwas"), ReferenceGenome(tmp / files["reference"]) as reference:
            files.update(simulate_gwas(config.gwas, chrom_lengths, genes, reference, config.seed, tmp,
                                       provenance=prov))

        n_variants = sum(len(c.variants) for c in chroms)
        n_indels = sum(int((c.variants["kind"] != "snv").sum()) for c in chroms)
        info = {
            "seed": config.seed, "preset": config.preset, "chromosomes": list(chrom_lengths),
            "chrom_lengths": chrom_lengths, "n_individuals": config.n_individuals, "samples_prefix": "ind",
            "n_genes": len(genes), "n_variants": n_variants, "n_indels": n_indels,
            "n_causal_variants": len(causal), "n_causal_genes": int(causal["gene_id"].nunique()),
            "cis_window": config.cis_window, "finemap_window": config.finemap_reach, "motifs": [m.name for m in MOTIFS],
            "celltypes": list(config.celltypes), "dl_assays": dl_assays,
            "dl_informative": [c for c, what in dl_assays.items() if what.startswith(f"{config.celltypes[0]}/")],
            "traits": sorted(files.get("sumstats", {})), "gwas_n": config.gwas.n_individuals,
            "mean_realised_h2": float(h2[h2 > 0].mean()) if (h2 > 0).any() else 0.0,
            "config": _plain(config.to_dict()),
        }
        Cohort(root=tmp, files=files, info=info).save()
    if timings is not None:
        timings.update(timer.seconds)
    return Cohort.load(outdir)


def _plain(value: Any) -> Any:
    """YAML-safe copy (tuples -> lists, numpy scalars -> Python)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def _expression(config: SimulationConfig, chroms: list[_Chromosome], genes: pd.DataFrame,
                elements: pd.DataFrame, causal: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Expression (n_genes, n_individuals) and realised h2 (n_genes,): reference activity of each
    gene's elements as baseline plus the cis effects of its causal variants."""
    activity = np.concatenate([element_activity(c.seq, c.elements) for c in chroms])
    baseline = pd.Series(activity).groupby(elements["gene_id"].to_numpy()).sum()
    baseline = baseline.reindex(genes["gene_id"]).fillna(0.0).to_numpy()
    dosage_of = {}
    for c in chroms:
        for site, vid in zip(c.causal["site"], c.causal["variant_id"]):
            dosage_of[vid] = c.haps.dosage(np.array([site]))[:, 0]
    return simulate_expression(genes, baseline, causal, dosage_of, config.n_individuals,
                               _rng(config, _EXPRESSION), config.h2_range)


def _finemap_all(config: SimulationConfig, chroms: list[_Chromosome], expr: np.ndarray) -> pd.DataFrame:
    """SuSiE per gene on its fine-mapping window (|pos - TSS| <= finemap_reach, MAF >= finemap_maf);
    windows of neighbouring genes may overlap and are clipped at the chromosome ends."""
    tables = []
    row = 0
    for c in chroms:
        maf = c.haps.maf
        pos0 = c.variants["pos"].to_numpy() - 1
        ids = c.variants["variant_id"].to_numpy()
        for tss, gene_id in zip(c.genes["tss"], c.genes["gene_id"]):
            cis = np.flatnonzero((np.abs(pos0 - tss) <= config.finemap_reach) & (maf >= config.finemap_maf))
            tables.append(finemap_gene(c.haps.dosage(cis), expr[row], list(ids[cis]), maf[cis], gene_id))
            row += 1
    tables = [t for t in tables if len(t)]
    return pd.concat(tables, ignore_index=True)


def _write_annotations(config: SimulationConfig, chroms: list[_Chromosome], genes: pd.DataFrame,
                       causal: pd.DataFrame, elements: pd.DataFrame, chrom_lengths: dict[str, int],
                       tmp: Path, prov: Provenance) -> tuple[dict[str, Any], dict[str, str]]:
    """Write BEDs, gene constraint, dl_* scores and allele frequencies; return manifest entries and
    what each dl_* column is (``celltype/mark/draw`` or ``noise``)."""
    rng = _rng(config, _ANNOTATION)
    files: dict[str, Any] = {"regulatory_bed": {}}
    for ct, bed in regulatory_beds(elements, chrom_lengths, list(config.celltypes), rng).items():
        rel = f"annotations/regulatory_{ct}.bed"
        bed.to_csv(tmp / rel, sep="\t", header=False, index=False)  # chrom, start, end, name, score
        files["regulatory_bed"][ct] = rel

    files["gene_constraint"] = "annotations/gene_constraint.parquet"
    write_table(gene_constraint(genes, set(causal["gene_id"]), rng), tmp / files["gene_constraint"],
                "gene_scores", prov)

    ids = np.concatenate([c.variants["variant_id"].to_numpy() for c in chroms])
    context = VariantContext.concat([variant_context(c.seq, c.variants) for c in chroms])
    bank = draw_bank(config.celltypes, config.n_dl_draws, config.dl_focal_fidelity, config.dl_other_fidelity,
                     config.dl_other_tf_fraction, rng)
    bank = calibrate(bank, readouts(context, bank)[0])
    dl, dl_assays = dl_scores(ids, assay_effects(context, bank), bank, config.n_dl_noise, rng)
    files["dl_scores"] = "annotations/dl_scores.parquet"
    write_table(dl, tmp / files["dl_scores"], "variant_scores", prov)
    files["allele_freq"] = "annotations/allele_freq.parquet"
    write_table(pd.DataFrame({"variant_id": ids, "maf": np.concatenate([c.haps.maf for c in chroms])}),
                tmp / files["allele_freq"], "allele_freq", prov)
    return files, dl_assays
