"""Base codes, the form in which windows travel from the loader to the model, and their one-hot.

A window is (..., L) uint8 base codes, A, C, G, T = 0..3 and N (or any other letter) = 4: 16x
fewer bytes than its (..., L, 4) float32 one-hot. The model builds the one-hot where it runs
(``as_onehot``, first thing in ``Trunk.forward``), with the rows of ``haplotypes.ONEHOT_LUT``
(N = 0.25 in every channel), so codes and the loader's float one-hot give identical outputs.
"""

from __future__ import annotations

import numpy as np
import torch

from varflow.s2e.haplotypes import BASES, ONEHOT_LUT

#: the code of N and of every letter that is not A, C, G or T
N_CODE = len(BASES)

#: (256,) uint8 lookup: ASCII code -> base code (A, C, G, T and their lower case -> 0..3, else N_CODE).
CODE_LUT = np.full(256, N_CODE, dtype=np.uint8)
for _i, _b in enumerate(BASES):
    CODE_LUT[_b] = CODE_LUT[ord(chr(_b).lower())] = _i

#: (5, 4) float32: base code -> one-hot row (the rows of ONEHOT_LUT for A, C, G, T, N).
CODE_ONEHOT = ONEHOT_LUT[np.frombuffer(BASES + b"N", dtype=np.uint8)]

_DEVICE_TABLES: dict[torch.device, torch.Tensor] = {}


def base_codes(ascii_codes: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """(L,) uint8 ASCII codes -> (L,) uint8 base codes (written into ``out`` when given)."""
    return CODE_LUT.take(ascii_codes, out=out, mode="clip")


def onehot_codes_torch(codes: torch.Tensor) -> torch.Tensor:
    """(..., L) uint8 base codes -> (..., L, 4) float32 one-hot on the codes' device (a table lookup)."""
    table = _DEVICE_TABLES.get(codes.device)
    if table is None:
        table = _DEVICE_TABLES[codes.device] = torch.from_numpy(CODE_ONEHOT).to(codes.device)
    return table.index_select(0, codes.reshape(-1).int()).view(*codes.shape, 4)


def onehot_codes(codes: torch.Tensor) -> torch.Tensor:
    """(..., L) uint8 base codes -> (..., L, 4) float32 one-hot on the codes' device.

    On the CPU numpy's ``take`` does the lookup (about 3x faster than torch's ``index_select`` on
    one core: 30 vs 100 ms for 96 windows of 40 kb); elsewhere ``onehot_codes_torch``.
    """
    if codes.device.type == "cpu":
        return torch.from_numpy(CODE_ONEHOT.take(codes.numpy(), axis=0, mode="clip"))
    return onehot_codes_torch(codes)


def as_onehot(x: torch.Tensor) -> torch.Tensor:
    """A model input as (B, L, 4) float one-hot: (B, L) uint8 codes are encoded, a one-hot passes as is."""
    return onehot_codes(x) if x.dtype == torch.uint8 else x
