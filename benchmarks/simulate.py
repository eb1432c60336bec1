"""simulate benchmark: seconds per stage of ``build_cohort`` for a preset, plus two naive baselines.

Stages (wall-clock seconds, summed over chromosomes): genotypes (msprime), genome_layout (sequence,
genes, elements, motif planting), alleles, causal_scan, write_fasta, write_vcf, expression, finemap
(SuSiE per gene), annotations, gwas. Baselines measured in the same run on the cohort's first chromosome:

  vcf_write_speedup  naive: pysam VariantRecord per site, GT set sample by sample (the textbook way);
                     varflow: vectorised genotype text + bgzip/tabix through pysam
  pwm_score_speedup  naive: Python loop over SNVs, motifs, strands and windows (numpy per window);
                     varflow: one vectorised gather per motif offset over all variants

Usage (prints one JSON line):

    python benchmarks/simulate.py                 # demo preset (the < 60 s target on 2 cores)
    python benchmarks/simulate.py --preset tiny
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pysam

from varflow.simulate.annotations import motif_changes
from varflow.simulate.cohort import SimulationConfig, StageTimer, _simulate_chromosome, build_cohort
from varflow.simulate.motifs import CODE, MOTIFS
from varflow.simulate.vcfwrite import write_phased_vcf


def naive_vcf(path: Path, chrom: str, length: int, samples: list[str], variants, haps: np.ndarray) -> None:
    header = pysam.VariantHeader()
    header.add_line(f"##contig=<ID={chrom},length={length}>")
    header.add_line('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
    for s in samples:
        header.add_sample(s)
    with pysam.VariantFile(str(path), "wz", header=header) as out:
        for i, (pos, ref, alt) in enumerate(zip(variants["pos"], variants["ref"], variants["alt"])):
            rec = out.new_record(contig=chrom, start=int(pos) - 1, alleles=(ref, alt))
            for j, s in enumerate(samples):
                rec.samples[s]["GT"] = (int(haps[i, 2 * j]), int(haps[i, 2 * j + 1]))
                rec.samples[s].phased = True
            out.write(rec)
    pysam.tabix_index(str(path), preset="vcf", force=True)


def naive_pwm(seq: np.ndarray, variants) -> np.ndarray:
    """Best-site score change per SNV and motif, one variant, motif, strand and window at a time."""
    flank = max(len(m) for m in MOTIFS) - 1
    out = np.zeros((len(variants), len(MOTIFS)))
    for i, (pos, alt) in enumerate(zip(variants["pos"], variants["alt"])):
        p = int(pos) - 1
        ref_w = seq[p - flank:p + flank + 1].copy()
        alt_w = ref_w.copy()
        alt_w[flank] = CODE[alt]
        for j, m in enumerate(MOTIFS):
            k = len(m)
            best = []
            for w in (ref_w, alt_w):
                best.append(max(pwm[np.arange(k), w[o:o + k]].sum()
                                for pwm in (m.pwm, m.pwm[::-1, ::-1]) for o in range(w.size - k + 1)))
            out[i, j] = best[1] - best[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="demo", choices=["tiny", "demo"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config = SimulationConfig.preset(args.preset, seed=args.seed)

    with tempfile.TemporaryDirectory() as tmp:
        timings: dict[str, float] = {}
        start = time.perf_counter()
        cohort = build_cohort(config, Path(tmp) / "cohort", timings=timings)
        total = time.perf_counter() - start

        chrom = _simulate_chromosome(config, 0, StageTimer())
        snv = chrom.variants[chrom.variants["kind"] == "snv"]
        samples = [f"ind{i + 1:04d}" for i in range(config.n_individuals)]

        t = time.perf_counter()
        write_phased_vcf(Path(tmp) / "fast.vcf.gz", {chrom.name: chrom.seq.size}, samples,
                         [(chrom.variants, chrom.haps.haplotypes)])
        fast_vcf = time.perf_counter() - t
        t = time.perf_counter()
        naive_vcf(Path(tmp) / "naive.vcf.gz", chrom.name, chrom.seq.size, samples, chrom.variants,
                  chrom.haps.haplotypes)
        slow_vcf = time.perf_counter() - t

        interior = (snv["pos"] > 20) & (snv["pos"] < chrom.seq.size - 20)
        sub = snv[interior].iloc[:400]
        t = time.perf_counter()
        fast = motif_changes(chrom.seq, sub)[0]
        fast_pwm = time.perf_counter() - t
        t = time.perf_counter()
        slow = naive_pwm(chrom.seq, sub)
        slow_pwm = time.perf_counter() - t
        if not np.allclose(fast, slow):
            raise SystemExit("vectorised PWM scores differ from the naive loop")

    print(json.dumps({
        "benchmark": "simulate", "preset": args.preset, "seed": args.seed,
        "n_chromosomes": config.n_chromosomes, "n_genes": cohort.info["n_genes"],
        "n_individuals": config.n_individuals, "n_variants": cohort.info["n_variants"],
        "gwas_n": config.gwas.n_individuals, "total_s": round(total, 2),
        "stages_s": {k: round(v, 3) for k, v in timings.items()},
        "vcf_write": {"sites": len(chrom.variants), "samples": len(samples), "naive_s": round(slow_vcf, 3),
                      "varflow_s": round(fast_vcf, 3), "speedup": round(slow_vcf / fast_vcf, 1)},
        "pwm_score": {"snvs": len(sub), "naive_s": round(slow_pwm, 3), "varflow_s": round(fast_pwm, 4),
                      "speedup": round(slow_pwm / fast_pwm, 1)},
        "cpu": platform.processor() or platform.machine(),
    }))


if __name__ == "__main__":
    main()
