"""Phased multi-sample VCF access through pysam (bgzipped + tabix-indexed)."""

from __future__ import annotations

from pathlib import Path

import pysam

from varflow.errors import VarflowError


def open_vcf(path: Path | str) -> pysam.VariantFile:
    """Open a bgzipped, indexed VCF; VarflowError if the file or its .tbi/.csi index is missing."""
    path = Path(path)
    if not path.exists():
        raise VarflowError(f"{path}: VCF not found")
    if not (Path(f"{path}.tbi").exists() or Path(f"{path}.csi").exists()):
        raise VarflowError(f"{path}: VCF has no tabix index ({path.name}.tbi or .csi); "
                           f"run 'tabix -p vcf {path.name}'")
    try:
        return pysam.VariantFile(str(path))
    except (OSError, ValueError) as exc:
        raise VarflowError(f"{path}: cannot open VCF ({exc})") from None


def vcf_samples(path: Path | str) -> list[str]:
    with open_vcf(path) as vcf:
        return list(vcf.header.samples)


def vcf_contig_names(vcf: pysam.VariantFile) -> list[str]:
    """The contigs an indexed VCF has records on (its index), else those its header declares."""
    return list(vcf.index.keys()) if vcf.index is not None else list(vcf.header.contigs)
