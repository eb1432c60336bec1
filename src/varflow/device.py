"""Choose the compute device for torch and CatBoost steps: ``auto`` picks CUDA when present."""

from __future__ import annotations

from varflow.errors import VarflowError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(requested: str) -> str:
    """Return 'cuda' or 'cpu' for ``requested`` in auto|cpu|cuda; VarflowError if CUDA is asked but absent."""
    if requested not in DEVICE_CHOICES:
        raise VarflowError(f"--device must be one of {', '.join(DEVICE_CHOICES)}, got {requested!r}")
    import torch

    has_cuda = torch.cuda.is_available()
    if requested == "cuda" and not has_cuda:
        raise VarflowError("--device cuda requested but no CUDA device is visible")
    if requested == "auto":
        return "cuda" if has_cuda else "cpu"
    return requested
