"""Torch datasets over the haplotype store, and labels computed from training individuals only.

Items are windows in one of two encodings (``ENCODINGS``): ``"codes"`` (the default), (L,) uint8
base codes (A, C, G, T = 0..3, N = 4; the model one-hot encodes them on its device), or
``"onehot"``, channels-last (L, 4) float32 (A, C, G, T; N = 0.25), 16x the bytes. A batch is built
directly into recycled arrays (``__getitems__``): each gene's buffer is encoded once per batch and
every window of that gene (reference and haplotypes) is block-copied from it. The reference window
of each gene appears once per batch (``ref`` (G_b, L[, 4]) with ``ref_index`` (B,) mapping items to
it), so that the model computes the reference-branch embedding once per gene and batch.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd
import torch

from varflow.errors import VarflowError
from varflow.io.gene_annotations import strip_gene_version
from varflow.s2e.haplotypes import apply_copies, onehot
from varflow.s2e.onehot import base_codes
from varflow.s2e.store import HaplotypeStore

log = logging.getLogger("varflow")


class Encoding(NamedTuple):
    """How windows are written: ``encode`` maps (B,) uint8 ASCII codes to (B, *channels) rows of ``dtype``."""

    encode: Callable[..., np.ndarray]
    channels: tuple[int, ...]
    dtype: type


ENCODINGS = {"codes": Encoding(base_codes, (), np.uint8), "onehot": Encoding(onehot, (4,), np.float32)}
DEFAULT_ENCODING = "codes"


@dataclass
class Labels:
    """Per gene (store order): ``mean`` (G,) mean expression over training individuals, ``sd`` (G,)
    their standard deviation (1 where it is 0), and ``dev`` (G, N) the z-scored deviation of every
    store sample, (y - mean) / sd, NaN for samples without expression. ``has_expr`` (G,) bool marks
    genes present in the expression table."""

    mean: np.ndarray
    sd: np.ndarray
    dev: np.ndarray
    has_expr: np.ndarray


def align_expression(expression: pd.DataFrame, store: HaplotypeStore, source: str = "expression"
                     ) -> tuple[np.ndarray, list[str]]:
    """Expression as (G, N) float64 in store gene/sample order (NaN where absent) + shared samples.

    Samples are matched by name, and one log line reports the overlap (shared, only in the
    expression table, only in the VCF; the latter two are left out). Genes are matched by id, or by
    id without the version suffix when that matches more (``match_gene_rows``). No shared sample, a
    repeated gene id, or a NaN value for a shared sample raises VarflowError naming gene and sample.
    """
    if "gene_id" not in expression.columns:
        raise VarflowError(f"{source}: missing column 'gene_id'")
    expr_samples = [c for c in expression.columns if c != "gene_id"]
    shared = _report_sample_overlap(expr_samples, store.samples, source)
    ids = expression["gene_id"].astype(str)
    if ids.duplicated().any():
        raise VarflowError(f"{source}: gene id {ids[ids.duplicated()].iat[0]!r} appears in more than one row")
    values = expression[shared].to_numpy(dtype=np.float64)
    nan = np.isnan(values)
    if nan.any():
        r, c = np.argwhere(nan)[0]
        raise VarflowError(f"{source}: gene {ids.iat[r]}, sample {shared[c]}: expression is NaN "
                           f"({int(nan.sum())} NaN value(s)); impute or drop them first")
    out = np.full((store.n_genes, len(store.samples)), np.nan)
    rows = match_gene_rows(ids.tolist(), store.genes["gene_id"].astype(str).tolist(), source)
    cols = np.array([store.samples.index(s) for s in shared])
    present = rows >= 0
    out[np.ix_(np.flatnonzero(present), cols)] = values[rows[present]]
    return out, shared


def _report_sample_overlap(expr_samples: list[str], vcf_samples: list[str], source: str) -> list[str]:
    """The VCF samples (in VCF order) that have expression, after one log line counting the overlap."""
    vcf_set, expr_set = set(vcf_samples), set(expr_samples)
    only_expr = [s for s in expr_samples if s not in vcf_set]
    only_vcf = [s for s in vcf_samples if s not in expr_set]
    shared = [s for s in vcf_samples if s in expr_set]
    if not shared:
        raise VarflowError(f"{source}: no sample column matches a VCF sample "
                           f"(expression has e.g. {', '.join(expr_samples[:3])}; VCF has e.g. "
                           f"{', '.join(vcf_samples[:3])})")
    (log.warning if only_expr or only_vcf else log.info)(
        "%s: %d sample(s) shared with the VCF; %d only in the expression table (not in the VCF, left out%s); "
        "%d VCF sample(s) without expression (left out%s)", source, len(shared), len(only_expr),
        _examples(only_expr), len(only_vcf), _examples(only_vcf))
    return shared


def _examples(names: list[str]) -> str:
    """', e.g. a, b, c' for a log line, '' when ``names`` is empty."""
    return f", e.g. {', '.join(names[:3])}" if names else ""


def match_gene_rows(expr_ids: list[str], store_ids: list[str], source: str = "expression") -> np.ndarray:
    """Row of each store gene in the expression table, (G,) int64, -1 where absent.

    Exact ids first; when ids without their version suffix (ENSG0001.5 -> ENSG0001, either side) match
    more genes, those are used and logged. Two expression ids that differ only by version raise.
    """
    rows = pd.Index(expr_ids).get_indexer(store_ids)
    if (rows >= 0).all():
        return rows
    bare_store, bare_expr = strip_gene_version(store_ids), pd.Index(strip_gene_version(expr_ids))
    if np.isin(bare_store, bare_expr).sum() <= (rows >= 0).sum():
        return rows
    if bare_expr.has_duplicates:
        raise VarflowError(f"{source}: gene ids {', '.join(_version_clash(expr_ids))} are the same gene without "
                           "their version suffix; keep one row per gene")
    bare_rows = bare_expr.get_indexer(bare_store)
    log.info("%s: %d of %d genes matched by id without the version suffix (e.g. %s ~ %s)", source,
             int((bare_rows >= 0).sum()), len(store_ids), expr_ids[int(bare_rows[bare_rows >= 0][0])],
             store_ids[int(np.flatnonzero(bare_rows >= 0)[0])])
    return bare_rows


def _version_clash(ids: list[str]) -> list[str]:
    """The first ids (up to 3) whose version-less form repeats."""
    bare = pd.Series(strip_gene_version(ids))
    first = bare[bare.duplicated()].iat[0]
    return [i for i, b in zip(ids, bare) if b == first][:3]


def compute_labels(expr: np.ndarray, train_idx: np.ndarray) -> Labels:
    """Labels from (G, N) expression using only the training samples ``train_idx`` for mean and sd."""
    has = ~np.isnan(expr[:, train_idx]).all(axis=1)
    train = expr[:, train_idx]
    mean = np.where(has, np.nanmean(np.where(has[:, None], train, 0.0), axis=1), np.nan)
    sd = np.where(has, np.nanstd(np.where(has[:, None], train, 0.0), axis=1), 1.0)
    sd = np.where(sd > 1e-12, sd, 1.0)  # a constant gene has deviation 0 everywhere
    dev = (expr - mean[:, None]) / sd[:, None]
    return Labels(mean.astype(np.float32), sd.astype(np.float32), dev.astype(np.float32), has)


def identity_collate(batch):
    """``__getitems__`` already returns a collated batch."""
    return batch


class ArrayPool:
    """Recycles the large arrays that batches are built in (raw byte buffers, viewed as any dtype).

    A fresh multi-MB array costs a page fault per page on first touch (the kernel zeroes each page),
    about a third of the time to build a 40 kb batch. An array is handed out again only once its
    reference count shows that nothing else (no tensor made by ``torch.from_numpy``, no view, no
    batch still held by the training loop or the autograd graph) refers to it, so a batch is never
    overwritten while in use. Holds at most ``capacity`` arrays; beyond that, arrays are plain
    allocations. Pickling (DataLoader workers) gives an empty pool.
    """

    def __init__(self, capacity: int = 8):
        self.capacity = capacity
        self._arrays: list[np.ndarray] = []
        # the count of an array that only a list refers to, measured the same way as the pool's
        self._free_refcount = self._refcounts([np.empty(1, np.uint8)])[0]

    @staticmethod
    def _refcounts(arrays: list[np.ndarray]) -> list[int]:
        return [sys.getrefcount(a) for a in arrays]

    def empty(self, shape: tuple[int, ...], dtype: type) -> np.ndarray:
        """An uninitialised array of ``shape`` and ``dtype`` (a view of a pooled buffer)."""
        size = int(np.prod(shape)) * np.dtype(dtype).itemsize
        fits = [a for a, count in zip(self._arrays, self._refcounts(self._arrays))
                if count <= self._free_refcount and a.shape[0] >= size]
        if fits:
            return min(fits, key=len)[:size].view(dtype).reshape(shape)
        array = np.empty(size, np.uint8)
        if len(self._arrays) < self.capacity:
            self._arrays.append(array)
        return array.view(dtype).reshape(shape)

    def __getstate__(self) -> dict:
        return {"capacity": self.capacity}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["capacity"])


class PersonalDataset(torch.utils.data.Dataset):
    """(reference, haplotype 1, haplotype 2) windows of (gene, sample) pairs with labels.

    ``pairs``: (K, 2) int64 (store gene index, store sample index). ``labels`` may be None for
    prediction-only use (labels are then NaN). ``encoding``: a key of ``ENCODINGS``.
    """

    def __init__(self, store: HaplotypeStore, pairs: np.ndarray, labels: Labels | None = None,
                 encoding: str = DEFAULT_ENCODING):
        self.store = store
        self.pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        self.labels = labels
        self.encoding = ENCODINGS[encoding]
        self.arrays = ArrayPool()

    def __len__(self) -> int:
        return self.pairs.shape[0]

    def _targets(self, genes: np.ndarray, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.labels is None:
            nan = np.full(genes.shape[0], np.nan, dtype=np.float32)
            return nan, nan
        return self.labels.mean[genes], self.labels.dev[genes, samples]

    def _windows(self, n: int) -> np.ndarray:
        """An uninitialised (n, L, *channels) array of the encoding's dtype from the pool."""
        return self.arrays.empty((n, self.store.window, *self.encoding.channels), self.encoding.dtype)

    def haplotypes_into(self, g: int, i: int, table: np.ndarray, out1: np.ndarray, out2: np.ndarray) -> None:
        """Write the haplotypes of sample ``i`` in gene ``g`` into (L, *channels) arrays, copying from
        ``table`` = ``gene_table(g)``."""
        alleles = self.store.haplotype_alleles(g, np.array([2 * i, 2 * i + 1]))
        apply_copies(table, self.store.window_copies(g, alleles[:, 0]), out1)
        apply_copies(table, self.store.window_copies(g, alleles[:, 1]), out2)

    def gene_table(self, g: int) -> np.ndarray:
        """Gene ``g``'s oriented buffer encoded, (B_g, *channels): every window of g copies from it."""
        return self.encoding.encode(self.store.oriented_buffer(g))

    def __getitem__(self, k: int) -> dict[str, torch.Tensor]:
        batch = self.__getitems__([k])
        return {key: batch[key][0] for key in ("ref", "hap1", "hap2", "mean", "dev", "gene", "sample")}

    def __getitems__(self, ks: list[int]) -> dict[str, torch.Tensor]:
        """A batch of B items over G_b genes: ``ref`` (G_b, L, *channels), ``ref_index`` (B,) int64,
        ``hap1``/``hap2`` (B, L, *channels), ``mean``/``dev`` (B,) float32, ``gene``/``sample`` (B,) int64."""
        pairs = self.pairs[np.asarray(ks, dtype=np.int64)]
        genes, samples = pairs[:, 0], pairs[:, 1]
        uniq, ref_index = np.unique(genes, return_inverse=True)
        ref, h1, h2 = self._windows(uniq.shape[0]), self._windows(pairs.shape[0]), self._windows(pairs.shape[0])
        for j, g in enumerate(uniq.tolist()):
            table = self.gene_table(g)
            apply_copies(table, self.store.window_copies(g, None), ref[j])
            for item in np.flatnonzero(ref_index == j).tolist():
                self.haplotypes_into(g, int(samples[item]), table, h1[item], h2[item])
        mean, dev = self._targets(genes, samples)
        return {"ref": torch.from_numpy(ref), "ref_index": torch.from_numpy(ref_index.astype(np.int64)),
                "hap1": torch.from_numpy(h1), "hap2": torch.from_numpy(h2),
                "mean": torch.from_numpy(np.asarray(mean, np.float32)),
                "dev": torch.from_numpy(np.asarray(dev, np.float32)),
                "gene": torch.from_numpy(genes.copy()), "sample": torch.from_numpy(samples.copy())}


class GeneStepDataset(torch.utils.data.Dataset):
    """Whole genes with all of ``samples``: a batch of genes holds every (gene, sample) pair of them,
    each gene's distinct haplotypes once.

    In a cohort most individuals share their haplotypes of a gene with others (the demo cohort: ~24
    distinct of 400 per 8 kb window), so a step over all training individuals of a few genes costs
    the trunk passes of their distinct haplotypes only, and the loss sees every individual of each
    gene, not a sample of 4 (``TrainConfig.genes_per_step``). ``genes``: (G,) store gene indices;
    ``samples``: (N,) store sample indices.
    """

    def __init__(self, store: HaplotypeStore, genes: np.ndarray, samples: np.ndarray, labels: Labels | None = None,
                 encoding: str = DEFAULT_ENCODING):
        self.store = store
        self.genes = np.asarray(genes, dtype=np.int64)
        self.samples = np.asarray(samples, dtype=np.int64)
        self.labels = labels
        self.encoding = ENCODINGS[encoding]
        self.columns = np.stack((2 * self.samples, 2 * self.samples + 1), axis=1).reshape(-1)  # (2N,)

    def __len__(self) -> int:
        return self.genes.shape[0]

    def distinct_haplotypes(self, g: int) -> tuple[np.ndarray, np.ndarray]:
        """Gene ``g``'s distinct alt-allele patterns over the samples' haplotypes, (H, M_g) bool, and
        each haplotype's row, (N, 2) int64 (sample order, haplotypes 1 and 2)."""
        alleles = self.store.haplotype_alleles(g, self.columns).T  # (2N, M_g)
        if alleles.shape[1] == 0:
            return np.zeros((1, 0), dtype=bool), np.zeros((self.samples.shape[0], 2), dtype=np.int64)
        patterns, rows = np.unique(alleles, axis=0, return_inverse=True)
        return patterns, rows.reshape(-1, 2).astype(np.int64)

    def _targets(self, genes: np.ndarray, samples: np.ndarray) -> dict[str, torch.Tensor]:
        """``mean`` and ``dev`` labels of items (NaN without labels), (B,) float32 each."""
        if self.labels is None:
            nan = torch.full((genes.shape[0],), float("nan"))
            return {"mean": nan, "dev": nan.clone()}
        return {"mean": torch.from_numpy(np.asarray(self.labels.mean[genes], np.float32)),
                "dev": torch.from_numpy(np.asarray(self.labels.dev[genes, samples], np.float32))}

    def __getitems__(self, ks: list[int]) -> dict[str, torch.Tensor]:
        """``ref`` (G_b, L, *channels), ``ref_index`` (B,), ``haps`` (H, L, *channels), ``hap_index``
        (B, 2), ``mean``/``dev`` (B,) float32, ``gene``/``sample`` (B,) int64, B = G_b x N items."""
        genes = self.genes[np.asarray(ks, dtype=np.int64)]
        found = [self.distinct_haplotypes(int(g)) for g in genes]
        n_haps = sum(p.shape[0] for p, _ in found)
        shape = (self.store.window, *self.encoding.channels)
        ref = np.empty((genes.shape[0], *shape), self.encoding.dtype)
        haps = np.empty((n_haps, *shape), self.encoding.dtype)
        hap_index, row = [], 0
        for j, (g, (patterns, rows)) in enumerate(zip(genes.tolist(), found)):
            table = self.encoding.encode(self.store.oriented_buffer(g))
            apply_copies(table, self.store.window_copies(g, None), ref[j])
            for h, pattern in enumerate(patterns):
                apply_copies(table, self.store.window_copies(g, pattern), haps[row + h])
            hap_index.append(rows + row)
            row += patterns.shape[0]
        n = self.samples.shape[0]
        item_gene = np.repeat(genes, n)
        item_sample = np.tile(self.samples, genes.shape[0])
        return {"ref": torch.from_numpy(ref), "ref_index": torch.from_numpy(np.repeat(np.arange(genes.shape[0]), n)),
                "haps": torch.from_numpy(haps), "hap_index": torch.from_numpy(np.concatenate(hap_index)),
                **self._targets(item_gene, item_sample),
                "gene": torch.from_numpy(item_gene), "sample": torch.from_numpy(item_sample)}


class ReferenceDataset(torch.utils.data.Dataset):
    """Reference-only windows of genes with their mean expression (the reference model's data).

    ``encoding``: a key of ``ENCODINGS``, as for ``PersonalDataset``.
    """

    def __init__(self, store: HaplotypeStore, genes: np.ndarray, labels: Labels | None = None,
                 encoding: str = DEFAULT_ENCODING):
        self.store = store
        self.genes = np.asarray(genes, dtype=np.int64)
        self.labels = labels
        self.encoding = ENCODINGS[encoding]

    def __len__(self) -> int:
        return self.genes.shape[0]

    def __getitem__(self, k: int) -> dict[str, torch.Tensor]:
        return self.__getitems__([k])

    def __getitems__(self, ks: list[int]) -> dict[str, torch.Tensor]:
        """``ref`` (B, L, *channels), ``mean`` (B,) float32, ``gene`` (B,) int64."""
        genes = self.genes[np.asarray(ks, dtype=np.int64)]
        ref = np.empty((genes.shape[0], self.store.window, *self.encoding.channels), self.encoding.dtype)
        for j, g in enumerate(genes):
            self.encoding.encode(self.store.window_codes(int(g), None), out=ref[j])
        mean = self.labels.mean[genes] if self.labels is not None else np.full(genes.shape[0], np.nan, np.float32)
        return {"ref": torch.from_numpy(ref), "mean": torch.from_numpy(np.asarray(mean, np.float32)),
                "gene": torch.from_numpy(genes.copy())}


def apply_variant_options(store: HaplotypeStore, train_samples: np.ndarray, *, snvs_only: bool = False,
                          min_af: float = 0.0, max_af: float = 1.0) -> int:
    """Restrict applied variants to SNVs and/or an alt-allele-frequency range on training samples.

    Returns the number of variants kept over all shards.
    """
    if not 0.0 <= min_af <= max_af <= 1.0:
        raise VarflowError(f"allele-frequency range must satisfy 0 <= min <= max <= 1, got [{min_af}, {max_af}]")
    keep = [np.ones(sh["var_pos"].shape[0], dtype=bool) for sh in store.shards]
    if snvs_only:
        keep = [k & (sh["var_rlen"] == 1) & (sh["var_alen"] == 1) for k, sh in zip(keep, store.shards)]
    if min_af > 0.0 or max_af < 1.0:
        freqs = store.alt_frequency(np.asarray(train_samples, dtype=np.int64))
        keep = [k & (f >= min_af) & (f <= max_af) for k, f in zip(keep, freqs)]
    store.set_variant_filter(keep)
    return int(sum(k.sum() for k in keep))
