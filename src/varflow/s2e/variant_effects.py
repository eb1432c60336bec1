"""Variant effects of a trained personal model: in-silico mutagenesis (ISM) and gradient x input.

ISM score of variant v in gene g: predicted deviation with the alt allele of v on both haplotypes
(and nothing else) minus the prediction for the reference genome. Gradient x input: the gradient of
the predicted deviation with respect to the (reference) haplotype input, times the input, summed
over channels: a (L,) track per gene; a variant's ``s2e_gxi`` is the track summed over the window
positions of its REF bases.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from varflow.s2e.haplotypes import onehot
from varflow.s2e.models import PersonalModel
from varflow.s2e.store import HaplotypeStore

SCORE_COLUMNS = ("s2e_ism", "s2e_ism_abs", "s2e_gxi")


def gene_effects(model: PersonalModel, store: HaplotypeStore, g: int, *, device: str = "cpu",
                 batch_size: int = 32) -> tuple[pd.DataFrame, np.ndarray]:
    """ISM and gradient x input of gene ``g``: (variants table with score columns, (L,) track)."""
    model.eval()
    variants = store.gene_variants(g)
    ref = torch.from_numpy(onehot(store.window_codes(g, None)))[None].to(device)
    with torch.no_grad():
        z_ref = model.shared(model.trunk(ref))
        base = model.deviation(z_ref, z_ref).squeeze()
    m = len(variants)
    ism = np.empty(m, np.float32)
    eye = np.eye(m, dtype=bool)
    for lo in range(0, m, batch_size):
        hi = min(lo + batch_size, m)
        haps = np.stack([onehot(store.window_codes(g, eye[j])) for j in range(lo, hi)])
        with torch.no_grad():
            # both haplotypes equal: the averaged embedding is one trunk pass
            z = model.shared(model.trunk(torch.from_numpy(haps).to(device)))
            ism[lo:hi] = (model.deviation(z, z_ref) - base).float().cpu().numpy()
    x = ref.clone().requires_grad_(True)
    dev = model.deviation(model.shared(model.trunk(x)), z_ref).sum()
    (grad,) = torch.autograd.grad(dev, x)
    track = (grad * x).sum(-1)[0].detach().float().cpu().numpy()
    L = store.window
    gxi = np.empty(m, np.float32)
    minus = store.genes.at[g, "strand"] == "-"
    for j, (idx, r) in enumerate(zip(variants["window_index"].to_numpy(), variants["ref"].str.len().to_numpy())):
        span = np.arange(idx - r + 1, idx + 1) if minus else np.arange(idx, idx + r)
        span = span[(span >= 0) & (span < L)]
        gxi[j] = track[span].sum() if span.size else 0.0
    out = pd.DataFrame({"variant_id": variants["variant_id"], "gene_id": store.genes.at[g, "gene_id"],
                        "s2e_ism": ism.astype(np.float64), "s2e_ism_abs": np.abs(ism).astype(np.float64),
                        "s2e_gxi": gxi.astype(np.float64)})
    return out, track


def variant_effects(model: PersonalModel, store: HaplotypeStore, genes: np.ndarray | None = None, *,
                    device: str = "cpu", batch_size: int = 32) -> tuple[pd.DataFrame, np.ndarray]:
    """Scores of every variant in every gene window (schema variant_scores) and the (G, L) tracks."""
    genes = np.arange(store.n_genes) if genes is None else np.asarray(genes, dtype=np.int64)
    model = model.to(device)
    tables, tracks = [], np.zeros((genes.shape[0], store.window), np.float32)
    for k, g in enumerate(genes):
        table, tracks[k] = gene_effects(model, store, int(g), device=device, batch_size=batch_size)
        tables.append(table)
    scores = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(
        {c: pd.Series(dtype=float if c.startswith("s2e") else str) for c in ("variant_id", "gene_id", *SCORE_COLUMNS)})
    # a VCF listing the same allele twice would give duplicate keys, which the eqtl reader rejects
    return scores.drop_duplicates(["variant_id", "gene_id"]).reset_index(drop=True), tracks
