"""A small random genome + phased VCF + gene table + expression for loader tests and the benchmark.

Not a cohort simulator (that is ``varflow.simulate``): the VCF is built to stress the haplotype
construction — SNVs, insertions, deletions, multi-allelic records, records overlapping earlier ones,
genes on both strands, and windows running off chromosome ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pysam

BASES = np.array(list("ACGT"))


@dataclass
class ToyData:
    reference: Path
    vcf: Path
    genes: pd.DataFrame
    expression: pd.DataFrame
    samples: list[str]


def _random_seq(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(BASES, n))


def write_toy_data(outdir: Path, *, seed: int = 0, n_samples: int = 12, chrom_lengths=(3000, 2000),
                   genes_per_chrom: int = 6, variant_rate: float = 0.03, window: int = 200,
                   chrom_prefix: str = "chr") -> ToyData:
    """Write ``reference.fa`` (+ .fai), ``cohort.vcf.gz`` (+ .tbi), return genes and expression.

    ``variant_rate``: records per bp. About 60% SNVs, 15% insertions, 15% deletions, 10% multi-allelic;
    about 5% of records are placed inside the REF span of the previous record. Genes' TSSs include
    positions within ``window // 2`` of both chromosome ends.
    """
    rng = np.random.default_rng(seed)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    chroms = [f"{chrom_prefix}{i + 1}" for i in range(len(chrom_lengths))]
    seqs = {c: _random_seq(rng, n) for c, n in zip(chroms, chrom_lengths)}
    fasta = outdir / "reference.fa"
    with open(fasta, "w") as handle:
        for c, s in seqs.items():
            handle.write(f">{c}\n")
            for i in range(0, len(s), 60):
                handle.write(s[i:i + 60] + "\n")
    pysam.faidx(str(fasta))

    samples = [f"ind{i + 1:04d}" for i in range(n_samples)]
    lines = ["##fileformat=VCFv4.2"]
    lines += [f"##contig=<ID={c},length={len(s)}>" for c, s in seqs.items()]
    lines.append('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples))
    for c, s in seqs.items():
        n_rec = int(variant_rate * len(s))
        starts = np.sort(rng.choice(np.arange(1, len(s) - 20), n_rec, replace=False))
        prev_start, prev_len = -10, 1
        for start in starts:
            start = int(start)
            if rng.random() < 0.05 and prev_len > 1:  # inside the previous record's REF span
                start = prev_start + int(rng.integers(1, prev_len))
            kind = rng.choice(["snv", "ins", "del", "multi"], p=[0.6, 0.15, 0.15, 0.1])
            if kind == "del":
                ref = s[start:start + int(rng.integers(2, 12))]
                alts = [ref[0]]
            elif kind == "ins":
                ref = s[start]
                alts = [ref + _random_seq(rng, int(rng.integers(1, 9)))]
            elif kind == "multi":
                ref = s[start:start + int(rng.integers(1, 4))]
                others = [b for b in "ACGT" if b != ref[0]]
                alts = [others[0] + ref[1:], ref[0] + _random_seq(rng, 3), others[1] + ref[1:]]
            else:
                ref = s[start]
                alts = [str(rng.choice([b for b in "ACGT" if b != ref]))]
            alts = list(dict.fromkeys(a for a in alts if a != ref))
            freq = rng.uniform(0.05, 0.6)
            probs = np.array([1 - freq] + [freq / len(alts)] * len(alts))
            gt = rng.choice(len(alts) + 1, size=(n_samples, 2), p=probs)
            calls = "\t".join(f"{a}|{b}" for a, b in gt)
            lines.append(f"{c}\t{start + 1}\t.\t{ref}\t{','.join(alts)}\t.\tPASS\t.\tGT\t{calls}")
            prev_start, prev_len = start, len(ref)
    vcf_text = outdir / "cohort.vcf"
    vcf_text.write_text("\n".join(lines) + "\n")
    vcf = Path(pysam.tabix_index(str(vcf_text), preset="vcf", force=True))

    rows = []
    for c, s in seqs.items():
        n = len(s)
        tsss = [5, n - 7] + list(rng.integers(window, n - window, genes_per_chrom - 2))
        for j, tss in enumerate(tsss):
            rows.append((f"{c}_g{j}", c, int(tss), "+" if j % 2 == 0 else "-"))
    genes = pd.DataFrame(rows, columns=["gene_id", "chrom", "tss", "strand"])
    genes["start"] = genes["tss"] - np.where(genes["strand"] == "+", 0, 100)
    genes["end"] = genes["start"] + 100
    genes["start"] = genes["start"].clip(lower=0)
    expr = pd.DataFrame(rng.normal(size=(len(genes), n_samples)), columns=samples)
    expr.insert(0, "gene_id", genes["gene_id"].to_numpy())
    return ToyData(fasta, vcf, genes, expr, samples)
