"""A cohort.yaml ``ld`` entry naming a PLINK ``--r square`` text matrix (its .bim beside it, same prefix)
gives the shrink workflow the same LD, so the same effects and gene tests, as the NPZ form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from varflow.errors import VarflowError
from varflow.io.arrays import write_npz
from varflow.io.cohort import Cohort
from varflow.pipelines import run_workflow

N_SAMPLES, N_SNPS, N_GWAS = 400, 240, 20_000


def _genotypes(rng: np.random.Generator) -> np.ndarray:
    """(samples, SNPs) allele counts of two haplotypes thresholded from an AR(1) Gaussian along the SNPs (LD)."""
    def haplotypes() -> np.ndarray:
        latent = np.empty((N_SAMPLES, N_SNPS))
        latent[:, 0] = rng.standard_normal(N_SAMPLES)
        for j in range(1, N_SNPS):
            latent[:, j] = 0.9 * latent[:, j - 1] + np.sqrt(1 - 0.81) * rng.standard_normal(N_SAMPLES)
        return (latent > rng.uniform(-1, 1, N_SNPS)).astype(float)

    return haplotypes() + haplotypes()


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory):
    """Two cohort folders with the same sumstats, genes and LD (numpy corrcoef of random genotypes): as an
    NPZ, and as PLINK ``--r square`` text + .bim."""
    rng = np.random.default_rng(5)
    r = np.corrcoef(_genotypes(rng), rowvar=False).astype(np.float32)
    snp = np.array([f"rs{j}" for j in range(N_SNPS)])
    pos = 1_000 + 500 * np.arange(N_SNPS, dtype=np.int64)
    a1, a2 = np.array(["A"] * N_SNPS), np.array(["G"] * N_SNPS)
    beta = np.where(rng.uniform(size=N_SNPS) < 0.03, rng.normal(0, 0.05, N_SNPS), 0.0)
    se = np.full(N_SNPS, 1 / np.sqrt(N_GWAS))
    noise = np.linalg.cholesky(r.astype(np.float64) + 1e-6 * np.eye(N_SNPS)) @ rng.standard_normal(N_SNPS)
    sumstats = pd.DataFrame({"CHR": "1", "SNP": snp, "POS": pos, "A1": a1, "A2": a2,
                             "BETA": r.astype(np.float64) @ beta + se * noise, "SE": se, "N": N_GWAS})
    genes = pd.DataFrame({"gene": [f"g{k}" for k in range(8)], "CHR": "1",
                          "START": pos[0] + 15_000 * np.arange(8), "END": pos[0] + 15_000 * np.arange(8) + 9_000})
    roots = {}
    for form in ("npz", "text"):
        root = tmp_path_factory.mktemp(form)
        sumstats.to_csv(root / "trait.tsv", sep="\t", index=False)
        genes.to_csv(root / "genes.tsv", sep="\t", index=False)
        if form == "npz":
            write_npz(root / "chr1.npz", {"r": r, "snp": snp, "pos": pos, "a1": a1, "a2": a2})
        else:
            np.savetxt(root / "chr1.ld", r, fmt="%.9g", delimiter="\t")  # 9 digits: float32 round trip
            pd.DataFrame({"c": 1, "SNP": snp, "cm": 0, "POS": pos, "A1": a1, "A2": a2}).to_csv(
                root / "chr1.bim", sep="\t", header=False, index=False)
        ld = "chr1.npz" if form == "npz" else "chr1.ld"
        Cohort(root, files={"sumstats": {"trait": "trait.tsv"}, "ld": {"chr1": ld}, "gwas_genes": "genes.tsv"}).save()
        roots[form] = root
    return roots


def test_text_ld_in_cohort_yaml_gives_the_npz_effects(cohorts, tmp_path):
    out = {form: tmp_path / form for form in cohorts}
    for form, root in cohorts.items():
        run_workflow("shrink", out[form], cohort=root, seed=1, quick=True)
    for table, rows in (("effects/trait.chr1.parquet", N_SNPS), ("gene_tests/trait.gene_tests.parquet", 8)):
        npz, text = (pd.read_parquet(out[form] / "shrink" / table) for form in ("npz", "text"))
        assert len(npz) == rows
        pd.testing.assert_frame_equal(npz, text)


def test_text_ld_without_its_bim_is_a_one_line_error(cohorts, tmp_path):
    root = tmp_path / "nobim"
    root.mkdir()
    for name in ("trait.tsv", "genes.tsv", "chr1.ld", "cohort.yaml"):
        (root / name).write_bytes((cohorts["text"] / name).read_bytes())
    with pytest.raises(VarflowError, match=r"cohort\.yaml: 'ld\.chr1' names .*chr1\.ld, an NPY/text LD matrix, "
                                           r"which needs its SNP list chr1\.bim beside it"):
        run_workflow("shrink", tmp_path / "out", cohort=root, quick=True)
    assert not (tmp_path / "out").exists()  # refused before anything is written


def test_text_ld_bim_is_a_recorded_input(cohorts, tmp_path):
    from varflow.params import workflow_inputs

    inputs = workflow_inputs(Cohort.load(cohorts["text"]), "shrink", {})
    assert inputs["ld.chr1"].name == "chr1.ld" and inputs["ld.chr1.bim"] == cohorts["text"] / "chr1.bim"


def test_gene_test_cli_reads_text_ld_beside_its_bim(cohorts, tmp_path):
    """What the Nextflow gene-test task runs: the text matrix on the command line, its .bim staged beside it."""
    import json

    from typer.testing import CliRunner

    from varflow.cli.main import app

    run_workflow("shrink", tmp_path / "npz", cohort=cohorts["npz"], seed=1, quick=True)
    effects = tmp_path / "npz" / "shrink" / "effects" / "trait.chr1.parquet"
    model = tmp_path / "npz" / "shrink" / "cluster" / "trait.model.json"
    out = tmp_path / "tests.parquet"
    result = CliRunner().invoke(app, ["shrink", "gene-test", str(effects), str(cohorts["text"] / "chr1.ld"),
                                      "--genes", str(cohorts["text"] / "genes.tsv"), "--cluster-model", str(model),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["n_genes"] == 8
    pd.testing.assert_frame_equal(pd.read_parquet(out).drop(columns=[], errors="ignore"),
                                  pd.read_parquet(tmp_path / "npz" / "shrink" / "gene_tests" / "trait.gene_tests.parquet"),
                                  check_like=True)
