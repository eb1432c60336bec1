"""In-process s2e workflow: prepare -> train -> evaluate -> variant-effects, the same step functions
the CLI and the Nextflow processes call (``varflow run s2e``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from varflow.device import resolve_device
from varflow.io.cohort import Cohort
from varflow.io.gene_tss import GeneTssOptions
from varflow.io.provenance import Provenance
from varflow.layout import step_dir, step_path
from varflow.params import step_options
from varflow.s2e import steps
from varflow.s2e.models import ModelConfig
from varflow.s2e.train import TrainConfig

log = logging.getLogger("varflow")

#: Sizes for a CPU laptop demo (``varflow demo``): 8 kb windows (the demo cohort keeps its elements
#: within 4 kb of the TSS) and the recipe that learns at that scale on 2 cores (docs/s2e.md, "Learning
#: at demo sizes"): the scan model (32 motif filters), personal steps of 6 whole genes with all
#: training individuals (each gene's distinct haplotypes embedded once), 25 epochs of 10 steps at
#: lr 5e-3; the reference phase of the scan model learns little from 60 genes and gets 10 epochs.
#: Defaults stay the published sizes and architecture.
DEMO_PARAMS = {"s2e_window": 8_000, "s2e_arch": "scan", "s2e_genes_per_step": 6, "s2e_lr": 5e-3,
               "s2e_ref_epochs": 10, "s2e_epochs": 25}

#: The train options of ``varflow.params.STEP_OPTIONS`` that are TrainConfig fields (the others,
#: val_chroms and test_chroms, go to the train step).
TRAIN_CONFIG_OPTIONS = ("snvs_only", "min_af", "max_af")

#: quick=True sizes: a tiny model on 4 kb windows, a few short epochs (tests, demo).
QUICK = {"window": 4_000, "ref_epochs": 2, "epochs": 3, "max_batches_per_epoch": 8, "batch_size": 16}


def _config(params: dict[str, Any], quick: bool, seed: int) -> tuple[int, TrainConfig]:
    window = int(params.get("s2e_window") or (QUICK["window"] if quick else 40_000))
    if params.get("s2e_arch") == "scan":
        model = ModelConfig.scan(window)
    elif quick or params.get("s2e_tiny"):
        model = ModelConfig.tiny(window)
    else:
        model = ModelConfig(window=window, arch=params.get("s2e_arch") or ModelConfig.arch)
    cfg = TrainConfig(
        model=model,
        batch_size=int(params.get("s2e_batch_size") or (QUICK["batch_size"] if quick else 32)),
        genes_per_step=int(params.get("s2e_genes_per_step") or 0),
        lr=float(params.get("s2e_lr") or TrainConfig.lr),
        dev_weight=float(params.get("s2e_dev_weight") or TrainConfig.dev_weight),
        ref_epochs=int(params.get("s2e_ref_epochs") or (QUICK["ref_epochs"] if quick else 10)),
        epochs=int(params.get("s2e_epochs") or (QUICK["epochs"] if quick else 10)),
        max_batches_per_epoch=params.get("s2e_max_batches_per_epoch") or (QUICK["max_batches_per_epoch"] if quick else None),
        seed=seed,
        **{k: v for k, v in step_options(params, "s2e", "train").items() if k in TRAIN_CONFIG_OPTIONS},
    )
    return window, cfg


def run_steps(vcf: Path, reference: Path, genes: Path, expression: Path, outdir: Path, *, params: dict[str, Any],
              seed: int = 0, device: str = "auto", quick: bool = False, truth: Path | None = None) -> dict:
    """Run the four steps into the s2e folder ``outdir`` (store/, model/, evaluate/, variant_effects.parquet,
    gxi_tracks.npz: ``varflow.layout``); with ``truth`` (causal variant-gene pairs) also score the effects
    against it (variant_truth.json)."""
    outdir = Path(outdir)
    device = resolve_device(device)
    window, cfg = _config(params, quick, seed)
    prov = Provenance.from_cli("varflow run s2e", {**params, "quick": quick}, seed)
    store = step_dir(outdir, "S2E_PREPARE")
    model_dir, evaluated = step_path(outdir, "S2E_TRAIN"), step_path(outdir, "S2E_EVALUATE")
    scores, tracks = (step_path(outdir, "S2E_VARIANT_EFFECTS", i) for i in (0, 1))
    steps.prepare(vcf, reference, genes, None, store, window=window,
                  max_ref_mismatch=float(params.get("s2e_max_ref_mismatch", 0.01)),
                  allow_unphased=bool(params.get("s2e_allow_unphased", False)),
                  gene_options=GeneTssOptions.from_text(params.get("s2e_biotypes"),
                                                        bool(params.get("s2e_strip_gene_version", False))),
                  provenance=prov)
    splits = params.get("s2e_individual_splits")
    chroms = {k: [c for c in str(v).split(",") if c] for k, v in step_options(params, "s2e", "train").items()
              if k in ("val_chroms", "test_chroms")}
    summary = steps.train([store], expression, model_dir, cfg, device=device,
                          individual_splits=Path(splits) if splits else None, resume=True, provenance=prov, **chroms)
    metrics = steps.evaluate([store], expression, model_dir / "model.pt", evaluated, device=device,
                             provenance=prov, **step_options(params, "s2e", "evaluate"))
    effects = steps.effects([store], model_dir / "model.pt", scores, tracks=tracks, device=device, provenance=prov)
    if truth is not None:
        steps.variant_truth(scores, truth, step_path(outdir, "S2E_VARIANT_TRUTH"))
    return {"best_epoch": summary.get("best_epoch"),
            "median_pearson_model": metrics["median_pearson_model"],
            "median_pearson_enet": metrics.get("median_pearson_enet"),
            "variant_scores": str(scores), "n_variant_scores": effects["n_scores"]}


def run_from_cohort(cohort: Cohort, outdir: Path, *, seed: int = 0, device: str = "auto", quick: bool = False,
                    params: dict[str, Any] | None = None) -> dict:
    """The s2e workflow on a cohort folder (reference, vcf, genes, expression from its manifest).

    ``params`` may set the Nextflow params of a params file (``s2e_window``, ``s2e_epochs``,
    ``s2e_ref_epochs``, ``s2e_allow_unphased``, ``s2e_max_ref_mismatch``, ``s2e_biotypes``,
    ``s2e_strip_gene_version``, ``s2e_arch`` (sagenet | scan), ``s2e_genes_per_step``, ``s2e_batch_size``,
    ``s2e_lr``, and the step options of ``varflow.params.STEP_OPTIONS``: ``s2e_val_chroms``,
    ``s2e_test_chroms``, ``s2e_snvs_only``, ``s2e_min_af``, ``s2e_max_af``, ``s2e_enet``) and the in-process
    extras ``s2e_tiny``, ``s2e_dev_weight``, ``s2e_max_batches_per_epoch``, ``s2e_individual_splits``
    (``DEMO_PARAMS`` uses some of them); a value given here
    beats ``quick``.
    A simulated cohort's ``causal_variants`` truth is scored against (variant_truth.json).
    """
    truth = cohort.path("causal_variants") if "causal_variants" in cohort.files else None
    return run_steps(cohort.path("vcf"), cohort.path("reference"), cohort.path("genes"), cohort.path("expression"),
                     outdir, params=dict(params or {}), seed=seed, device=device, quick=quick, truth=truth)
