"""Reference FASTA access (pyfaidx), with 'chr1' / '1' contig names reconciled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyfaidx

from varflow.errors import VarflowError
from varflow.io.contigs import contig_resolver


class ReferenceGenome:
    """Read-only reference sequence; coordinates 0-based, half-open; bases upper-case.

    ``fetch`` pads with 'N' where the interval runs off either end of the contig.
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        if not self.path.exists():
            raise VarflowError(f"{self.path}: reference FASTA not found")
        try:
            self._fasta = pyfaidx.Fasta(str(self.path), as_raw=True, sequence_always_upper=True,
                                        rebuild=False, build_index=True)
        except (pyfaidx.FastaIndexingError, ValueError) as exc:
            raise VarflowError(f"{self.path}: cannot index FASTA ({exc})") from None
        self.lengths = {name: len(rec) for name, rec in self._fasta.records.items()}
        self._resolve = contig_resolver(self.lengths)

    def contig(self, name: str) -> str:
        """The FASTA's spelling of contig ``name``; VarflowError if it is absent."""
        found = self._resolve(name)
        if found is None:
            raise VarflowError(f"{self.path}: contig '{name}' not in the reference "
                               f"(has {', '.join(list(self.lengths)[:5])}...)")
        return found

    def length(self, name: str) -> int:
        return self.lengths[self.contig(name)]

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Bases [start, end) of ``chrom`` as an upper-case string, 'N'-padded beyond the contig."""
        name = self.contig(chrom)
        width = max(end - start, 0)
        lo, hi = max(start, 0), min(end, self.lengths[name])
        seq = self._fasta[name][lo:hi] if hi > lo else ""
        left = min(max(-start, 0), width)
        return "N" * left + seq + "N" * (width - left - len(seq))

    def fetch_codes(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Bases [start, end) as uint8 ASCII codes, shape (end - start,)."""
        return np.frombuffer(self.fetch(chrom, start, end).encode("ascii"), dtype=np.uint8)

    def close(self) -> None:
        self._fasta.close()

    def __enter__(self) -> "ReferenceGenome":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
