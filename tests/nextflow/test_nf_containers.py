"""Static checks of the step containers (no Docker on the development machines).

The images must be reproducible (pinned base tags), runnable by Nextflow (bash + ps from procps),
and built from this repository's package, with bin/varflow on PATH. What the instructions install is
read from their ``pip install`` commands: ``pip install .`` (without ``--no-deps``) installs the package
with every ``[project] dependencies`` entry of pyproject.toml, whatever pip already has is kept when it
satisfies the requirement (so torch installed first from a chosen wheel index stays).
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import nf_support

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser from PyPI (dev extra)
    import tomli as tomllib

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
        image = [word for word in base.split() if not word.startswith("--")][0]
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


# --------------------------------------------------------------------------------------------------
# What each image installs, read from its RUN pip commands.

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
DEPENDENCIES = [Requirement(spec) for spec in PYPROJECT["project"]["dependencies"]]
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
# Where the local package counts as named: `pip install .`, `.[extra]`, or the folder the Dockerfile copied it to
LOCAL_PACKAGE = re.compile(r"^(\.|\./|/opt/varflow/?)(\[[\w,-]+\])?$")


@dataclass
class PipInstall:
    """One ``pip install`` command of a RUN instruction: its position, options and requirement arguments."""

    step: int            # index of the instruction in the Dockerfile
    options: list[str]
    targets: list[str]

    def option(self, name: str) -> str | None:
        for i, word in enumerate(self.options):
            if word == name and i + 1 < len(self.options):
                return self.options[i + 1]
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
        return None

    @property
    def installs_package(self) -> bool:
        return any(LOCAL_PACKAGE.match(t) for t in self.targets)

    def requirements(self) -> list[Requirement]:
        return [Requirement(t) for t in self.targets if not LOCAL_PACKAGE.match(t)]


# pip options that take a value (so the value is not read as a requirement)
_PIP_VALUE_OPTIONS = {"--index-url", "-i", "--extra-index-url", "-f", "--find-links", "-c", "--constraint",
                      "-r", "--requirement", "--upgrade-strategy", "--target", "-t", "--prefix", "--root",
                      "--platform", "--python-version", "--only-binary", "--no-binary", "--progress-bar"}


def _shell_commands(line: str) -> list[list[str]]:
    """The simple commands of a shell line, split at &&, ||, ; and | outside quotes."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands, current = [], []
    for token in lexer:
        if token in {"&&", "||", ";", "|", "&"}:
            commands.append(current)
            current = []
        else:
            current.append(token)
    return [c for c in [*commands, current] if c]


def pip_installs(dockerfile: Path) -> list[PipInstall]:
    """Every ``pip install`` / ``python -m pip install`` of the Dockerfile's RUN instructions, in order."""
    out = []
    for step, (word, args) in enumerate(_instructions(dockerfile)):
        if word != "RUN":
            continue
        for tokens in _shell_commands(args):
            for i in range(len(tokens) - 1):
                if tokens[i].endswith("pip") and tokens[i + 1] == "install" or \
                        tokens[i:i + 4] == ["python", "-m", "pip", "install"]:
                    rest = tokens[i + 2:] if tokens[i] != "python" else tokens[i + 4:]
                    options, targets, j = [], [], 0
                    while j < len(rest):
                        if rest[j].startswith("-"):
                            options.append(rest[j])
                            if rest[j] in _PIP_VALUE_OPTIONS and j + 1 < len(rest):
                                options.append(rest[j + 1])
                                j += 1
                        else:
                            targets.append(rest[j])
                        j += 1
                    out.append(PipInstall(step, options, targets))
                    break
    return out


def _package_install(dockerfile: Path) -> PipInstall:
    installs = [p for p in pip_installs(dockerfile) if p.installs_package]
    assert len(installs) == 1, f"{dockerfile}: expected one `pip install .` of the package, found {len(installs)}"
    return installs[0]


def _torch_spec():
    (torch,) = [r for r in DEPENDENCIES if canonicalize_name(r.name) == "torch"]
    return torch.specifier


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_every_runtime_dependency_is_installed(dockerfile):
    """`pip install .` resolves every [project] dependency (so none may be skipped with --no-deps, and
    pip must see pyproject.toml: it is copied in an earlier step); explicit pins count too."""
    package = _package_install(dockerfile)
    assert "--no-deps" not in package.options, f"{dockerfile}: `pip install --no-deps .` skips the dependencies"
    assert package.option("--index-url") is None and package.option("-i") is None, (
        f"{dockerfile}: the package install must resolve its dependencies from PyPI, not only from another index")
    steps = _instructions(dockerfile)
    copied_before = {src.rstrip("/") for word, args in steps[:package.step] if word == "COPY"
                     for src in args.split()[:-1] if not src.startswith("--")}
    assert {"pyproject.toml", "src"} <= copied_before, f"{dockerfile}: pyproject.toml and src/ are copied after the install"
    explicit = {canonicalize_name(r.name) for p in pip_installs(dockerfile) for r in p.requirements()}
    runs = " ".join(args for word, args in steps if word == "RUN")
    for dep in DEPENDENCIES:
        name = canonicalize_name(dep.name)
        assert not re.search(rf"pip uninstall[^&]*\b{re.escape(dep.name)}\b", runs), f"{dockerfile}: uninstalls {dep.name}"
        assert name in explicit or package.installs_package, f"{dockerfile}: nothing installs {dep}"


def test_dependency_reader_sees_through_no_deps(tmp_path):
    """The check above would catch a Dockerfile whose package install skips the dependencies."""
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.11.11-slim\nCOPY pyproject.toml ./\nCOPY src ./src\n"
        "RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.5.1 \\\n"
        "    && pip install --no-deps . && varflow --version\n")
    (torch,), package = [p for p in pip_installs(tmp_path / "Dockerfile") if not p.installs_package], \
        _package_install(tmp_path / "Dockerfile")
    assert torch.option("--index-url") == CPU_TORCH_INDEX and [str(r) for r in torch.requirements()] == ["torch==2.5.1"]
    assert "--no-deps" in package.options


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_image_puts_the_varflow_command_on_path(dockerfile):
    """Every module's script is a `varflow ...` call: the image installs the package's console script (and
    checks it runs during the build) and keeps bin/varflow executable on PATH as well."""
    assert PYPROJECT["project"]["scripts"].get("varflow"), "pyproject.toml declares no `varflow` console script"
    scripts = sorted((REPO_ROOT / "modules" / "local").glob("*/main.nf"))
    assert scripts
    for module in scripts:
        assert re.search(r'"""\s*\n\s*varflow \w', module.read_text()), f"{module}: its script does not start with varflow"
    _package_install(dockerfile)
    runs = " ".join(args for word, args in _instructions(dockerfile) if word == "RUN")
    assert "varflow --version" in runs, f"{dockerfile}: the build never runs `varflow --version`"
    assert "chmod 0755 bin/varflow" in runs or "chmod +x bin/varflow" in runs


def test_cpu_image_takes_torch_from_the_cpu_wheel_index():
    """A plain `pip install torch` on Linux is the multi-GB CUDA build: the CPU image installs the CPU wheel
    first, pinned to a version the package accepts (so `pip install .` keeps it), and checks it after."""
    dockerfile = REPO_ROOT / "containers" / "cpu" / "Dockerfile"
    package = _package_install(dockerfile)
    torch_installs = [p for p in pip_installs(dockerfile)
                      if any(canonicalize_name(r.name) == "torch" for r in p.requirements())]
    assert len(torch_installs) == 1, "the CPU image installs torch explicitly exactly once"
    (torch_install,) = torch_installs
    assert torch_install.step <= package.step and pip_installs(dockerfile).index(torch_install) < \
        pip_installs(dockerfile).index(package), "torch must be installed before the package"
    index = torch_install.option("--index-url") or torch_install.option("-i") or torch_install.option("--extra-index-url")
    assert index and index.rstrip("/") == CPU_TORCH_INDEX, f"torch comes from {index}, not {CPU_TORCH_INDEX}"
    (req,) = [r for r in torch_install.requirements() if canonicalize_name(r.name) == "torch"]
    pinned = [s.version for s in req.specifier if s.operator == "=="]
    assert pinned, f"the CPU torch is not pinned: {req}"
    assert _torch_spec().contains(pinned[0]), f"CPU torch {pinned[0]} does not satisfy pyproject's torch{_torch_spec()}"
    assert not {"--force-reinstall", "--upgrade-strategy"} & set(package.options), \
        "the package install must not re-resolve (and so replace) the CPU torch"
    assert "torch.version.cuda is None" in (dockerfile.read_text()), "the build must fail if a CUDA torch slipped in"


def test_gpu_image_has_cuda_torch_and_the_catboost_gpu_wheel():
    """torch: the base image is a CUDA build of torch (pytorch/pytorch:<torch>-cuda<ver>-...) whose version
    satisfies the package's torch requirement, so `pip install .` keeps it; no CPU wheel index anywhere.
    CatBoost: the PyPI wheel for Linux x86_64 is built with CUDA support (there is no separate GPU
    package), so it comes from PyPI through the package's dependencies, as a binary wheel, on x86_64."""
    dockerfile = REPO_ROOT / "containers" / "gpu" / "Dockerfile"
    text = dockerfile.read_text()
    (base,) = [args for word, args in _instructions(dockerfile) if word == "FROM"]
    image = [w for w in base.split() if not w.startswith("--")][0]
    match = re.fullmatch(r"pytorch/pytorch:(\d+\.\d+\.\d+)-cuda(\d+)\.(\d+)-cudnn\d+-(runtime|devel)", image)
    explicit_cuda = [p for p in pip_installs(dockerfile)
                     if re.search(r"download\.pytorch\.org/whl/cu1\d{2}", " ".join(p.options))]
    assert match or explicit_cuda, f"{image}: neither a CUDA torch base image nor torch from a CUDA wheel index"
    if match:
        torch_version, cuda_major = match.group(1), int(match.group(2))
        assert cuda_major >= 12, f"{image}: CUDA {cuda_major} is older than the drivers the GPU profile expects"
        assert _torch_spec().contains(torch_version), (
            f"{image}: torch {torch_version} does not satisfy pyproject's torch{_torch_spec()}, so `pip install .` "
            "would replace the image's CUDA torch")
    assert CPU_TORCH_INDEX not in text, "the GPU image must not take torch from the CPU wheel index"
    assert "torch.version.cuda" in text, "the GPU build must fail if the CUDA torch was replaced"
    package = _package_install(dockerfile)
    assert "catboost" in {canonicalize_name(r.name) for r in DEPENDENCIES}
    for p in pip_installs(dockerfile):
        assert not {"catboost", ":all:"} & set((p.option("--no-binary") or "").split(",")), \
            "CatBoost must come as the PyPI binary wheel (the GPU build), not from source"
        assert all(canonicalize_name(r.name) != "catboost-gpu" for r in p.requirements()), "there is no catboost-gpu package"
    assert "--no-deps" not in package.options
    assert not re.search(r"\b(conda|mamba) install[^&]*catboost", text), "conda's CatBoost is not the PyPI GPU wheel"
    assert "platform.machine() == 'x86_64'" in text, "the build must check the x86_64 platform of the CatBoost GPU wheel"
