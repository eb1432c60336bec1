"""GWAS simulation: written files against regenerated genotypes and truth (LD exactness, E[BETA] = R beta,
SE, realised h2, planted cross-trait patterns), gene ranges, determinism, bad options."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from varflow.errors import VarflowError
from varflow.io.arrays import read_npz
from varflow.io.genome import ReferenceGenome
from varflow.io.tables import read_table
from varflow.simulate.gwas import (GwasConfig, effect_patterns, gene_ranges, simulate_chromosome,
                                   simulate_gwas, simulate_traits)

LENGTHS = {"chr1": 150_000, "chr2": 100_000}
SEED = 17
CONFIG = GwasConfig(n_individuals=1500, n_traits=2, h2=(0.4, 0.25), causal_fraction=0.03,
                    shared_fraction=0.5, max_snps_per_chrom=400, gene_flank=5_000)


def write_fasta(path: Path, lengths: dict[str, int], seed: int = 0) -> Path:
    """Random FASTA with a run of N (which must never carry a SNP) near the start of chr1."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as handle:
        for chrom, length in lengths.items():
            seq = rng.choice(np.frombuffer(b"ACGT", np.uint8), size=length)
            if chrom == "chr1":
                seq[1000:6000] = ord("N")
            text = seq.tobytes().decode()
            handle.write(f">{chrom}\n" + "\n".join(text[i:i + 60] for i in range(0, length, 60)) + "\n")
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    path = write_fasta(tmp_path_factory.mktemp("ref") / "ref.fa", LENGTHS)
    with ReferenceGenome(path) as ref:
        yield ref


@pytest.fixture(scope="module")
def genes():
    return pd.DataFrame({"gene_id": ["gA", "gB", "gC", "gD"], "chrom": ["chr1", "chr1", "chr2", "chr2"],
                         "tss": [20_000, 90_000, 3_000, 60_000], "strand": ["+", "-", "+", "+"],
                         "start": [20_000, 80_000, 3_000, 60_000], "end": [30_000, 90_000, 8_000, 61_000]})


@pytest.fixture(scope="module")
def run(tmp_path_factory, reference, genes):
    outdir = tmp_path_factory.mktemp("gwas")
    manifest = simulate_gwas(CONFIG, LENGTHS, genes, reference, SEED, outdir)
    regenerated = [simulate_chromosome(CONFIG, c, n, reference, SEED) for c, n in LENGTHS.items()]
    return outdir, manifest, regenerated


def test_manifest_names_every_file_and_tables_validate(run):
    outdir, manifest, _ = run
    assert manifest == {
        "sumstats": {"trait1": "gwas/trait1.sumstats.parquet", "trait2": "gwas/trait2.sumstats.parquet"},
        "ld": {"chr1": "gwas/ld_chr1.npz", "chr2": "gwas/ld_chr2.npz"},
        "gwas_genes": "gwas/genes.parquet", "gwas_truth": "gwas/truth.parquet"}
    for trait in ("trait1", "trait2"):
        ss = read_table(outdir / manifest["sumstats"][trait], "sumstats")
        assert list(ss.columns) == ["CHR", "SNP", "POS", "A1", "A2", "BETA", "SE", "N"]
        assert (ss.N == CONFIG.n_individuals).all()
    read_table(outdir / manifest["gwas_genes"], "gwas_genes")
    truth = read_table(outdir / manifest["gwas_truth"], "gwas_truth")
    assert list(truth.columns) == ["CHR", "SNP", "POS", "beta_trait1", "beta_trait2"]


def test_snps_are_biallelic_snvs_with_fasta_ref_and_common(run, reference):
    outdir, manifest, regenerated = run
    ss = read_table(outdir / manifest["sumstats"]["trait1"], "sumstats")
    assert ss.SNP.is_unique
    assert (ss.SNP == ss.CHR + ":" + ss.POS.astype(str) + ":" + ss.A2 + ":" + ss.A1).all()
    assert ss.A1.isin(list("ACGT")).all() and ss.A2.isin(list("ACGT")).all() and (ss.A1 != ss.A2).all()
    fasta_base = [reference.fetch(c, p - 1, p) for c, p in zip(ss.CHR, ss.POS)]
    assert (ss.A2 == fasta_base).all()
    chr1 = ss[ss.CHR == "chr1"]
    assert not chr1.POS.between(1001, 6000).any()  # the N run carries no SNP
    for g in regenerated:
        af = g.dosage.mean(axis=0) / 2
        assert (np.minimum(af, 1 - af) >= CONFIG.maf_min).all()
        assert set(np.unique(g.dosage)) <= {0, 1, 2}
    # transitions dominate transversions (about 2:1, as in human SNVs)
    transition = {("A", "G"), ("G", "A"), ("C", "T"), ("T", "C")}
    ts_frac = np.mean([(a, b) in transition for a, b in zip(ss.A2, ss.A1)])
    assert 0.55 < ts_frac < 0.78


def test_ld_is_the_correlation_of_the_regenerated_genotypes(run):
    outdir, manifest, regenerated = run
    ss = read_table(outdir / manifest["sumstats"]["trait1"], "sumstats")
    for g in regenerated:
        ld = read_npz(outdir / manifest["ld"][g.chrom], required={"r": ("f", 2), "pos": ("i", 1)})
        assert ld["r"].dtype == np.float32
        expected = np.corrcoef(g.dosage.T.astype(float))
        np.testing.assert_allclose(ld["r"], expected, atol=2e-7)
        np.testing.assert_array_equal(ld["pos"], g.pos)
        here = ss[ss.CHR == g.chrom]
        np.testing.assert_array_equal(ld["snp"], here.SNP.to_numpy())
        np.testing.assert_array_equal(ld["a1"], here.A1.to_numpy())
        np.testing.assert_array_equal(ld["a2"], here.A2.to_numpy())
        assert np.all(np.diff(ld["pos"]) > 0)


def test_beta_follows_ld_times_true_effects_and_se_is_exact_ols(run):
    outdir, manifest, regenerated = run
    truth = read_table(outdir / manifest["gwas_truth"], "gwas_truth")
    n = CONFIG.n_individuals
    for trait, h2 in zip(("trait1", "trait2"), CONFIG.heritabilities()):
        ss = read_table(outdir / manifest["sumstats"][trait], "sumstats")
        expected = np.concatenate([
            read_npz(outdir / manifest["ld"][c])["r"].astype(float) @ truth.loc[truth.CHR == c, f"beta_{trait}"]
            for c in LENGTHS])
        r = np.corrcoef(ss.BETA, expected)[0, 1]
        assert r > 0.9, (trait, r)
        # BETA - R beta is the environmental noise projected on each SNP: sd about sqrt((1 - h2) / N);
        # loose, because SNPs in LD share their noise, so few independent values enter the spread
        assert np.std(ss.BETA - expected) == pytest.approx(np.sqrt((1 - h2) / n), rel=0.35)
        # SE ~ 1/sqrt(N), shrinking with |BETA| exactly as OLS on standardised variables says
        assert np.median(ss.SE * np.sqrt(n)) == pytest.approx(1.0, abs=0.02)
        np.testing.assert_allclose(ss.SE, np.sqrt((1 - ss.BETA**2) / (n - 2)), rtol=1e-12)

    # independent check: simple linear regression on regenerated genotypes and phenotypes
    _, _, y = simulate_traits(CONFIG, regenerated, SEED)
    ss = read_table(outdir / manifest["sumstats"]["trait2"], "sumstats")
    g = regenerated[1]
    offset = regenerated[0].dosage.shape[1]
    ys = (y[:, 1] - y[:, 1].mean()) / y[:, 1].std()
    for j in (0, 7, g.dosage.shape[1] - 1):
        x = g.dosage[:, j].astype(float)
        ref = stats.linregress((x - x.mean()) / x.std(), ys)
        assert ss.BETA.iloc[offset + j] == pytest.approx(ref.slope, rel=1e-9, abs=1e-12)
        assert ss.SE.iloc[offset + j] == pytest.approx(ref.stderr, rel=1e-9)


def test_realised_heritability_matches_config(run):
    outdir, manifest, regenerated = run
    beta, _, y = simulate_traits(CONFIG, regenerated, SEED)
    truth = read_table(outdir / manifest["gwas_truth"], "gwas_truth")
    np.testing.assert_allclose(truth[["beta_trait1", "beta_trait2"]].to_numpy(), beta, rtol=1e-12)
    g_std = np.concatenate([g.standardised() for g in regenerated], axis=1)
    genetic = g_std @ beta
    for k, h2 in enumerate(CONFIG.heritabilities()):
        assert genetic[:, k].var() == pytest.approx(h2, rel=1e-9)
        assert genetic[:, k].var() / y[:, k].var() == pytest.approx(h2, abs=0.04)


def test_shared_and_specific_patterns_are_planted_as_configured(run):
    outdir, manifest, _ = run
    truth = read_table(outdir / manifest["gwas_truth"], "gwas_truth")
    nonzero = truth[["beta_trait1", "beta_trait2"]].to_numpy() != 0
    n_causal = round(CONFIG.causal_fraction * len(truth))
    n_shared = round(CONFIG.shared_fraction * n_causal)
    assert nonzero.any(axis=1).sum() == n_causal
    assert nonzero.all(axis=1).sum() == n_shared
    specific = nonzero.sum(axis=1) == 1
    per_trait = nonzero[specific].sum(axis=0)
    assert per_trait.sum() == n_causal - n_shared and abs(per_trait[0] - per_trait[1]) <= 1


def test_shared_effects_have_the_configured_cross_trait_covariance():
    config = GwasConfig(n_traits=3, n_causal=6000, shared_fraction=0.5, shared_effect_corr=0.7)
    beta, pattern = effect_patterns(config, 20_000, seed=3)
    assert (pattern == 0).sum() == 3000 and (pattern == -1).sum() == 14_000
    assert [(pattern == k).sum() for k in (1, 2, 3)] == [1000, 1000, 1000]
    corr = np.corrcoef(beta[pattern == 0].T)
    off = corr[~np.eye(3, dtype=bool)]
    assert np.allclose(off, 0.7, atol=0.04)
    for k in (1, 2, 3):
        rows = beta[pattern == k]
        assert (rows[:, k - 1] != 0).all() and (np.delete(rows, k - 1, axis=1) == 0).all()
    assert (beta[pattern == -1] == 0).all()


def test_gene_ranges_hold_exactly_the_snps_in_the_flanked_body(run, genes):
    outdir, manifest, regenerated = run
    table = read_table(outdir / manifest["gwas_genes"], "gwas_genes")
    assert table.gene.tolist() == genes.gene_id.tolist()
    flank = CONFIG.gene_flank
    np.testing.assert_array_equal(table.START, np.maximum(genes.start + 1 - flank, 1))
    np.testing.assert_array_equal(table.END, np.minimum(genes.end + flank, genes.chrom.map(LENGTHS)))
    pos = {g.chrom: g.pos for g in regenerated}
    for row in table.itertuples():
        p = pos[row.CHR]
        inside = np.flatnonzero((p >= row.START) & (p <= row.END))
        assert (row.SNP_START, row.SNP_END) == ((inside[0], inside[-1] + 1) if inside.size else
                                                (row.SNP_START, row.SNP_START))


def test_gene_without_snps_gets_empty_range_and_unknown_chromosome_fails():
    genes = pd.DataFrame({"gene_id": ["a", "b"], "chrom": ["chr1", "chr2"], "tss": [100, 500],
                          "strand": ["+", "+"], "start": [100, 500], "end": [200, 900]})
    positions = {"chr1": np.array([50, 150, 5000]), "chr2": np.array([10, 2000])}
    table = gene_ranges(genes, positions, {"chr1": 10_000, "chr2": 10_000}, flank=0)
    assert table.SNP_START.tolist() == [1, 1] and table.SNP_END.tolist() == [2, 1]
    assert table.START.tolist() == [101, 501] and table.END.tolist() == [200, 900]
    with pytest.raises(VarflowError, match="chr2"):
        gene_ranges(genes, positions, {"chr1": 10_000}, flank=0)


def test_same_seed_same_files_other_seed_other_files(run, tmp_path, reference, genes):
    outdir, manifest, _ = run
    again = simulate_gwas(CONFIG, LENGTHS, genes, reference, SEED, tmp_path / "a")
    other = simulate_gwas(CONFIG, LENGTHS, genes, reference, SEED + 1, tmp_path / "b")
    first = read_table(outdir / manifest["sumstats"]["trait1"])
    pd.testing.assert_frame_equal(read_table(tmp_path / "a" / again["sumstats"]["trait1"]), first)
    np.testing.assert_array_equal(read_npz(tmp_path / "a" / again["ld"]["chr2"])["r"],
                                  read_npz(outdir / manifest["ld"]["chr2"])["r"])
    assert not read_table(tmp_path / "b" / other["sumstats"]["trait1"]).SNP.equals(first.SNP)


@pytest.mark.parametrize("change,message", [
    ({"h2": 1.2}, "h2 must lie in"), ({"n_traits": 0}, "n_traits must be"),
    ({"h2": (0.1, 0.2, 0.3)}, "3 values for 2 traits"), ({"shared_fraction": 1.5}, "shared_fraction"),
    ({"maf_min": 0.6}, "maf_min"), ({"n_individuals": 3}, "n_individuals"),
    ({"n_traits": 3, "h2": 0.3, "n_causal": 1, "shared_fraction": 0.0}, "trait2, trait3 got no causal SNP"),
])
def test_bad_options_fail_with_a_named_option(change, message, reference, genes, tmp_path):
    with pytest.raises(VarflowError, match=message):
        simulate_gwas(replace(CONFIG, **change), LENGTHS, genes, reference, SEED, tmp_path)
    assert not (tmp_path / "gwas").exists()
