"""Batched prediction with a personal or reference model over (gene, sample) pairs."""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from varflow.s2e.dataset import PersonalDataset, ReferenceDataset, identity_collate
from varflow.s2e.models import PersonalModel, ReferenceModel
from varflow.s2e.store import HaplotypeStore


def autocast(device: str, amp: bool):
    """bf16 autocast on CUDA when ``amp``; a no-op context on the CPU."""
    if amp and device.startswith("cuda"):
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def gene_grouped_batches(pairs: np.ndarray, batch_size: int) -> list[list[int]]:
    """Indices of ``pairs`` ordered by gene and cut into batches (items of a gene share a batch)."""
    order = np.argsort(pairs[:, 0], kind="stable")
    return [order[i:i + batch_size].tolist() for i in range(0, order.shape[0], batch_size)]


@torch.no_grad()
def predict_pairs(model: PersonalModel, store: HaplotypeStore, pairs: np.ndarray, *, device: str = "cpu",
                  batch_size: int = 32, num_workers: int = 0, amp: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Predicted (mean, deviation) for (K, 2) (gene, sample) pairs, each (K,) float32 in input order."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    mean = np.empty(pairs.shape[0], np.float32)
    dev = np.empty(pairs.shape[0], np.float32)
    if pairs.shape[0] == 0:
        return mean, dev
    model.eval()
    batches = gene_grouped_batches(pairs, batch_size)
    loader = torch.utils.data.DataLoader(PersonalDataset(store, pairs), batch_sampler=batches,
                                         collate_fn=identity_collate, num_workers=num_workers)
    for idx, batch in zip(batches, loader):
        with autocast(device, amp):
            m, d = model(batch["ref"].to(device), batch["ref_index"].to(device),
                         batch["hap1"].to(device), batch["hap2"].to(device))
        mean[idx] = m.float().cpu().numpy()
        dev[idx] = d.float().cpu().numpy()
    return mean, dev


@torch.no_grad()
def predict_reference(model: ReferenceModel | PersonalModel, store: HaplotypeStore, genes: np.ndarray, *,
                      device: str = "cpu", batch_size: int = 32, amp: bool = True) -> np.ndarray:
    """Predicted gene mean from the reference sequence, (len(genes),) float32."""
    genes = np.asarray(genes, dtype=np.int64)
    ds = ReferenceDataset(store, genes)
    out = np.empty(genes.shape[0], np.float32)
    model.eval()
    for lo in range(0, genes.shape[0], batch_size):
        batch = ds.__getitems__(list(range(lo, min(lo + batch_size, genes.shape[0]))))
        ref = batch["ref"].to(device)
        with autocast(device, amp):
            if isinstance(model, PersonalModel):
                pred = model.mean_head(model.shared(model.trunk(ref))).squeeze(1)
            else:
                pred = model(ref)
        out[lo:lo + ref.shape[0]] = pred.float().cpu().numpy()
    return out
