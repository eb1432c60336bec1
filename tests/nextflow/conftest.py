"""Fixtures of the offline Nextflow checks: the nf-lang JVM, started once per test session."""

from __future__ import annotations

import pytest

import nf_support


@pytest.fixture(scope="session")
def nf_lang() -> nf_support.NfLang:
    """nf-lang loaded in this process (JPype allows one JVM per process, hence session scope).

    Without the jar the checks are skipped on a developer machine and FAIL in CI (CI=true), so that
    CI can never pass without having linted the Nextflow code.
    """
    jar = nf_support.jar_path()
    problem = None
    if not jar.is_file():
        problem = f"nf-lang jar not found at {jar}; fetch it with `bash scripts/fetch-nf-lang.sh` (or `make nf-lang`)"
    else:
        try:
            import jpype  # noqa: F401
        except ImportError:
            problem = "JPype1 is not installed (pip install -e '.[dev]')"
    if problem is None:
        import jpype

        try:
            return nf_support.NfLang.start(jar)
        except jpype.JVMNotFoundException as exc:
            problem = f"no Java runtime for nf-lang (install Java >= 17 or set JAVA_HOME): {exc}"
    if nf_support.in_ci():
        pytest.fail(f"{problem} -- CI=true, so the Nextflow checks may not be skipped", pytrace=False)
    pytest.skip(problem)
