"""``varflow shrink``: GWAS effect-size shrinkage with a neural-network ensemble, multi-trait clustering,
gene-level tests (the ML-MAGES method)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from varflow.cli.common import handles_errors, provenance

app = typer.Typer(help="GWAS effect shrinkage (ML-MAGES method). Steps: ld-blocks -> (train) -> effects -> "
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
    snps: Optional[Path] = typer.Option(None, "--snps", help="SNP list (.bim or table with SNP[,POS,A1,A2]) for NPY/text LD."),
    avg_block: int = typer.Option(1000, "--avg-block", min=2, help="Mean block size in SNPs (floor(J/avg) cuts)."),
    half_width: int = typer.Option(200, "--half-width", min=0, help="Hann window half-width in SNPs."),
) -> None:
    """Split a chromosome's LD into approximately independent blocks."""
    from varflow.shrink.steps import ld_blocks_step

    prov = provenance("shrink ld-blocks", {"ld": ld, "chrom": chrom, "avg_block": avg_block, "half_width": half_width})
    typer.echo(json.dumps(ld_blocks_step(ld, chrom, out_blocks, out_ld, snps, avg_block, half_width, prov)))


@app.command()
@handles_errors
def train(
    outdir: Path = typer.Option(..., "--outdir", help="Model folder to write (weights.npz + ensemble.json)."),
    block_ld: Optional[List[Path]] = typer.Option(None, "--block-ld", help="Block LD NPZ from ld-blocks (repeatable)."),
    msprime_chroms: int = typer.Option(0, "--msprime-chroms", min=0, help="Also simulate this many chromosomes' LD with msprime."),
    msprime_snps: int = typer.Option(1500, "--msprime-snps", min=10, help="SNPs per msprime chromosome."),
    msprime_individuals: int = typer.Option(500, "--msprime-individuals", min=10, help="Diploids per msprime sample."),
    msprime_mb: float = typer.Option(8.0, "--msprime-mb", help="Length of each msprime chromosome (Mb)."),
    avg_block: int = typer.Option(300, "--avg-block", min=2, help="Mean block size for msprime LD."),
    n_reps: int = typer.Option(2, "--n-reps", min=1, help="GWAS replicates per grid point."),
    n_gwas: str = typer.Option("500,2000,8000", "--n-gwas", help="GWAS sample sizes of the grid."),
    p_causal: str = typer.Option("0.01,0.05", "--p-causal", help="Causal fractions of the grid."),
    h2: str = typer.Option("0.3,0.7", "--h2", help="Heritabilities of the grid."),
    s: float = typer.Option(0.0, "--s", help="Effect variance exponent of het = 2f(1-f) (msprime LD only)."),
    w: float = typer.Option(0.0, "--w", help="Effect variance exponent of the LD score."),
    n_models: int = typer.Option(10, "--n-models", min=1, help="Ensemble size."),
    top_r: int = typer.Option(15, "--top-r", min=1, help="Neighbours per SNP (features = 2r+3)."),
    lr: float = typer.Option(1e-4, "--lr", help="Adam learning rate."),
    batch_size: int = typer.Option(256, "--batch-size", min=2),
    max_epochs: int = typer.Option(200, "--max-epochs", min=1),
    patience: int = typer.Option(10, "--patience", min=1, help="Early-stopping patience (epochs)."),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
) -> None:
    """Simulate training GWAS on LD blocks and train the MLP ensemble."""
    from varflow.device import resolve_device
    from varflow.shrink.steps import train_step

    params = dict(block_ld=block_ld, msprime_chroms=msprime_chroms, msprime_snps=msprime_snps,
                  msprime_individuals=msprime_individuals, msprime_mb=msprime_mb, avg_block=avg_block,
                  n_reps=n_reps, n_gwas=n_gwas, p_causal=p_causal, h2=h2, s=s, w=w, n_models=n_models,
                  top_r=top_r, lr=lr, batch_size=batch_size, max_epochs=max_epochs, patience=patience)
    prov = provenance("shrink train", params, seed)
    res = train_step(outdir, block_ld, msprime_chroms, msprime_snps, msprime_individuals, msprime_mb, avg_block,
                     n_reps, tuple(int(x) for x in _floats(n_gwas, "--n-gwas")), _floats(p_causal, "--p-causal"),
                     _floats(h2, "--h2"), s, w, n_models, top_r, lr, batch_size, max_epochs, patience, seed,
                     resolve_device(device), prov)
    typer.echo(json.dumps(res))


@app.command()
@handles_errors
def effects(
    sumstats: Path = typer.Option(..., "--sumstats", help="GWAS summary statistics of one trait (CSV/TSV/Parquet)."),
    block_ld: Path = typer.Option(..., "--block-ld", help="Block LD NPZ of one chromosome (from ld-blocks)."),
    out: Path = typer.Option(..., "--out", help="Effects table (Parquet)."),
    method: str = typer.Option("nn", "--method", help="nn (ensemble mean) | enet (elastic-net baseline)."),
    model: Optional[Path] = typer.Option(None, "--model", help="Model folder from train (default: the shipped ensemble)."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Shrunk effect sizes of every SNP of one chromosome for one trait."""
    from varflow.device import resolve_device
    from varflow.errors import VarflowError
    from varflow.shrink.effects import METHODS
    from varflow.shrink.steps import effects_step

    if method not in METHODS:
        raise VarflowError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    prov = provenance("shrink effects", {"sumstats": sumstats, "block_ld": block_ld, "method": method, "model": model}, seed)
    dev = resolve_device(device) if method == "nn" else "cpu"
    typer.echo(json.dumps(effects_step(sumstats, block_ld, out, method, model, dev, seed, prov)))
