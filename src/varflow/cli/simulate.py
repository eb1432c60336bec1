"""Synthetic cohort with known truth (genome, phased VCF, expression, fine-mapping, annotations, GWAS)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from varflow.cli.common import handles_errors, log

app = typer.Typer(help="Simulate a synthetic cohort with known causal variants.", no_args_is_help=True)


class Preset(str, Enum):
    tiny = "tiny"
    demo = "demo"


@app.command("cohort")
@handles_errors
def cohort(
    outdir: Path = typer.Option(..., "--outdir", help="Folder to write the cohort into (replaced atomically)."),
    seed: int = typer.Option(0, "--seed", help="Seed for every random choice (same seed, same cohort)."),
    preset: Preset = typer.Option(Preset.demo, "--preset", help="Base sizes: tiny (seconds) or demo (< 1 min)."),
    scale: Optional[float] = typer.Option(None, "--scale", help="Multiply chromosome length, genes per "
                                          "chromosome, individuals and GWAS individuals by this factor."),
    n_chromosomes: Optional[int] = typer.Option(None, "--n-chromosomes", help="Number of chromosomes (chr1..chrN)."),
    n_individuals: Optional[int] = typer.Option(None, "--n-individuals", help="Individuals with expression (VCF samples)."),
    n_genes_per_chrom: Optional[int] = typer.Option(None, "--n-genes-per-chrom", help="Genes on each chromosome."),
    gwas_individuals: Optional[int] = typer.Option(None, "--gwas-individuals", help="Individuals in the GWAS sample."),
    n_traits: Optional[int] = typer.Option(None, "--n-traits", help="Number of GWAS traits."),
    gwas_h2: Optional[float] = typer.Option(None, "--gwas-h2", help="Heritability of each GWAS trait."),
) -> None:
    """Write a cohort folder with a cohort.yaml manifest naming every file."""
    from varflow.simulate.cohort import SimulationConfig, build_cohort

    config = SimulationConfig.preset(
        preset.value, seed=seed, scale=scale, n_chromosomes=n_chromosomes, n_individuals=n_individuals,
        n_genes_per_chrom=n_genes_per_chrom, gwas_individuals=gwas_individuals, n_traits=n_traits,
        gwas_h2=gwas_h2)
    config.validate()
    log.info("simulating %s cohort (seed %d) into %s", preset.value, seed, outdir)
    result = build_cohort(config, outdir)
    info = result.info
    typer.echo(f"cohort written to {result.root} ({info['n_genes']} genes, {info['n_individuals']} individuals, "
               f"{info['n_variants']} variants, {info['n_causal_variants']} causal; "
               f"GWAS {info['gwas_n']} individuals x {len(info['traits'])} traits)")
