"""s2e: sequence-to-expression models trained on personal genomes (the SAGE-net method).

Steps: prepare (haplotype store, one VCF pass per chromosome) -> train (reference then personal
model) -> evaluate (held-out individuals, elastic-net baseline) -> variant-effects (ISM, grad x input)
-> variant-truth (those effects against known causal variants, on simulated cohorts).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from varflow.cli.common import handles_errors, log, provenance
from varflow.device import resolve_device

app = typer.Typer(help=__doc__, no_args_is_help=True)

STORE_HELP = "Store shards (<chrom>.npz from 'prepare') or folders holding them."
GENES_HELP = ("Genes: GTF/GFF3 (gene records; TSS = start on +, end on -), BED6 (name = gene id, strand), or a "
              "table (Parquet/TSV) gene_id, chrom, tss (0-based), strand. Chromosome names follow the FASTA.")
EXPRESSION_HELP = ("Expression: a table (Parquet/TSV) gene_id + one column per VCF sample, a phenotype BED "
                   "(#chr start end phenotype_id sample..., as tensorQTL/QTLtools read; bgzipped or not) or a "
                   "GTEx GCT; detected from the file. Gene ids match with or without version suffix.")


def _split_list(value: Optional[str]) -> Optional[list[str]]:
    return [v for v in value.split(",") if v] if value else None


@app.command("prepare")
@handles_errors
def prepare_cmd(
    vcf: Path = typer.Option(..., "--vcf", help="Phased multi-sample VCF, bgzipped + tabix index, or a BCF + .csi index."),
    reference: Path = typer.Option(..., "--reference", help="Reference FASTA (chr1 / 1 names reconciled)."),
    genes: Path = typer.Option(..., "--genes", help=GENES_HELP),
    outdir: Path = typer.Option(..., "--outdir", help="Folder for <chrom>.npz shards and <chrom>.stats.json."),
    chrom: Optional[List[str]] = typer.Option(None, "--chrom", help="Chromosome(s) to prepare (repeat); default all in the gene table."),
    window: int = typer.Option(40_000, "--window", help="Window length L in bp, centred on the TSS."),
    max_ref_mismatch: float = typer.Option(0.01, "--max-ref-mismatch", help="Largest tolerated fraction of records whose REF disagrees with the FASTA (they are dropped)."),
    allow_unphased: bool = typer.Option(False, "--allow-unphased", help="Accept unphased heterozygous calls (alleles taken in written order)."),
    biotypes: Optional[str] = typer.Option(None, "--biotypes", help="GTF/GFF3: comma-separated gene biotypes to keep, or 'all'; default protein_coding."),
    strip_gene_version: bool = typer.Option(False, "--strip-gene-version/--keep-gene-version", help="Drop gene ids' version suffix (ENSG0001.5 -> ENSG0001)."),
) -> None:
    """Build the haplotype store: reference windows, variant records, per-haplotype alleles."""
    from varflow.io.gene_tss import GeneTssOptions
    from varflow.s2e.steps import prepare

    gene_options = GeneTssOptions.from_text(biotypes, strip_gene_version)
    params = {"vcf": vcf, "reference": reference, "genes": genes, "chrom": chrom, "window": window,
              "max_ref_mismatch": max_ref_mismatch, "allow_unphased": allow_unphased,
              "biotypes": gene_options.biotypes, "strip_gene_version": strip_gene_version}
    stats = prepare(vcf, reference, genes, list(chrom) if chrom else None, outdir, window=window,
                    max_ref_mismatch=max_ref_mismatch, allow_unphased=allow_unphased, gene_options=gene_options,
                    provenance=provenance("s2e prepare", params))
    typer.echo(json.dumps(stats))


@app.command("train")
@handles_errors
def train_cmd(
    store: List[Path] = typer.Argument(..., help=STORE_HELP),
    expression: Path = typer.Option(..., "--expression", help=EXPRESSION_HELP),
    outdir: Path = typer.Option(..., "--outdir", help="Model folder: model.pt, splits.json, history.json, checkpoints/."),
    individual_splits: Optional[Path] = typer.Option(None, "--individual-splits", help="Table with columns sample, split (train|val|test); default a seeded 80/10/10 split."),
    val_chroms: Optional[str] = typer.Option(None, "--val-chroms", help="Comma-separated validation chromosomes (gene split)."),
    test_chroms: Optional[str] = typer.Option(None, "--test-chroms", help="Comma-separated test chromosomes (gene split)."),
    arch: str = typer.Option("sagenet", "--arch", help="Trunk: sagenet (the published architecture) | scan (a motif scanner for small cohorts and CPUs; docs/s2e.md)."),
    conv1_channels: Optional[int] = typer.Option(None, "--conv1-channels", help="Channels of the first convolution (scan: filters); default 900 (sagenet) or 32 (scan)."),
    motif_width: int = typer.Option(15, "--motif-width", help="scan: filter width in bp."),
    channels: int = typer.Option(256, "--channels", help="Trunk channels (embedding size)."),
    n_res: int = typer.Option(4, "--n-res", help="Residual blocks."),
    pool: int = typer.Option(10, "--pool", help="Average-pool width after the second conv and each block."),
    hidden: int = typer.Option(256, "--hidden", help="Width of the dense layers."),
    tiny: bool = typer.Option(False, "--tiny", help="Tiny widths (16 channels, 2 blocks, pool 4) for CPU smoke runs; overrides the width options."),
    batch_size: int = typer.Option(32, "--batch-size", help="Items per batch."),
    genes_per_step: int = typer.Option(0, "--genes-per-step", help="> 0: each personal step takes this many genes with all training individuals, each gene's distinct haplotypes once; 0: batches of --batch-size items."),
    ref_epochs: int = typer.Option(10, "--ref-epochs", help="Epochs of the reference model."),
    epochs: int = typer.Option(10, "--epochs", help="Epochs of the personal model."),
    lr: float = typer.Option(5e-4, "--lr", help="Adam learning rate (CyclicLR between lr/2 and 2 lr)."),
    weight_decay: float = typer.Option(1e-5, "--weight-decay", help="Adam weight decay."),
    max_batches_per_epoch: Optional[int] = typer.Option(None, "--max-batches-per-epoch", help="Cap on batches per epoch."),
    num_workers: int = typer.Option(0, "--num-workers", help="DataLoader worker processes."),
    amp: bool = typer.Option(True, "--amp/--no-amp", help="bf16 autocast on CUDA."),
    snvs_only: bool = typer.Option(False, "--snvs-only", help="Apply only SNVs to the haplotypes."),
    min_af: float = typer.Option(0.0, "--min-af", help="Apply only variants with alt frequency >= this (training individuals)."),
    max_af: float = typer.Option(1.0, "--max-af", help="Apply only variants with alt frequency <= this."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Continue from checkpoints in --outdir when present."),
    seed: int = typer.Option(0, "--seed", help="Seed of the splits, initialisation and data order."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
) -> None:
    """Train the reference model, then the personal model initialised from it."""
    from varflow.s2e.models import ModelConfig
    from varflow.s2e.steps import train
    from varflow.s2e.train import TrainConfig

    if arch == "scan":
        model = ModelConfig.scan(0)
        model.motif_width = motif_width
        model.conv1_channels = conv1_channels or model.conv1_channels
    elif tiny:
        model = ModelConfig.tiny(0)
    else:
        model = ModelConfig(window=0, conv1_channels=conv1_channels or ModelConfig.conv1_channels, channels=channels,
                            n_res=n_res, pool=pool, hidden=hidden, arch=arch)
    cfg = TrainConfig(model=model, batch_size=batch_size, genes_per_step=genes_per_step, ref_epochs=ref_epochs,
                      epochs=epochs, lr=lr,
                      weight_decay=weight_decay, max_batches_per_epoch=max_batches_per_epoch,
                      num_workers=num_workers, amp=amp, seed=seed, snvs_only=snvs_only, min_af=min_af, max_af=max_af)
    params = {"store": list(store), "expression": expression, "individual_splits": individual_splits,
              "val_chroms": val_chroms, "test_chroms": test_chroms, "resume": resume, **cfg.to_dict()}
    summary = train(list(store), expression, outdir, cfg, device=resolve_device(device),
                    individual_splits=individual_splits, val_chroms=_split_list(val_chroms),
                    test_chroms=_split_list(test_chroms), resume=resume,
                    provenance=provenance("s2e train", params, seed))
    typer.echo(json.dumps(summary, default=float))


@app.command("evaluate")
@handles_errors
def evaluate_cmd(
    store: List[Path] = typer.Argument(..., help=STORE_HELP),
    expression: Path = typer.Option(..., "--expression", help="The expression file used for training (any format 'train' reads)."),
    model: Path = typer.Option(..., "--model", help="model.pt written by 'train'."),
    outdir: Path = typer.Option(..., "--outdir", help="Folder for gene_metrics.parquet, predictions.parquet, metrics.json, plots."),
    enet: bool = typer.Option(True, "--enet/--no-enet", help="Also fit the elastic-net dosage baseline."),
    batch_size: int = typer.Option(32, "--batch-size", help="Items per batch."),
    genes_per_step: int = typer.Option(0, "--genes-per-step", help="> 0: each personal step takes this many genes with all training individuals, each gene's distinct haplotypes once; 0: batches of --batch-size items."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
) -> None:
    """Per-gene Pearson on held-out individuals, across-gene Pearson of means, elastic-net baseline."""
    from varflow.s2e.steps import evaluate

    params = {"store": list(store), "expression": expression, "model": model, "enet": enet}
    summary = evaluate(list(store), expression, model, outdir, device=resolve_device(device), batch_size=batch_size,
                       with_enet=enet, provenance=provenance("s2e evaluate", params))
    typer.echo(json.dumps(summary, default=float))


@app.command("variant-effects")
@handles_errors
def variant_effects_cmd(
    store: List[Path] = typer.Argument(..., help=STORE_HELP),
    model: Path = typer.Option(..., "--model", help="model.pt written by 'train'."),
    out: Path = typer.Option(..., "--out", help="Parquet of variant_id, gene_id, s2e_ism, s2e_ism_abs, s2e_gxi."),
    tracks: Optional[Path] = typer.Option(None, "--tracks", help="Also write the gradient x input tracks (NPZ: gene_id, gxi (G, L))."),
    genes: Optional[str] = typer.Option(None, "--genes", help="Comma-separated gene ids (default every gene in the store)."),
    batch_size: int = typer.Option(32, "--batch-size", help="Windows per forward pass."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
) -> None:
    """In-silico mutagenesis and gradient x input of every variant in every gene window."""
    from varflow.s2e.steps import effects

    params = {"store": list(store), "model": model, "genes": genes}
    res = effects(list(store), model, out, tracks=tracks, device=resolve_device(device), batch_size=batch_size,
                  genes=_split_list(genes), provenance=provenance("s2e variant-effects", params))
    log.info("s2e variant-effects: %d scores over %d genes -> %s", res["n_scores"], res["n_genes"], out)
    typer.echo(json.dumps(res))


@app.command("variant-truth")
@handles_errors
def variant_truth_cmd(
    scores: Path = typer.Option(..., "--scores", help="Parquet written by 'variant-effects'."),
    truth: Path = typer.Option(..., "--truth", help="Causal variant-gene pairs: variant_id, gene_id, effect, mechanism, motif (a simulated cohort's truth/causal_variants.parquet)."),
    out: Path = typer.Option(..., "--out", help="JSON: per class (snv, indel, all) AUROC/AUPRC of |ISM| and |gxi|, ISM sign agreement, indel/SNV comparability."),
) -> None:
    """Score the variant effects against known causal variants (simulated cohorts)."""
    from varflow.s2e.steps import variant_truth

    res = variant_truth(scores, truth, out)
    log.info("s2e variant-truth: %d of %d causal pairs scored -> %s", res["n_causal_scored"], res["n_causal_truth"], out)
    typer.echo(json.dumps(res))
