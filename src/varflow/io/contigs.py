"""Reconcile contig names between files that spell them 'chr1' and '1'."""

from __future__ import annotations

from typing import Iterable


def strip_chr(name: str) -> str:
    return name[3:] if name.lower().startswith("chr") else name


def contig_resolver(available: Iterable[str]):
    """Return a function mapping a contig name as spelled elsewhere to the spelling in ``available``.

    The returned function gives None for a contig that exists under neither spelling.
    """
    available = list(available)
    exact = set(available)
    by_bare = {strip_chr(c): c for c in available}

    def resolve(name: str) -> str | None:
        if name in exact:
            return name
        return by_bare.get(strip_chr(name))

    return resolve
