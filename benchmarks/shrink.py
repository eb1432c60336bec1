"""shrink workflow benchmark on a chr22-sized input: ~7,800 SNPs (msprime LD), 2 traits, ~320 genes.

Measures seconds per stage of the whole workflow (run in a child process so that its peak RSS is the
workflow's own; independent tasks in worker processes, one per CPU), SNPs/s, and in the same run
baselines: the same workflow in one process (and how its outputs agree), pandas regex text-LD parsing vs the
streaming reader, and a per-SNP Python feature loop vs the vectorised block features. The published
ML-MAGES figure (~354 s end to end on 2 cores; ~70 s per LD text read, ~100 s clustering per trait)
is reported as a reference ratio. ``--scale 10`` also runs 10x the SNPs (10 chromosomes of the same
size; the dense per-chromosome LD is what bounds memory, so 10x SNPs means 10x chromosomes).

Prints one JSON line. ``python benchmarks/shrink.py [--snps 7800] [--genes 320] [--scale 10] [--seed 0]``
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from varflow.io.arrays import write_npz
from varflow.io.tables import write_table
from varflow.shrink.features import TOP_R, compute_features
from varflow.shrink.inputs import read_ld_text
from varflow.shrink.ldblocks import find_blocks, split_blocks
from varflow.shrink.simulate_training import ld_factor, msprime_ld

PUBLISHED_SECONDS = 354.0
PUBLISHED_LD_PARSE_SECONDS = 70.0


def make_inputs(folder: Path, n_snps: int, n_genes: int, n_chroms: int, seed: int) -> dict:
    """One msprime LD panel reused for ``n_chroms`` chromosomes; 2 traits with shared and specific
    causal SNPs, GWAS N = 20,000 drawn as beta_hat ~ N(R beta, R / N); genes tiling each chromosome."""
    r, pos, _ = msprime_ld(n_snps, 1000, seed, length_mb=30.0)
    rng = np.random.default_rng(seed)
    starts, ends = find_blocks(r, 1000)
    factors = [ld_factor(b) for b in split_blocks(r, starts, ends)]
    ld, sumstats, genes = {}, {"trait1": [], "trait2": []}, []
    a2 = np.array(["A"] * n_snps)
    a1 = np.array(["G"] * n_snps)
    for c in range(1, n_chroms + 1):
        chrom = f"chr{c}"
        snp = np.char.add(f"{chrom}:", np.char.add(pos.astype(str), ":A:G"))
        path = folder / f"ld_{chrom}.npz"
        write_npz(path, {"r": r, "snp": snp, "pos": pos, "a1": a1, "a2": a2})
        ld[chrom] = path
        causal = rng.choice(n_snps, size=n_snps // 100, replace=False)
        kind = rng.integers(0, 3, size=causal.size)  # 0 shared, 1 trait1 only, 2 trait2 only
        beta = np.zeros((n_snps, 2))
        beta[causal, 0] = np.where(kind != 2, rng.normal(size=causal.size), 0)
        beta[causal, 1] = np.where(kind == 0, beta[causal, 0] * 0.8 + 0.6 * rng.normal(size=causal.size),
                                   np.where(kind == 2, rng.normal(size=causal.size), 0))
        for t in range(2):
            g = beta[:, t] @ r @ beta[:, t]
            beta[:, t] *= np.sqrt(0.3 / n_chroms / g)
        n_gwas = 20_000
        for t, trait in enumerate(("trait1", "trait2")):
            bhat = np.empty(n_snps)
            for (s, e), fac in zip(zip(starts, ends), factors):
                bhat[s:e] = r[s:e, s:e] @ beta[s:e, t] + fac @ rng.standard_normal(e - s) / np.sqrt(n_gwas)
            sumstats[trait].append(pd.DataFrame({"CHR": chrom, "SNP": snp, "POS": pos, "A1": a1, "A2": a2,
                                                 "BETA": bhat, "SE": np.sqrt((1 - bhat ** 2) / n_gwas)}))
        edges = np.linspace(pos[0], pos[-1], n_genes + 1).astype(np.int64)
        genes.append(pd.DataFrame({"gene": [f"{chrom}_g{i}" for i in range(n_genes)], "CHR": chrom,
                                   "START": edges[:-1], "END": edges[1:] - 1}))
    ss_paths = {}
    for trait, parts in sumstats.items():
        ss_paths[trait] = folder / f"{trait}.parquet"
        write_table(pd.concat(parts, ignore_index=True), ss_paths[trait], "sumstats")
    genes_path = folder / "genes.parquet"
    write_table(pd.concat(genes, ignore_index=True), genes_path)
    return {"ld": ld, "sumstats": ss_paths, "genes": genes_path, "r": r}


def _workflow_child(args, queue) -> None:
    from varflow.shrink.pipeline import run_steps

    sumstats, ld, genes, outdir, seed, workers = args
    t = time.perf_counter()
    figures = run_steps(sumstats, ld, genes, outdir, seed=seed, workers=workers)
    total = time.perf_counter() - t
    figures.pop("_effects", None)
    # VmHWM, not ru_maxrss: Linux carries the forking parent's high-water mark across exec into
    # ru_maxrss, while VmHWM belongs to this process's own address space.
    status = Path("/proc/self/status").read_text().splitlines()
    hwm = [line for line in status if line.startswith("VmHWM:")]
    peak_mb = int(hwm[0].split()[1]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest worker process
    queue.put({"seconds_total": round(total, 2), "seconds": figures["seconds"], "wall_seconds": figures["wall_seconds"],
               "workers": figures["workers"], "peak_rss_mb": round(peak_mb, 1),
               "peak_rss_largest_worker_mb": round(worker_mb, 1),
               "k": {k: v for k, v in figures.items() if k.startswith("k_")},
               "cluster_types": figures.get("cluster_types"), "n_genes": figures.get("n_genes")})


def run_workflow(inputs: dict, outdir: Path, seed: int, workers: int | None = None) -> dict:
    """The whole in-process workflow in a fresh child process (its own peak RSS); ``workers`` processes
    for side-by-side tasks (None: as many as the CPUs allow)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_workflow_child,
                       args=((inputs["sumstats"], inputs["ld"], inputs["genes"], outdir, seed, workers), queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def one_process_agreement(a: Path, b: Path) -> dict:
    """How the worker-process run ``a`` agrees with the one-process run ``b``: the largest relative
    difference of any shrunk effect, and whether every trait calls the same genes (q < 0.05). They differ
    only by BLAS rounding (1 vs 2 BLAS threads sum in other orders); tests/integration/
    test_shrink_pipeline.py checks that the tables are identical at one BLAS thread."""
    rel, same_calls = 0.0, True
    for t in sorted(p.relative_to(a) for p in (a / "effects").rglob("*.parquet")):
        x, y = (pd.read_parquet(d / t)["BETA_SHRUNK"].to_numpy() for d in (a, b))
        rel = max(rel, float(np.max(np.abs(x - y)) / np.max(np.abs(y))))
    for t in sorted(p.relative_to(a) for p in (a / "gene_tests").rglob("*.parquet")):
        x, y = (pd.read_parquet(d / t) for d in (a, b))
        same_calls &= bool(((x["Q_COND"] < 0.05) == (y["Q_COND"] < 0.05)).all())
    return {"max_rel_diff_beta_shrunk": float(f"{rel:.2g}"), "same_gene_calls": same_calls}


def text_ld_baseline(r: np.ndarray, folder: Path, rows: int) -> dict:
    """PLINK --r square text of the LD: pandas regex parsing (python engine) vs the streaming reader.
    The pandas baseline reads the first ``rows`` rows only and is extrapolated linearly to all rows."""
    path = folder / "ld.txt"
    np.savetxt(path, r, fmt="%.6g", delimiter="\t")
    t = time.perf_counter()
    mine = read_ld_text(path)
    ours = time.perf_counter() - t
    t = time.perf_counter()
    naive = pd.read_csv(path, sep=r"\s+", header=None, engine="python", nrows=rows).to_numpy(np.float32)
    naive_s = (time.perf_counter() - t) * len(r) / rows
    assert np.allclose(naive, mine[:rows], atol=1e-5)
    return {"ld_text_mb": round(path.stat().st_size / 1e6, 1), "ld_text_stream_s": round(ours, 2),
            "ld_text_pandas_regex_s_extrapolated": round(naive_s, 1), "ld_text_speedup": round(naive_s / ours, 1)}


def feature_baseline(r: np.ndarray, n_loop: int, seed: int) -> dict:
    """Per-SNP Python loop (sort every row, gather neighbours; block statistics and the block's
    infinitesimal solve by explicit inverse, once per block) vs the vectorised block features."""
    rng = np.random.default_rng(seed)
    n = len(r)
    z = rng.normal(0, 1.5, n)
    starts, ends = find_blocks(r, 1000)
    blocks = split_blocks(r, starts, ends)
    t = time.perf_counter()
    X = compute_features(z, blocks)
    fast = time.perf_counter() - t
    t = time.perf_counter()
    per_block: dict[int, tuple] = {}
    for g in range(n_loop):
        b = int(np.searchsorted(ends, g, side="right"))
        s = starts[b]
        blk = blocks[b].astype(np.float64)
        if b not in per_block:
            zb = z[s:ends[b]]
            c = np.sqrt(np.mean(zb ** 2))
            ld = (blk ** 2).sum(axis=1)
            s2 = (np.mean(zb ** 2) - 1) / ld.mean()
            inf = np.linalg.inv(blk + np.eye(len(zb)) / max(s2, 1e-4)) @ zb
            per_block[b] = (c, [np.log(np.mean(zb ** 2)), np.log(np.median(zb ** 2) / 0.45493642311957283)],
                            inf, np.log(max(s2, 1e-2)))
        c, context, inf, unit = per_block[b]
        row = blk[g - s]
        others = sorted((j for j in range(len(row)) if j != g - s), key=lambda j: -row[j])[:TOP_R]
        naive = [z[g] / c, float(np.sum(row ** 2) - 1)] + [z[s + j] / c for j in others] + \
                [row[j] for j in others] + context + [inf[g - s] / c, unit]
        assert np.allclose(naive, X[g], atol=1e-4, rtol=1e-4)
    slow = (time.perf_counter() - t) * n / n_loop
    return {"features_vectorised_s": round(fast, 3), "features_python_loop_s_extrapolated": round(slow, 1),
            "features_speedup": round(slow / fast, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--snps", type=int, default=7800)
    parser.add_argument("--genes", type=int, default=320)
    parser.add_argument("--scale", type=int, default=10, help="also run this many chromosomes (0 = skip)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out: dict = {"benchmark": "shrink", "snps": args.snps, "traits": 2, "genes": args.genes}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        (folder / "in1").mkdir()
        inputs = make_inputs(folder / "in1", args.snps, args.genes, 1, args.seed)
        out["setup_s"] = round(time.perf_counter() - t, 1)
        one = run_workflow(inputs, folder / "out1", args.seed)
        out["workflow"] = one
        serial = run_workflow(inputs, folder / "out1_serial", args.seed, workers=1)
        out["workflow_one_process_s"] = serial["seconds_total"]
        out["vs_one_process"] = round(serial["seconds_total"] / one["seconds_total"], 2)
        out["vs_one_process_outputs"] = one_process_agreement(folder / "out1", folder / "out1_serial")
        out["snps_per_s"] = round(args.snps / one["seconds_total"], 1)
        out["vs_published_354s"] = round(PUBLISHED_SECONDS / one["seconds_total"], 1)
        out.update(text_ld_baseline(inputs["r"], folder, rows=400))
        out["ld_text_vs_published_70s"] = round(PUBLISHED_LD_PARSE_SECONDS / out["ld_text_stream_s"], 1)
        out.update(feature_baseline(inputs["r"], n_loop=400, seed=args.seed))
        if args.scale > 1:
            (folder / "inN").mkdir()
            big = make_inputs(folder / "inN", args.snps, args.genes, args.scale, args.seed + 1)
            many = run_workflow(big, folder / "outN", args.seed)
            out[f"workflow_x{args.scale}"] = many
            out[f"x{args.scale}_time_ratio"] = round(many["seconds_total"] / one["seconds_total"], 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
