"""Variant effects of a trained personal model: in-silico mutagenesis (ISM) and gradient x input.

ISM score of variant v in gene g: predicted deviation with the alt allele of v on both haplotypes
(and nothing else) minus the prediction for the reference genome. For a length-changing allele
(indel) the loader's TSS anchoring also moves every base between the allele and the window end on
its side by the length change; a model that is not exactly shift-invariant (strided pooling, edge
padding) scores that displacement, whatever the allele's own sequence. So an indel's ISM is
measured against *length controls*: the same net length change made as a pure deletion or a
tandem duplication of reference bases at ``INDEL_CONTROLS`` junctions
``INDEL_CONTROL_SPACING`` bp apart around the allele, on the same side of the TSS; the indel's
score is its prediction minus the median prediction of its controls (docs/s2e.md, "Indel scores").

Gradient x input: the gradient of the predicted deviation with respect to the (reference)
haplotype input, times the input, summed over channels: a (L,) track per gene; a variant's
``s2e_gxi`` is the track summed over the window positions of its REF bases.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import torch

from varflow.s2e.haplotypes import onehot
from varflow.s2e.models import PersonalModel
from varflow.s2e.store import HaplotypeStore

SCORE_COLUMNS = ("s2e_ism", "s2e_ism_abs", "s2e_gxi")

#: Length controls per indel and their spacing (bp): the controls' junctions lie at +-20, +-40, +-60
#: and +-80 bp from the allele's, past the first convolutions' reach of its bases (so a motif the
#: allele hits is rarely hit by its controls too) and close enough that a control displaces nearly
#: the same sequence (symmetric offsets cancel the part of the displacement effect that grows with
#: the displaced length); the median shrugs off a control that lands on a motif.
INDEL_CONTROLS = 8
INDEL_CONTROL_SPACING = 20


def control_junctions(end: int, delta: int, tss: int, *, n: int = INDEL_CONTROLS,
                      spacing: int = INDEL_CONTROL_SPACING) -> np.ndarray:
    """Junctions of an indel's length controls, in the frame where its displaced side is the left.

    ``end``: window index one past the allele's REF span; ``delta``: alt length - ref length (!= 0);
    ``tss``: the TSS's window index in this frame. Candidates ``end - spacing, end + spacing,
    end - 2 spacing, ...``; the first ``n`` in ``[|delta|, tss]`` (a control never crosses the TSS
    and never reads beyond what the alt window displaced). Returns (k,) int64, k <= n.
    """
    steps = np.arange(1, tss // spacing + 2)
    candidates = end + spacing * np.stack((-steps, steps), axis=1).ravel()
    valid = candidates[(candidates >= abs(delta)) & (candidates <= tss)]
    return valid[:n].astype(np.int64)


def length_controls(ref: np.ndarray, alt: np.ndarray, delta: int, junctions: np.ndarray) -> np.ndarray:
    """Windows with the alt window's net length change ``delta`` made at ``junctions`` instead.

    Frame: the displaced side is the left (window index 0); ``ref``, ``alt``: (L,) uint8 codes of the
    reference and alt windows. A deletion control (``delta < 0``) at junction j removes
    ``ref[j - |delta| : j]`` and pulls in the bases the alt window pulled in (``alt[:|delta|]``); an
    insertion control duplicates ``ref[j - delta : j]`` (a tandem copy ending at j) and pushes
    ``ref[:delta]`` out. Neither holds the allele's own bases, so an allele's sequence-specific
    effect never cancels against its controls. Returns (k, L) uint8.
    """
    L, d = ref.shape[0], abs(delta)
    out = np.empty((junctions.shape[0], L), dtype=np.uint8)
    for row, j in zip(out, junctions.tolist()):
        if delta < 0:
            row[:d], row[d:j], row[j:] = alt[:d], ref[:j - d], ref[j:]
        else:
            row[:j - d], row[j - d:j], row[j:] = ref[d:j], ref[j - d:j], ref[j:]
    return out


def _indel_controls(ref: np.ndarray, alt: np.ndarray, start: int, ref_len: int, alt_len: int) -> np.ndarray:
    """Length controls of one indel in the oriented window (flipped when it lies right of the TSS).

    ``start``: oriented window index of the allele's first REF base (the lowest index of its span).
    An allele whose REF span covers the TSS, or whose alt bases lie within ``|delta|`` bp of the
    window end on its side, has no controls: (0, L) (its ISM stays plain).
    """
    L, delta, tss = ref.shape[0], alt_len - ref_len, ref.shape[0] // 2
    if start + ref_len <= tss and start + ref_len - alt_len >= abs(delta):
        junctions = control_junctions(start + ref_len, delta, tss)
        return length_controls(ref, alt, delta, junctions)
    if start > tss and start + alt_len <= L - abs(delta):
        # mirror: the displaced side becomes the left, the TSS index L//2 becomes L - 1 - L//2
        junctions = control_junctions(L - start, delta, L - 1 - tss)
        return length_controls(ref[::-1], alt[::-1], delta, junctions)[:, ::-1]
    return np.empty((0, L), dtype=np.uint8)


class _Scorer:
    """Predicted deviation of homozygous windows against one gene's reference window."""

    def __init__(self, model: PersonalModel, ref_codes: np.ndarray, device: str, batch_size: int):
        self.model, self.device, self.batch_size = model, device, batch_size
        ref = torch.from_numpy(onehot(ref_codes))[None].to(device)
        with torch.no_grad():
            self.z_ref = model.shared(model.trunk(ref))
            self.base = model.deviation(self.z_ref, self.z_ref).squeeze()

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        """(n, L) uint8 codes -> (n,) float64 deviation minus the reference's (z-scored units)."""
        out = np.empty(windows.shape[0], np.float64)
        for lo in range(0, windows.shape[0], self.batch_size):
            x = torch.from_numpy(onehot(windows[lo:lo + self.batch_size])).to(self.device)
            with torch.no_grad():
                # both haplotypes equal: the averaged embedding is one trunk pass
                z = self.model.shared(self.model.trunk(x))
                out[lo:lo + x.shape[0]] = (self.model.deviation(z, self.z_ref) - self.base).float().cpu().numpy()
        return out


def oriented_spans(variants: pd.DataFrame, minus: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(M,) lowest oriented window index of each REF span, REF lengths and ALT lengths (bp)."""
    ref_len, alt_len = variants["ref"].str.len().to_numpy(), variants["alt"].str.len().to_numpy()
    index = variants["window_index"].to_numpy()
    return (index - ref_len + 1 if minus else index), ref_len, alt_len


def ism_scores(score: Callable[[np.ndarray], np.ndarray], ref: np.ndarray, alts: np.ndarray,
               spans: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """ISM of each alt window, indels against their length controls: (M,) float64.

    ``score``: (n, L) uint8 windows -> (n,) prediction minus the reference's (a ``_Scorer``);
    ``ref``: (L,) reference codes; ``alts``: (M, L) alt windows; ``spans``: ``oriented_spans``.
    """
    ism = score(alts)
    start, ref_len, alt_len = spans
    for j in np.flatnonzero(ref_len != alt_len):
        controls = _indel_controls(ref, alts[j], int(start[j]), int(ref_len[j]), int(alt_len[j]))
        if controls.shape[0]:
            ism[j] -= np.median(score(controls))
    return ism


def gxi_track(model: PersonalModel, score: _Scorer, ref_codes: np.ndarray) -> np.ndarray:
    """Gradient x input of the predicted deviation at the reference window: (L,) float32."""
    x = torch.from_numpy(onehot(ref_codes))[None].to(score.device).requires_grad_(True)
    dev = model.deviation(model.shared(model.trunk(x)), score.z_ref).sum()
    (grad,) = torch.autograd.grad(dev, x)
    return (grad * x).sum(-1)[0].detach().float().cpu().numpy()


def gene_effects(model: PersonalModel, store: HaplotypeStore, g: int, *, device: str = "cpu",
                 batch_size: int = 32) -> tuple[pd.DataFrame, np.ndarray]:
    """ISM and gradient x input of gene ``g``: (variants table with score columns, (L,) track)."""
    model.eval()
    variants = store.gene_variants(g)
    ref = store.window_codes(g, None)
    score = _Scorer(model, ref, device, batch_size)
    m = len(variants)
    eye = np.eye(m, dtype=bool)
    alts = np.stack([store.window_codes(g, eye[j]) for j in range(m)]) if m else np.empty((0, ref.shape[0]), np.uint8)
    spans = oriented_spans(variants, store.genes.at[g, "strand"] == "-")
    ism = ism_scores(score, ref, alts, spans)
    track = gxi_track(model, score, ref)
    start, ref_len, _ = spans
    gxi = np.array([track[max(s, 0):max(s + r, 0)].sum() for s, r in zip(start.tolist(), ref_len.tolist())],
                   dtype=np.float64)
    out = pd.DataFrame({"variant_id": variants["variant_id"], "gene_id": store.genes.at[g, "gene_id"],
                        "s2e_ism": ism, "s2e_ism_abs": np.abs(ism), "s2e_gxi": gxi})
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
