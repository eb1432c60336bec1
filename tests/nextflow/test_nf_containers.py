"""Static checks of the step containers (no Docker on the development machines).

The images must be reproducible (pinned base tags), runnable by Nextflow (bash + ps from procps),
and built from this repository's package, with bin/varflow on PATH.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import nf_support

REPO_ROOT = nf_support.REPO_ROOT
DOCKERFILES = sorted((REPO_ROOT / "containers").glob("*/Dockerfile"))


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_cpu_and_gpu_images_exist():
    assert {p.parent.name for p in DOCKERFILES} >= {"cpu", "gpu"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_is_pinned_and_nextflow_ready(dockerfile):
    steps = _instructions(dockerfile)
    bases = [args for word, args in steps if word == "FROM"]
    assert bases, f"{dockerfile}: no FROM"
    for base in bases:
        image = base.split()[0]
        assert "@sha256:" in image or re.search(r":[0-9][\w.-]*$", image), (
            f"{dockerfile}: base image {image} is not pinned to a version tag or digest")
    runs = " ".join(args for word, args in steps if word == "RUN")
    assert re.search(r"apt-get install[^&]*\bbash\b", runs) and re.search(r"apt-get install[^&]*\bprocps\b", runs), \
        f"{dockerfile}: must install bash and procps (Nextflow runs tasks with bash and monitors them with ps)"
    assert re.search(r"pip install[^&]*\s\.(\s|$)", runs), f"{dockerfile}: must pip install the package from the repo"
    copies = [args.split() for word, args in steps if word == "COPY"]
    copied = {src.rstrip("/") for args in copies for src in args[:-1] if not src.startswith("--")}
    assert {"src", "bin", "pyproject.toml"} <= copied, f"{dockerfile}: copies {sorted(copied)}"
    for src in copied:
        assert (REPO_ROOT / src).exists(), f"{dockerfile}: COPY {src} does not exist in the repository"
    env = " ".join(args for word, args in steps if word == "ENV")
    assert "/opt/varflow/bin" in env and any("WORKDIR" == w and a == "/opt/varflow" for w, a in steps), \
        f"{dockerfile}: bin/varflow must be on PATH"
    ignore = dockerfile.with_name("Dockerfile.dockerignore")
    assert ignore.is_file(), f"{dockerfile}: no Dockerfile.dockerignore (the context is the whole repository)"
    kept = {line[1:].rstrip("/") for line in ignore.read_text().splitlines() if line.startswith("!")}
    assert copied <= kept, f"{ignore}: excludes {sorted(copied - kept)} that the Dockerfile copies"


def test_gpu_image_keeps_cuda_torch_and_cpu_image_gets_cpu_torch():
    cpu = (REPO_ROOT / "containers" / "cpu" / "Dockerfile").read_text()
    gpu = (REPO_ROOT / "containers" / "gpu" / "Dockerfile").read_text()
    assert "download.pytorch.org/whl/cpu" in cpu, "the CPU image must install torch from the CPU wheel index"
    assert re.search(r"^FROM\s+\S*(pytorch|cuda)\S*cuda", gpu, flags=re.MULTILINE | re.IGNORECASE), \
        "the GPU image must start from a CUDA build of torch"
    assert "torch.version.cuda" in gpu, "the GPU build must fail if the CUDA torch was replaced"
