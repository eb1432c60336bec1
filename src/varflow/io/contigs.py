"""Chromosome names as different files spell them: '1' / 'chr1', and 'MT' / 'chrM' / 'M'."""

from __future__ import annotations

from typing import Callable, Iterable

_MITOCHONDRIAL = {"M", "MT"}


def strip_chr(name: str) -> str:
    """``name`` without a leading 'chr' (any case)."""
    return name[3:] if name.lower().startswith("chr") else name


def chrom_key(name: str) -> str:
    """The spelling-free key of a chromosome name: 'chr' prefix dropped (any case), 'M'/'MT' -> 'MT'."""
    bare = strip_chr(name)
    return "MT" if bare.upper() in _MITOCHONDRIAL else bare


def normalise_chrom_names(names: Iterable[str], reference: Iterable[str]) -> list[str | None]:
    """Each of ``names`` spelled as in ``reference`` (a list of contig names, e.g. a FASTA's or a VCF's).

    An exact match wins; otherwise names match by ``chrom_key`` ('chr1' -> '1', 'MT' -> 'chrM', ...).
    Returns one entry per name, None where the reference has no such chromosome.
    """
    resolve = contig_resolver(reference)
    return [resolve(n) for n in map(str, names)]


def contig_resolver(available: Iterable[str]) -> Callable[[str], str | None]:
    """A function mapping a contig name as spelled elsewhere to its spelling in ``available`` (an
    exact match first, then by ``chrom_key``), None for a contig that exists under neither spelling."""
    available = list(available)
    exact = set(available)
    by_key: dict[str, str] = {}
    for contig in available:
        by_key.setdefault(chrom_key(contig), contig)

    def resolve(name: str) -> str | None:
        return name if name in exact else by_key.get(chrom_key(name))

    return resolve
