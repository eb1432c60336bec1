"""Batched prediction with a personal model over a grid of genes x samples (each gene's distinct
haplotypes through the trunk once) or with a reference model over genes."""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from varflow.s2e.dataset import GeneStepDataset, ReferenceDataset
from varflow.s2e.models import PersonalModel, ReferenceModel
from varflow.s2e.store import HaplotypeStore


def autocast(device: str, amp: bool):
    """bf16 autocast on CUDA when ``amp``; a no-op context on the CPU."""
    if amp and device.startswith("cuda"):
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def predict_grid(model: PersonalModel, store: HaplotypeStore, genes: np.ndarray, samples: np.ndarray, *,
                 device: str = "cpu", batch_size: int = 32, amp: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Predicted gene means (G,) and deviations (G, N) float32 of every sample in ``samples`` (N,) for
    every gene in ``genes`` (G,): the model's forward on each (gene, sample) item, with each gene's
    distinct haplotypes embedded once (in trunk passes of at most ``batch_size`` windows)."""
    genes, samples = np.asarray(genes, dtype=np.int64), np.asarray(samples, dtype=np.int64)
    mean = np.empty(genes.shape[0], np.float32)
    dev = np.empty((genes.shape[0], samples.shape[0]), np.float32)
    model.eval()
    dataset = GeneStepDataset(store, genes, samples, None)
    for j in range(genes.shape[0]):
        batch = dataset.__getitems__([j])
        windows = torch.cat((batch["ref"], batch["haps"]))
        with autocast(device, amp):
            e = torch.cat([model.trunk(windows[lo:lo + batch_size].to(device))
                           for lo in range(0, windows.shape[0], batch_size)])
        m, d = model.heads(e[:1], batch["ref_index"].to(device), e[1:], batch["hap_index"].to(device))
        mean[j] = float(m[0])
        dev[j] = d.cpu().numpy()
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
