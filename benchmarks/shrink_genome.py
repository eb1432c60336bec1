"""Genome-scale shrink benchmark from a reference panel: 22 chromosomes x 2 traits, LD from 500 samples.

For each scale (total SNP count) it simulates, with fixed seeds:

* a reference panel of 500 diploid samples per chromosome, SNPs split over chr1-22 in proportion to the
  GRCh38 chromosome lengths, positions spread evenly along each chromosome. Genotypes come from a
  haplotype-copying model: each of the 1,000 haplotypes copies one of 12 founder haplotypes and switches
  founder at recombination points (a background rate plus hotspots, so LD comes in blocks and r^2 decays
  with distance), with a 1% copying error; half of the SNPs repeat the previous SNP's founder alleles (as
  SNPs on one branch of a genealogy do), so neighbours tag each other. The rates are per SNP, not per
  base pair, so every scale has the same LD structure in SNPs and the same work per SNP. Written as
  PLINK 1 .bed/.bim/.fam per chromosome with ``bed_reader.to_bed``. (msprime was measured and not
  chosen: 500 diploids over 20 Mb took 2.9 s for 60k sites, growing ~L^1.7 from 5 Mb, so the 2.9 Gb
  genome would take over 10 minutes before thinning to the wanted SNPs; the copying model is
  O(samples x SNPs): 4.9 s for 100k SNPs with their sumstats, measured.)
* GWAS summary statistics of 2 traits with sparse causal SNPs (0.2%, a third shared with correlated
  effects, a third specific to each trait), h2 = 0.3 per trait, drawn as beta_hat ~ N(R beta, R / N) with
  R the panel's own LD and N = 100,000, exactly and in O(samples x SNPs) memory: R beta = X'(X beta)/n and
  X'g / sqrt(n N) (g ~ N(0, I_n)) has covariance R / N (X the standardised dosages). Written as PLINK2
  ``--glm`` output (``trait1.glm.linear``, per-allele BETA/SE), which the reader detects by its columns.
* a gene BED tiling each chromosome (one "gene" per 50 consecutive SNPs, 0-based half-open), and a
  ``cohort.yaml`` naming the panels (``ld_panel``), the sumstats and the genes.

It then runs the shrink workflow on the cohort in a child process (``varflow.shrink.pipeline.run_from_cohort``,
what ``varflow run shrink --cohort DIR`` runs: ``ld-panel`` per chromosome, effects, clustering, gene
tests, multi-trait summaries, plots), samples the RSS of the child and its workers every 0.2 s, and
reports per phase wall seconds and peak RSS, per step task seconds, SNPs/s, CPU seconds and the total
(the workflow call, imports excluded). Across scales it fits log-log slopes of time, CPU time, peak RSS
and each step's seconds against SNPs and states whether the targets at 1M SNPs
(end to end <= 15 min, peak RSS <= 8 GB, on 2 cores) are met, measured when 1M is a scale, else
extrapolated. LD baseline in the same run: plink 1.9 ``--r square bin4`` (dense) and windowed ``--r``
(the band's pairs) against ``varflow shrink ld-panel`` on one chromosome of the largest scale's panel;
skipped with a note when plink is not installed.

Prints one JSON line. ``python benchmarks/shrink_genome.py [--scales 10000,100000,1000000] [--seed 0]``
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import queue as queue_module
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import erfc

# GRCh38 lengths of chr1-22 in Mb: SNPs are split over the chromosomes in proportion to them.
CHROM_MB = (248.96, 242.19, 198.30, 190.21, 181.54, 170.81, 159.35, 145.14, 138.39, 133.80, 135.09,
            133.28, 114.36, 107.04, 101.99, 90.34, 83.26, 80.37, 58.62, 64.44, 46.71, 50.82)
TRAITS = ("trait1", "trait2")
TARGET_SNPS = 1_000_000
TARGET_SECONDS = 15 * 60
TARGET_RSS_GB = 8.0
NON_PALINDROMIC = np.array([("A", "C"), ("A", "G"), ("C", "A"), ("C", "T"), ("G", "A"), ("G", "T"),
                            ("T", "C"), ("T", "G")])
RSS_SAMPLE_S = 0.2


@dataclass(frozen=True)
class GenomeModel:
    """The simulated genome: panel, haplotype-copying LD and trait architecture (the only home of
    these defaults). Rates are per SNP interval; ``hotspot_every`` is the mean SNP spacing of hotspots."""

    n_samples: int = 500
    founders: int = 12
    pattern_repeat: float = 0.5
    background_switch: float = 0.002
    hotspot_every: int = 150
    hotspot_switch: float = 0.5
    copy_error: float = 0.01
    causal_fraction: float = 0.002
    h2: float = 0.3
    shared_corr: float = 0.8
    n_gwas: int = 100_000
    snps_per_gene: int = 50
    chunk_snps: int = 4096


# ------------------------------------------------------------------------------------- simulation


def snps_per_chromosome(n_snps: int) -> np.ndarray:
    """(22,) int64 SNP counts of chr1-22, proportional to ``CHROM_MB`` (largest remainder), summing to n_snps."""
    share = np.asarray(CHROM_MB) / sum(CHROM_MB) * n_snps
    counts = np.floor(share).astype(np.int64)
    counts[np.argsort(counts - share)[: n_snps - counts.sum()]] += 1
    return counts


def switch_probabilities(n_snps: int, model: GenomeModel, rng: np.random.Generator) -> np.ndarray:
    """(J,) float64 probability that a haplotype switches founder between SNP j-1 and j (1 at j = 0):
    the background rate, or ``hotspot_switch`` at hotspots placed with mean spacing ``hotspot_every``."""
    q = np.full(n_snps, model.background_switch)
    q[rng.random(n_snps) < 1.0 / model.hotspot_every] = model.hotspot_switch
    q[0] = 1.0
    return q


def copied_founders(q: np.ndarray, carry: np.ndarray, founders: int, rng: np.random.Generator) -> np.ndarray:
    """(H, c) int64 founder copied by each of H haplotypes at c consecutive SNPs with switch
    probabilities ``q`` (c,); ``carry`` (H,) the founder each copies just before the first of them."""
    h, c = carry.size, q.size
    switch = rng.random((h, c)) < q
    pick = rng.integers(founders, size=(h, c))
    last = np.maximum.accumulate(np.where(switch, np.arange(c), -1), axis=1)
    picked = np.take_along_axis(pick, np.maximum(last, 0), axis=1)
    return np.where(last >= 0, picked, carry[:, None])


def founder_haplotypes(n_snps: int, model: GenomeModel, rng: np.random.Generator) -> np.ndarray:
    """(K, J) bool allele 1 of each founder: a SNP carries it on a random subset of 1..K-1 founders,
    or, with probability ``pattern_repeat``, on the previous SNP's subset (SNPs on one branch of the
    genealogy), so neighbouring SNPs tag each other."""
    k = model.founders
    carriers = rng.integers(1, k, size=n_snps)
    fresh = np.argsort(rng.random((k, n_snps)), axis=0) < carriers  # (K, J): a random subset of each size
    repeat = rng.random(n_snps) < model.pattern_repeat
    repeat[0] = False
    source = np.maximum.accumulate(np.where(repeat, 0, np.arange(n_snps)))
    return fresh[:, source]


def simulate_dosage(n_snps: int, model: GenomeModel, rng: np.random.Generator) -> np.ndarray:
    """(n_samples, J) int8 allele-1 counts of one chromosome from the haplotype-copying model, built
    ``chunk_snps`` SNPs at a time (temporaries O(2 n_samples x chunk))."""
    n_hap = 2 * model.n_samples
    founder_alleles = founder_haplotypes(n_snps, model, rng)
    q = switch_probabilities(n_snps, model, rng)
    dosage = np.empty((model.n_samples, n_snps), dtype=np.int8)
    carry = rng.integers(model.founders, size=n_hap)
    for lo in range(0, n_snps, model.chunk_snps):
        hi = min(lo + model.chunk_snps, n_snps)
        which = copied_founders(q[lo:hi], carry, model.founders, rng)
        carry = which[:, -1]
        hap = founder_alleles[which, np.arange(lo, hi)] ^ (rng.random((n_hap, hi - lo)) < model.copy_error)
        dosage[:, lo:hi] = hap[0::2].astype(np.int8) + hap[1::2]
    return dosage


def chromosome_snps(chrom: int, n_snps: int, rng: np.random.Generator) -> pd.DataFrame:
    """J rows (SNP, POS, A1, A2) of chromosome ``chrom``: one position drawn uniformly in each of J equal
    bins of its length (distinct, sorted, 1-based), non-palindromic alleles, IDs chrom:pos:A2:A1."""
    length = CHROM_MB[chrom - 1] * 1e6
    pos = np.floor((np.arange(n_snps) + rng.random(n_snps)) * length / n_snps).astype(np.int64) + 1
    alleles = NON_PALINDROMIC[rng.integers(len(NON_PALINDROMIC), size=n_snps)]
    snp = [f"{chrom}:{p}:{a2}:{a1}" for p, a1, a2 in zip(pos.tolist(), alleles[:, 0], alleles[:, 1])]
    return pd.DataFrame({"SNP": snp, "POS": pos, "A1": alleles[:, 0], "A2": alleles[:, 1]})


def write_panel(prefix: Path, chrom: int, dosage: np.ndarray, snps: pd.DataFrame) -> None:
    """PLINK 1 ``prefix``.bed/.bim/.fam of dosage (n, J) int8 counts of A1, through bed-reader."""
    import bed_reader

    n = dosage.shape[0]
    iid = [f"s{i}" for i in range(n)]
    bed_reader.to_bed(prefix.with_suffix(".bed"), dosage,
                      properties={"fid": iid, "iid": iid, "sid": snps["SNP"].tolist(),
                                  "chromosome": [str(chrom)] * len(snps), "bp_position": snps["POS"].tolist(),
                                  "allele_1": snps["A1"].tolist(), "allele_2": snps["A2"].tolist()})


def standardised_chunks(dosage: np.ndarray, chunk: int):
    """Yield (lo, X_c (n, c) float64 standardised dosages, freq (c,) of A1) over SNP chunks; a
    monomorphic SNP's column is 0."""
    for lo in range(0, dosage.shape[1], chunk):
        d = dosage[:, lo:lo + chunk].astype(np.float64)
        freq = d.mean(axis=0) / 2
        sd = d.std(axis=0)
        yield lo, (d - 2 * freq) / np.where(sd > 0, sd, 1.0), freq


def causal_effects(n_snps: int, model: GenomeModel, rng: np.random.Generator) -> np.ndarray:
    """(J, 2) standardised effects: ``causal_fraction`` of SNPs causal, each shared (trait 2 effect
    correlated ``shared_corr`` with trait 1's), specific to trait 1 or specific to trait 2, equally often."""
    beta = np.zeros((n_snps, 2))
    causal = rng.choice(n_snps, size=max(1, round(model.causal_fraction * n_snps)), replace=False)
    kind = rng.integers(0, 3, size=causal.size)  # 0 shared, 1 trait 1 only, 2 trait 2 only
    first, other = rng.normal(size=causal.size), rng.normal(size=causal.size)
    rho = model.shared_corr
    beta[causal, 0] = np.where(kind != 2, first, 0.0)
    beta[causal, 1] = np.where(kind == 0, rho * first + math.sqrt(1 - rho ** 2) * other,
                               np.where(kind == 2, other, 0.0))
    return beta


def gwas_marginals(dosage: np.ndarray, beta: np.ndarray, h2: np.ndarray, model: GenomeModel,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """beta_hat (J, 2) ~ N(R beta', R / N) for standardised effects beta' = beta scaled to genetic
    variance ``h2`` (2,) on this chromosome, R = X'X / n the panel LD (X (n, J) standardised dosages),
    and A1 frequencies (J,). Two passes over SNP chunks: g = X beta' (n, 2), then R beta' = X'g / n plus
    noise X'e / sqrt(n N) with e ~ N(0, I_n), whose covariance is R / N."""
    n = dosage.shape[0]
    g = np.zeros((n, 2))
    for lo, x, _ in standardised_chunks(dosage, model.chunk_snps):
        g += x @ beta[lo:lo + x.shape[1]]
    scale = np.sqrt(h2 / np.maximum((g ** 2).sum(axis=0) / n, 1e-300))
    g *= scale
    e = rng.standard_normal((n, 2))
    bhat = np.empty_like(beta)
    freq = np.empty(dosage.shape[1])
    for lo, x, f in standardised_chunks(dosage, model.chunk_snps):
        bhat[lo:lo + x.shape[1]] = x.T @ g / n + x.T @ e / math.sqrt(n * model.n_gwas)
        freq[lo:lo + x.shape[1]] = f
    return bhat, freq


def glm_table(chrom: int, snps: pd.DataFrame, bhat: np.ndarray, freq: np.ndarray, n_gwas: int) -> pd.DataFrame:
    """One trait's rows as PLINK2 ``--glm`` writes them (.glm.linear): A1 = ALT = the panel's A1, per-allele
    BETA/SE from the standardised beta_hat (J,) (SE^2 = (1 - beta_hat^2) / N over 2f(1-f)), T_STAT, P."""
    sd = np.sqrt(np.maximum(2 * freq * (1 - freq), 1e-12))
    se_std = np.sqrt((1 - bhat ** 2) / n_gwas)
    t = bhat / se_std
    return pd.DataFrame({"#CHROM": chrom, "POS": snps["POS"], "ID": snps["SNP"], "REF": snps["A2"], "ALT": snps["A1"],
                         "A1": snps["A1"], "A1_FREQ": np.round(freq, 5), "TEST": "ADD", "OBS_CT": n_gwas,
                         "BETA": bhat / sd, "SE": se_std / sd, "T_STAT": t, "P": erfc(np.abs(t) / math.sqrt(2))})


def gene_bed(chrom: int, pos: np.ndarray, snps_per_gene: int) -> pd.DataFrame:
    """BED rows (chrom, start, end, name; 0-based half-open) tiling the J positions (J,) with one gene
    per ``snps_per_gene`` consecutive SNPs."""
    first = np.arange(0, pos.size, snps_per_gene)
    last = np.minimum(first + snps_per_gene, pos.size) - 1
    return pd.DataFrame({"chrom": f"chr{chrom}", "start": pos[first] - 1, "end": pos[last],
                         "name": [f"chr{chrom}_g{i}" for i in range(first.size)]})


def simulate_cohort(root: Path, n_snps: int, model: GenomeModel, seed: int) -> None:
    """Write the panel, sumstats, gene BED and ``cohort.yaml`` of ``n_snps`` SNPs under ``root``, one
    chromosome in memory at a time (its dosages (500, J) int8 and a few (J, 2) arrays)."""
    from varflow.io.cohort import Cohort

    (root / "panel").mkdir(parents=True)
    glm = {t: root / f"{t}.glm.linear" for t in TRAITS}
    bed = root / "genes.bed"
    panels = {}
    for chrom, j in enumerate(snps_per_chromosome(n_snps).tolist(), start=1):
        rng = np.random.default_rng([seed, chrom])
        snps = chromosome_snps(chrom, j, rng)
        dosage = simulate_dosage(j, model, rng)
        prefix = root / "panel" / f"chr{chrom}"
        write_panel(prefix, chrom, dosage, snps)
        panels[f"chr{chrom}"] = f"panel/chr{chrom}"
        bhat, freq = gwas_marginals(dosage, causal_effects(j, model, rng), np.full(2, model.h2 * j / n_snps),
                                    model, rng)
        for t, trait in enumerate(TRAITS):
            glm_table(chrom, snps, bhat[:, t], freq, model.n_gwas).to_csv(
                glm[trait], sep="\t", index=False, header=chrom == 1, mode="a", float_format="%.6g")
        gene_bed(chrom, snps["POS"].to_numpy(), model.snps_per_gene).to_csv(bed, sep="\t", index=False,
                                                                             header=False, mode="a")
    Cohort(root, files={"sumstats": {t: p.name for t, p in glm.items()}, "ld_panel": panels, "gwas_genes": bed.name},
           info={"description": f"shrink_genome benchmark: {n_snps} SNPs, 22 chromosomes, seed {seed}"}).save()


# ------------------------------------------------------------------------------------- measuring


def tree_rss_bytes(pid: int) -> int:
    """Resident bytes of process ``pid`` and all its descendants (VmRSS summed; shared pages counted in
    each process, so an upper bound of what they hold together); 0 once it has exited."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += next((int(line.split()[1]) * 1024 for line in status.splitlines()
                           if line.startswith("VmRSS:")), 0)
            for task in Path(f"/proc/{p}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


class RssSampler(threading.Thread):
    """Samples ``tree_rss_bytes(pid)`` every ``RSS_SAMPLE_S`` seconds into ``samples`` [(unix time, bytes)]
    until ``stop()``."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.samples, self._halt = pid, [], threading.Event()

    def run(self) -> None:
        while not self._halt.wait(RSS_SAMPLE_S):
            self.samples.append((time.time(), tree_rss_bytes(self.pid)))

    def stop(self) -> list[tuple[float, int]]:
        self._halt.set()
        self.join()
        return self.samples


def _workflow_child(cohort_root: Path, outdir: Path, seed: int, queue) -> None:
    from varflow.io.cohort import Cohort
    from varflow.shrink.pipeline import run_from_cohort

    start = time.time()
    t = time.perf_counter()
    figures = run_from_cohort(Cohort.load(cohort_root), outdir, seed=seed)
    total = time.perf_counter() - t
    hwm = [line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:")]
    matching = {k: sum(m.get(k, 0) for m in figures["matching"].values()) for k in ("sumstats", "matched", "flipped")}
    queue.put({"matching": matching, "start": start, "seconds_total": total, "seconds": figures["seconds"],
               "wall_seconds": figures["wall_seconds"], "workers": figures["workers"],
               "n_snps_shrunk": figures["n_snps"], "n_blocks": figures["n_blocks"], "n_genes": figures["n_genes"],
               "main_peak_rss_gb": int(hwm[0].split()[1]) / 2 ** 20})


def phase_peaks(samples: list[tuple[float, int]], start: float, wall: dict[str, float]) -> dict[str, float]:
    """Peak sampled RSS (GB) within each phase, the phases laid end to end from ``start`` (unix seconds)
    in ``wall``'s order (run_steps' phase wall seconds); the last phase runs to the last sample."""
    peaks, t0 = {}, start
    names = [k for k, v in wall.items() if v > 0]  # ld_blocks is 0 s without precomputed LD
    for i, name in enumerate(names):
        t1 = t0 + wall[name] if i < len(names) - 1 else math.inf
        inside = [b for t, b in samples if t0 <= t < t1]
        peaks[name] = round(max(inside, default=0) / 2 ** 30, 3)
        t0 = t1
    return peaks


def run_workflow(cohort_root: Path, outdir: Path, seed: int) -> dict:
    """The shrink workflow on the cohort in a spawned child process: per phase wall seconds and peak RSS
    (GB, the child and its workers sampled together), per step task seconds, total seconds and peak RSS,
    and the CPU seconds (user + system) of the child and its workers (wall over CPU shows contention)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_workflow_child, args=(cohort_root, outdir, seed, queue))
    proc.start()
    sampler = RssSampler(proc.pid)
    sampler.start()
    result = None
    while result is None:
        try:
            result = queue.get(timeout=1.0)
        except queue_module.Empty:
            if not proc.is_alive():
                raise RuntimeError(f"workflow child exited with {proc.exitcode} before reporting") from None
    proc.join()
    samples = sampler.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    peak = max([b for _, b in samples] + [0]) / 2 ** 30
    peaks = phase_peaks(samples, result["start"], result["wall_seconds"])
    return {"seconds_total": round(result["seconds_total"], 2), "cpu_s": round(cpu, 2),
            "phases": {k: {"wall_s": result["wall_seconds"][k], "peak_rss_gb": p} for k, p in peaks.items()},
            "step_task_seconds": result["seconds"], "workers": result["workers"],
            "peak_rss_gb": round(max(peak, result["main_peak_rss_gb"]), 3),
            "main_process_peak_rss_gb": round(result["main_peak_rss_gb"], 3),
            "matching": result["matching"], "n_snps_shrunk": result["n_snps_shrunk"],
            "n_blocks": result["n_blocks"], "n_genes": result["n_genes"]}


def run_scale(folder: Path, n_snps: int, model: GenomeModel, seed: int) -> dict:
    """Simulate the cohort of ``n_snps`` SNPs in ``folder`` and run the workflow on it; the figures."""
    t = time.perf_counter()
    simulate_cohort(folder / "cohort", n_snps, model, seed)
    simulated = time.perf_counter() - t
    figures = run_workflow(folder / "cohort", folder / "out", seed)
    return {"snps": n_snps, "simulate_s": round(simulated, 1), "band_gb_largest_chromosome": band_gb(n_snps),
            **figures, "snps_per_s": round(n_snps / figures["seconds_total"], 1)}


# ------------------------------------------------------------------------------------- LD baseline


def timed_command(cmd: list[str]) -> float:
    """Wall seconds of ``cmd`` (RuntimeError with its stderr's end when it fails)."""
    t = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-500:]}")
    return time.perf_counter() - t


def baseline_chromosome(snp_counts: dict[str, int], max_snps: int) -> str:
    """The chromosome with the most SNPs at most ``max_snps``, else the one with the fewest."""
    fitting = {c: j for c, j in snp_counts.items() if j <= max_snps}
    pool = fitting or snp_counts
    return (max if fitting else min)(pool, key=pool.get)


def in_process_ld_panel(panel: str, chrom: str, out: Path) -> float:
    """Wall seconds of ``steps.ld_panel_step`` (read, band, blocks, writes) in this process, imports done."""
    from varflow.shrink.steps import ld_panel_step

    t = time.perf_counter()
    ld_panel_step(Path(panel), chrom, out / "inproc.parquet", out / "inproc.npz", out / "inproc_band.npz")
    return time.perf_counter() - t


def ld_baseline(cohort_root: Path, n_snps: int, max_snps: int, folder: Path) -> dict:
    """plink 1.9 ``--r square bin4`` (dense r, float32 binary) and windowed ``--r`` (text, every pair at
    most W SNPs apart, the pairs the band keeps) vs ``varflow shrink ld-panel`` (the CLI, Python start-up
    and imports included, and the same step in this process) on one chromosome's panel of ``n_snps``
    SNPs genome-wide; SNPs/s of each and varflow's ratios. Same CPUs for all."""
    from varflow.shrink.panel_ld import PanelLDConfig

    plink = shutil.which("plink1.9") or shutil.which("plink")
    if plink is None:
        return {"skipped": "plink 1.9 not installed (Debian package plink1.9)"}
    snp_counts = {f"chr{c}": int(j) for c, j in enumerate(snps_per_chromosome(n_snps).tolist(), start=1)}
    chrom = baseline_chromosome(snp_counts, max_snps)
    panel, j = str(cohort_root / "panel" / chrom), snp_counts[chrom]
    width, threads = PanelLDConfig().width, str(len(os.sched_getaffinity(0)))
    varflow = str(Path(sys.executable).with_name("varflow"))
    out = folder / "ld_baseline"
    out.mkdir()
    runs = {
        "varflow_ld_panel": [varflow, "shrink", "ld-panel", "--panel", panel, "--chrom", chrom,
                             "--out-blocks", str(out / "b.parquet"), "--out-ld", str(out / "b.npz"),
                             "--out-band", str(out / "band.npz")],
        "plink_r_square_bin4": [plink, "--bfile", panel, "--r", "square", "bin4", "--threads", threads,
                                "--out", str(out / "square")],
        "plink_r_window": [plink, "--bfile", panel, "--r", "--ld-window", str(width + 1), "--ld-window-kb",
                           "1000000", "--ld-window-r2", "0", "--threads", threads, "--out", str(out / "window")],
    }
    res: dict = {"chrom": chrom, "snps": j, "band_snps": width, "threads": int(threads), "plink": plink}
    for name, cmd in runs.items():
        seconds = timed_command(cmd)
        res[name] = {"seconds": round(seconds, 2), "snps_per_s": round(j / seconds, 1)}
    seconds = in_process_ld_panel(panel, chrom, out)
    res["varflow_ld_panel_in_process"] = {"seconds": round(seconds, 2), "snps_per_s": round(j / seconds, 1)}
    for mine in ("varflow_ld_panel", "varflow_ld_panel_in_process"):
        for theirs in ("plink_r_square_bin4", "plink_r_window"):
            res[f"ratio_{mine}_vs_{theirs}"] = round(res[mine]["snps_per_s"] / res[theirs]["snps_per_s"], 3)
    return res


# ------------------------------------------------------------------------------------- scaling


def loglog_fit(snps: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of log(values) against log(snps), both (S,) over S >= 2 scales."""
    slope, intercept = np.polyfit(np.log(snps), np.log(values), 1)
    return float(slope), float(intercept)


def band_gb(n_snps: int) -> float:
    """GB of the float32 LD band (J, W+1) of the largest chromosome at ``n_snps`` SNPs genome-wide: what
    the ld-panel and gene-test steps hold for one chromosome, a floor under the workflow's peak RSS (at
    small scales the fixed ~0.2 GB of Python and imports hides it from the log-log fit)."""
    from varflow.shrink.panel_ld import PanelLDConfig

    return round(int(snps_per_chromosome(n_snps).max()) * (PanelLDConfig().width + 1) * 4 / 2 ** 30, 3)


def scaling(runs: list[dict]) -> dict:
    """Log-log slopes of total (wall) seconds, CPU seconds and peak RSS against SNPs, and each at 1M
    SNPs: measured when 1M was run, else extrapolated from the fit (labelled so); the wall seconds and
    peak RSS against their targets."""
    snps = np.array([r["snps"] for r in runs], dtype=float)
    at_target = next((r for r in runs if r["snps"] == TARGET_SNPS), None)
    out: dict = {"band_gb_largest_chromosome_at_1M": band_gb(TARGET_SNPS)}
    if len(runs) >= 2:  # fixed costs (imports, plots) flatten the fit at small scales: the steps' own slopes
        out["loglog_slope_step_seconds"] = {
            step: round(loglog_fit(snps, np.maximum([r["step_task_seconds"][step] for r in runs], 1e-3))[0], 3)
            for step in runs[-1]["step_task_seconds"] if runs[-1]["step_task_seconds"][step] > 0}
        steep = loglog_fit(snps[-2:], np.array([r["seconds_total"] for r in runs[-2:]]))[0]
        out["loglog_slope_seconds_two_largest"] = round(steep, 3)
        if at_target is None:
            value = runs[-1]["seconds_total"] * (TARGET_SNPS / runs[-1]["snps"]) ** steep
            out["at_1M_seconds_two_largest"] = {"value": round(value, 2), "how": "extrapolated"}
    for key, value, target in (("seconds", "seconds_total", TARGET_SECONDS), ("cpu_seconds", "cpu_s", None),
                               ("rss_gb", "peak_rss_gb", TARGET_RSS_GB)):
        if len(runs) >= 2:
            slope, intercept = loglog_fit(snps, np.array([r[value] for r in runs]))
            out[f"loglog_slope_{key}"] = round(slope, 3)
        if at_target is not None:
            figure, how = at_target[value], "measured"
        elif len(runs) >= 2:
            figure, how = math.exp(intercept + slope * math.log(TARGET_SNPS)), "extrapolated"
        else:
            continue
        out[f"at_1M_{key}"] = {"value": round(figure, 2), "how": how}
        if target is not None:
            out[f"at_1M_{key}"].update(target=target, met=bool(figure <= target))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--snps", type=int, default=TARGET_SNPS, help="SNPs genome-wide (when --scales is not given)")
    parser.add_argument("--scales", type=str, default=None,
                        help="comma-separated SNP counts, e.g. 10000,100000,1000000 (overrides --snps)")
    parser.add_argument("--baseline-snps", type=int, default=10_000,
                        help="LD baseline on the largest chromosome with at most this many SNPs")
    parser.add_argument("--workdir", type=Path, default=None, help="where the cohorts go (default: a temp folder)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    scales = sorted(int(s) for s in args.scales.split(",")) if args.scales else [args.snps]
    model = GenomeModel()
    out: dict = {"benchmark": "shrink_genome", "chromosomes": 22, "traits": len(TRAITS), "samples": model.n_samples,
                 "cpus": len(os.sched_getaffinity(0)), "model": model.__dict__}
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        runs = []
        for n_snps in scales:
            folder = Path(tmp) / f"snps_{n_snps}"
            folder.mkdir()
            runs.append(run_scale(folder, n_snps, model, args.seed))
        out["runs"] = runs
        out.update(scaling(runs))
        largest = Path(tmp) / f"snps_{scales[-1]}"
        out["ld_baseline"] = ld_baseline(largest / "cohort", scales[-1], args.baseline_snps, largest)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
