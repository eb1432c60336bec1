"""s2e on the simulated tiny cohort: a tiny personal model trained on the CPU predicts held-out
individuals' expression deviations on genes with planted causal variants in the window, and its
in-silico mutagenesis ranks planted causal variants high. Rates are printed (pytest -s) and asserted
with margins below what was measured.

Measured with these settings over six training seeds / individual splits (seed s, split rng s + 1,
s = 0..4 and 7; this test is s = 0): top-3 rates 0.6, 0.6, 0.8, 0.6, 0.6, 0.8 (chance 0.15); mean
best rank 5.0, 3.4, 1.4, 5.0, 2.6, 2.8 (chance 10.1); held-out median per-gene Pearson 0.50, 0.68,
0.48, 0.31, 0.59, 0.52 (elastic net 0.68, 0.76, 0.66, 0.64, 0.55, 0.66). Three genes (VFG00003,
VFG00019, VFG00022: one common-enough causal SNV, no close LD partner) rank their causal variant
first or second in every run. The other two are out of reach of reference-background ISM here:
VFG00016's in-window causal variant explains little (its other two causal variants lie outside the
window) and has 7 perfect-LD partners; VFG00008's causal ALT is the major allele (AF 0.84) in
perfect LD with a minor allele that the model credits, so 3 of 5 is the floor and 4 of 5 the
ceiling. See docs/s2e.md ("Measured")."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from varflow.io.tables import read_table
from varflow.s2e import steps
from varflow.s2e.models import ModelConfig
from varflow.s2e.train import TrainConfig

WINDOW = 8_000


@pytest.fixture(scope="module")
def run(tiny_cohort, tmp_path_factory):
    # One torch thread: on the shared 2-core machine the 8-channel convolutions ran 4x slower with two
    # (221 s vs ~55 s for this module), and the result then does not depend on the core count.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield _run(tiny_cohort, tmp_path_factory)
    finally:
        torch.set_num_threads(threads)


def _run(tiny_cohort, tmp_path_factory, cfg: TrainConfig | None = None):
    out = tmp_path_factory.mktemp("s2e_cohort")
    genes = read_table(tiny_cohort.path("genes"), "genes")
    causal = read_table(tiny_cohort.path("causal_variants"), "causal_variants")
    pos = causal["variant_id"].str.split(":").str[1].astype(int) - 1
    tss = causal["gene_id"].map(genes.set_index("gene_id")["tss"])
    # genes with a planted causal variant inside the window (the question the test asks)
    planted = sorted(set(causal.loc[(pos - tss).abs() < WINDOW // 2 - 10, "gene_id"]))
    assert len(planted) >= 4, planted
    gene_file = out / "genes.parquet"
    genes[genes["gene_id"].isin(planted)].to_parquet(gene_file)
    steps.prepare(tiny_cohort.path("vcf"), tiny_cohort.path("reference"), gene_file, None, out / "store",
                  window=WINDOW)
    expr = read_table(tiny_cohort.path("expression"), "expression")
    samples = [c for c in expr.columns if c != "gene_id"]
    order = np.random.default_rng(1).permutation(samples)
    n = len(order)
    split = ["train"] * (n - 28) + ["val"] * 8 + ["test"] * 20  # 20 test individuals: steadier r
    pd.DataFrame({"sample": order, "split": split}).to_csv(out / "individuals.tsv", sep="\t", index=False)
    cfg = cfg or TrainConfig(model=ModelConfig(window=WINDOW, conv1_channels=8, channels=8, n_res=1, pool=8,
                                               hidden=8),
                             batch_size=32, ref_epochs=1, epochs=30, lr=2e-3, individuals_per_gene=8, seed=0)
    # every gene trains (the held-out unit is the individual), hence no validation/test chromosomes
    steps.train([out / "store"], tiny_cohort.path("expression"), out / "model", cfg, device="cpu",
                individual_splits=out / "individuals.tsv", val_chroms=[], test_chroms=[])
    summary = steps.evaluate([out / "store"], tiny_cohort.path("expression"), out / "model" / "model.pt",
                             out / "evaluate", device="cpu")
    steps.effects([out / "store"], out / "model" / "model.pt", out / "effects.parquet", device="cpu")
    return out, planted, causal, summary


SCAN_SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def scan_runs(tiny_cohort, tmp_path_factory):
    """The demo's recipe (the scan model, steps of whole genes) on the same genes and individuals, once per
    training seed of ``SCAN_SEEDS``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield [_run(tiny_cohort, tmp_path_factory, TrainConfig(model=ModelConfig.scan(WINDOW), ref_epochs=1, epochs=30,
                                                               genes_per_step=1, lr=5e-3, seed=seed))
               for seed in SCAN_SEEDS]
    finally:
        torch.set_num_threads(threads)


def test_scan_model_on_whole_gene_steps_nears_the_elastic_net(scan_runs):
    """The median over training seeds 0-2 (~60 s): one seed alone swings by 0.2. Measured 2026-12-02
    (numpy 2.4.6, torch 2.13.0 CPU): seeds 0-4 give median r 0.48, 0.61, 0.64, 0.67, 0.49 against the
    elastic net's 0.68 (ratio 0.70-0.99, median 0.90); the published trunk above gets 0.31-0.68 in ~3x
    the time."""
    models = [summary["median_pearson_model"] for _, _, _, summary in scan_runs]
    enet = scan_runs[0][3]["median_pearson_enet"]
    print("s2e tiny cohort, scan model by seed:", json.dumps({"model": models, "enet": enet}))
    assert float(np.median(models)) > 0.5
    assert float(np.median(models)) > 0.75 * enet


def test_held_out_individuals_are_predicted(run):
    out, planted, _, summary = run
    metrics = read_table(out / "evaluate" / "gene_metrics.parquet")
    print("s2e tiny cohort:", json.dumps({k: summary[k] for k in ("median_pearson_model", "median_pearson_enet")}),
          metrics[["gene_id", "pearson_model", "pearson_enet"]].to_dict("records"))
    assert set(metrics["gene_id"]) == set(planted)
    assert summary["median_pearson_model"] > 0.1


def test_planted_causal_variants_rank_high(run):
    out, planted, causal, _ = run
    scores = read_table(out / "effects.parquet", "variant_scores")
    ranks, chance_rank, chance_top3 = [], [], []
    for gene_id, table in scores.groupby("gene_id"):
        truth = set(causal.loc[causal["gene_id"] == gene_id, "variant_id"]) & set(table["variant_id"])
        if truth:
            order = table.sort_values("s2e_ism_abs", ascending=False)["variant_id"].tolist()
            ranks.append(min(order.index(v) for v in truth))
            n, k = len(order), len(truth)
            chance_rank.append((n - k) / (k + 1))  # expected best 0-based rank of k random picks among n
            chance_top3.append(1 - np.prod([(n - k - i) / (n - i) for i in range(min(3, n))]))
    top3 = float(np.mean(np.array(ranks) < 3))
    print("s2e planted-causal best ISM ranks:", ranks, f"top-3 rate {top3:.2f} (chance {np.mean(chance_top3):.2f});",
          f"mean best rank {np.mean(ranks):.1f} (chance {np.mean(chance_rank):.1f})")
    assert len(ranks) == len(planted)
    assert np.isfinite(scores[["s2e_ism", "s2e_gxi"]].to_numpy()).all()
    assert np.mean(ranks) < np.mean(chance_rank)
    assert top3 > 0.5, ranks  # measured 0.6-0.8 over six seeds (module docstring)
