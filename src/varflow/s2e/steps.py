"""The four s2e steps as file-in/file-out functions; the CLI and the in-process pipeline call these."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from varflow.errors import VarflowError
from varflow.io.arrays import write_npz
from varflow.io.atomic import atomic_path, ensure_writable_dir
from varflow.io.expression import read_expression
from varflow.io.gene_tss import GeneTssOptions, place_genes, read_gene_tss
from varflow.io.genome import ReferenceGenome
from varflow.io.provenance import Provenance
from varflow.io.tables import read_table, write_table
from varflow.io.vcf import open_vcf, vcf_contig_names
from varflow.s2e.evaluate import evaluate_model, labels_for, restore_variant_options, write_plots
from varflow.s2e.models import model_from_bundle
from varflow.s2e.schemas import GENE_METRICS, PREDICTIONS
from varflow.s2e.splits import check_individual_count
from varflow.s2e.store import HaplotypeStore, prepare_chromosome
from varflow.s2e.train import TrainConfig, load_bundle, prepare_training_data, train_models
from varflow.s2e.variant_effects import SCORE_COLUMNS, variant_effects
from varflow.s2e.variant_truth import score_against_truth

log = logging.getLogger("varflow")


def _write_json(obj: dict, path: Path) -> Path:
    with atomic_path(path, suffix=".json") as tmp:
        tmp.write_text(json.dumps(obj, indent=1, default=float))
    return path


def prepare(vcf: Path, reference: Path, genes: Path, chroms: list[str] | None, outdir: Path, *,
            window: int = 40_000, max_ref_mismatch: float = 0.01, allow_unphased: bool = False,
            gene_options: GeneTssOptions = GeneTssOptions(), provenance: Provenance | None = None) -> dict:
    """Write ``outdir/<chrom>.npz`` (+ ``<chrom>.stats.json``) for each chromosome (all when None).

    Before any work: the genes are read, their chromosomes spelled as in the FASTA and checked against
    the FASTA and the VCF, and every TSS checked to lie on its chromosome (``place_genes``). Shards are
    named by the chromosome as asked (``chroms``) or, by default, as the FASTA spells it.
    """
    table = read_gene_tss(genes, gene_options)
    with ReferenceGenome(reference) as genome:
        lengths = dict(genome.lengths)
    with open_vcf(vcf) as handle:
        vcf_contigs = vcf_contig_names(handle)
    table, targets = place_genes(table, genes, lengths, vcf_contigs, chroms, reference=reference, vcf=vcf)
    ensure_writable_dir(outdir)
    out = {}
    for name, contig in targets.items():
        stats = prepare_chromosome(vcf, reference, table, contig, outdir / f"{name}.npz", window=window,
                                   max_ref_mismatch=max_ref_mismatch, allow_unphased=allow_unphased,
                                   provenance=provenance)
        _write_json(stats.to_dict(), outdir / f"{name}.stats.json")
        out[name] = stats.to_dict()
    return out


def train(store: list[Path], expression: Path, outdir: Path, cfg: TrainConfig, *, device: str = "cpu",
          individual_splits: Path | None = None, val_chroms: list[str] | None = None,
          test_chroms: list[str] | None = None, resume: bool = True, provenance: Provenance | None = None) -> dict:
    """Train on the store shards; writes ``outdir/model.pt``, ``splits.json``, ``history.json``."""
    hstore = HaplotypeStore.load(store)
    if cfg.model.window != hstore.window:
        cfg.model.window = hstore.window
    expr = read_expression(expression)
    if individual_splits is None:  # a given split is checked against its own file
        check_individual_count(len(set(expr.columns) & set(hstore.samples)), str(expression))
    data = prepare_training_data(hstore, expr, seed=cfg.seed, individual_splits=individual_splits,
                                 val_chroms=val_chroms, test_chroms=test_chroms, source=str(expression))
    ensure_writable_dir(outdir)
    _write_json(data.splits, outdir / "splits.json")
    summary = train_models(hstore, data, outdir, cfg, device=device, resume=resume,
                           provenance=provenance.to_json() if provenance else None)
    return summary


def evaluate(store: list[Path], expression: Path, model: Path, outdir: Path, *, device: str = "cpu",
             batch_size: int = 32, with_enet: bool = True, provenance: Provenance | None = None) -> dict:
    """Writes gene_metrics.parquet, predictions.parquet, metrics.json and plots into ``outdir``."""
    hstore = HaplotypeStore.load(store)
    bundle = load_bundle(model)
    data = labels_for(bundle, hstore, read_expression(expression), str(expression))
    metrics, preds, summary = evaluate_model(hstore, data, bundle, device=device, batch_size=batch_size,
                                             with_enet=with_enet)
    ensure_writable_dir(outdir)
    write_table(metrics, outdir / "gene_metrics.parquet", GENE_METRICS, provenance)
    write_table(preds, outdir / "predictions.parquet", PREDICTIONS, provenance)
    write_plots(metrics, outdir)
    _write_json(summary, outdir / "metrics.json")
    return summary


def effects(store: list[Path], model: Path, out: Path, *, tracks: Path | None = None, device: str = "cpu",
            batch_size: int = 32, genes: list[str] | None = None, provenance: Provenance | None = None) -> dict:
    """Writes the variant_scores Parquet ``out`` (and the gradient x input tracks NPZ when asked)."""
    hstore = HaplotypeStore.load(store)
    bundle = load_bundle(model)
    restore_variant_options(hstore, bundle)
    idx = None
    if genes:
        unknown = [g for g in genes if g not in hstore.gene_index]
        if unknown:
            raise VarflowError(f"gene(s) {', '.join(unknown[:3])} not in the store")
        idx = np.array([hstore.gene_index[g] for g in genes])
    model_ = model_from_bundle(bundle)
    scores, track = variant_effects(model_, hstore, idx, device=device, batch_size=batch_size)
    write_table(scores, out, "variant_scores", provenance)
    if tracks is not None:
        chosen = np.arange(hstore.n_genes) if idx is None else idx
        write_npz(tracks, {"gene_id": hstore.genes["gene_id"].to_numpy(dtype=str)[chosen], "gxi": track},
                  provenance)
    return {"n_scores": int(len(scores)), "n_genes": int(scores["gene_id"].nunique()) if len(scores) else 0}


def read_scores(path: Path) -> pd.DataFrame:
    """A variant_scores table written by ``effects``: variant_id, gene_id and the score columns."""
    df = read_table(path, "variant_scores")
    missing = [c for c in ("gene_id", *SCORE_COLUMNS) if c not in df.columns]
    if missing:
        raise VarflowError(f"{path}: missing column(s) {', '.join(missing)} (expects the columns "
                           f"'s2e variant-effects' writes: variant_id, gene_id, {', '.join(SCORE_COLUMNS)})")
    return df


def variant_truth(scores: Path, truth: Path, out: Path) -> dict:
    """Writes ``out`` (JSON): |ISM| and |gxi| of the scored pairs against the causal variant-gene
    pairs of the simulator's truth table (schema causal_variants), per class snv/indel."""
    summary = score_against_truth(read_scores(scores), read_table(truth, "causal_variants"))
    _write_json(summary, out)
    return summary
