"""Write a phased multi-sample VCF, bgzip-compress and tabix-index it with pysam.

Genotype text is built with vectorised lookups (one string per site), which is far faster than
filling pysam VariantRecord objects sample by sample.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pysam

import varflow

_GT = np.array(["0|0", "0|1", "1|0", "1|1"], dtype=object)


def write_phased_vcf(path: Path, contigs: dict[str, int], samples: list[str],
                     records: list[tuple[pd.DataFrame, np.ndarray]]) -> Path:
    """Write ``path`` (ending .vcf.gz) and ``path``.tbi.

    ``records``: per chromosome, in contig order, (variants, haplotypes) where ``variants`` has
    chrom, pos (1-based, increasing), variant_id, ref, alt and ``haplotypes`` is (n_sites, 2 * n_samples)
    uint8 with columns 2i, 2i+1 the two haplotypes of sample i.
    """
    path = Path(path)
    plain = path.with_suffix("")  # cohort.vcf
    header = ["##fileformat=VCFv4.2", f"##source=varflow-{varflow.__version__} simulate cohort",
              *(f"##contig=<ID={name},length={length}>" for name, length in contigs.items()),
              '##FORMAT=<ID=GT,Number=1,Type=String,Description="Phased genotype">',
              "#" + "\t".join(["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples])]
    with open(plain, "w") as handle:
        handle.write("\n".join(header) + "\n")
        for variants, haps in records:
            if len(variants) == 0:
                continue
            gt = _GT[haps[:, 0::2] * 2 + haps[:, 1::2]]  # (n_sites, n_samples) strings
            fixed = (variants["chrom"].astype(str) + "\t" + variants["pos"].astype(str) + "\t"
                     + variants["variant_id"] + "\t" + variants["ref"] + "\t" + variants["alt"]
                     + "\t.\tPASS\t.\tGT\t").to_numpy()
            lines = [f + "\t".join(row) for f, row in zip(fixed, gt)]
            handle.write("\n".join(lines) + "\n")
    pysam.tabix_compress(str(plain), str(path), force=True)
    plain.unlink()
    pysam.tabix_index(str(path), preset="vcf", force=True)
    return path
