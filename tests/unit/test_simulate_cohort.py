"""The tiny simulated cohort against its own truth and against independent recomputation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pysam
import pytest

from varflow.io.bed import read_bed
from varflow.io.genome import ReferenceGenome
from varflow.io.tables import read_table
from varflow.simulate.motifs import IUPAC, MOTIF_BY_NAME, MOTIFS, revcomp
from varflow.simulate.schemas import ELEMENTS, MOTIF_INSTANCES

REQUIRED_KEYS = {"reference", "genes", "vcf", "expression", "causal_variants", "finemap", "regulatory_bed",
                 "gene_constraint", "dl_scores", "allele_freq", "sumstats", "ld", "gwas_genes", "gwas_truth"}


def site_matches(seq: str, i: int, consensus: str) -> bool:
    """Whether ``consensus`` or its reverse complement matches ``seq`` exactly at offset ``i``."""
    k = len(consensus)
    window = seq[i:i + k]
    if len(window) < k:
        return False
    return any(all(b in IUPAC[c] for b, c in zip(window, cons)) for cons in (consensus, revcomp(consensus)))


def sites_covering(seq: str, p: int, consensus: str) -> int:
    """Exact matches of ``consensus`` (either strand) that cover 0-based position ``p``."""
    k = len(consensus)
    return sum(site_matches(seq, i, consensus) for i in range(max(p - k + 1, 0), p + 1))


@pytest.fixture(scope="module")
def vcf_table(tiny_cohort):
    """All VCF records: chrom, pos, ref, alt, id, haplotypes (n, 2 * n_samples)."""
    rows, haps = [], []
    with pysam.VariantFile(str(tiny_cohort.path("vcf"))) as vcf:
        samples = list(vcf.header.samples)
        for rec in vcf:
            rows.append((rec.chrom, rec.pos, rec.ref, rec.alts[0], rec.id,
                         all(s.phased for s in rec.samples.values())))
            haps.append([a for s in rec.samples.values() for a in s["GT"]])
    df = pd.DataFrame(rows, columns=["chrom", "pos", "ref", "alt", "id", "phased"])
    return df, np.array(haps, dtype=np.int64), samples


@pytest.fixture(scope="module")
def genome(tiny_cohort):
    with ReferenceGenome(tiny_cohort.path("reference")) as ref:
        yield {c: ref.fetch(c, 0, n) for c, n in ref.lengths.items()}


def test_manifest_names_every_file(tiny_cohort):
    assert REQUIRED_KEYS <= set(tiny_cohort.files)
    for key, entry in tiny_cohort.files.items():
        paths = tiny_cohort.group(key).values() if isinstance(entry, dict) else [tiny_cohort.path(key)]
        for path in paths:
            assert path.exists(), (key, path)
    assert (tiny_cohort.path("reference").parent / "reference.fa.fai").exists()
    assert set(tiny_cohort.group("regulatory_bed")) == set(tiny_cohort.info["celltypes"])
    assert set(tiny_cohort.group("ld")) == set(tiny_cohort.info["chromosomes"])
    assert tiny_cohort.info["chromosomes"] == [f"chr{i + 1}" for i in range(len(tiny_cohort.info["chromosomes"]))]


def test_vcf_ref_matches_fasta_and_every_genotype_is_phased(vcf_table, genome, tiny_cohort):
    df, haps, samples = vcf_table
    assert samples == [f"ind{i + 1:04d}" for i in range(tiny_cohort.info["n_individuals"])]
    for chrom, pos, ref in zip(df["chrom"], df["pos"], df["ref"]):
        assert genome[chrom][pos - 1:pos - 1 + len(ref)] == ref, (chrom, pos)
    assert df["phased"].all()
    assert set(np.unique(haps)) <= {0, 1}
    assert (df["id"] == df["chrom"] + ":" + df["pos"].astype(str) + ":" + df["ref"] + ":" + df["alt"]).all()
    assert not df.duplicated(["chrom", "pos"]).any()
    indel = (df["ref"].str.len() != df["alt"].str.len())
    assert 0.04 <= indel.mean() <= 0.11
    assert df.loc[indel, "ref"].str.len().max() <= 11 and df.loc[indel, "alt"].str.len().max() <= 11
    # Every site segregates in the cohort.
    count = haps.sum(axis=1)
    assert ((count > 0) & (count < haps.shape[1])).all()


def test_expression_genes_and_samples_match_genes_table_and_vcf(tiny_cohort, vcf_table):
    genes = read_table(tiny_cohort.path("genes"), "genes")
    expr = read_table(tiny_cohort.path("expression"), "expression")
    assert list(expr["gene_id"]) == list(genes["gene_id"])
    assert list(expr.columns[1:]) == vcf_table[2]
    assert np.isfinite(expr.iloc[:, 1:].to_numpy()).all()
    lengths = tiny_cohort.info["chrom_lengths"]
    w = tiny_cohort.info["cis_window"]
    for chrom, tss in zip(genes["chrom"], genes["tss"]):
        assert 0 <= tss - w and tss + w <= lengths[chrom]


def test_ld_decays_with_distance_like_human_data(vcf_table):
    """Coalescent with recombination: nearby common variants are far more correlated than distant ones."""
    df, haps, _ = vcf_table
    freq = haps.mean(axis=1)
    common = np.flatnonzero((df["chrom"] == "chr1").to_numpy() & (freq > 0.1) & (freq < 0.9))
    r2 = np.corrcoef(haps[common].astype(float)) ** 2
    dist = np.abs(df["pos"].to_numpy()[common][:, None] - df["pos"].to_numpy()[common][None, :])
    near = r2[(dist > 0) & (dist < 5_000)].mean()
    far = r2[(dist > 100_000) & (dist < 200_000)].mean()
    assert near > 2 * far and near > 0.1


def test_gene_bodies_lie_on_their_chromosome(tiny_cohort):
    genes = read_table(tiny_cohort.path("genes"), "genes")
    lengths = genes["chrom"].map(tiny_cohort.info["chrom_lengths"])
    assert ((genes["start"] >= 0) & (genes["end"] <= lengths) & (genes["start"] < genes["end"])).all()
    assert ((genes["tss"] >= genes["start"]) & (genes["tss"] < genes["end"])).all()
    assert genes["gene_id"].is_unique


def test_gc_content_and_cpg_depletion(genome):
    seq = "".join(genome.values())
    c, g = seq.count("C") / len(seq), seq.count("G") / len(seq)
    assert 0.38 < c + g < 0.45
    assert seq.count("CG") / (len(seq) * c * g) < 0.5


def test_causal_variants_hit_motif_sites_in_the_sequence(tiny_cohort, genome):
    causal = read_table(tiny_cohort.path("causal_variants"), "causal_variants")
    instances = read_table(tiny_cohort.path("motif_instances"), MOTIF_INSTANCES)
    elements = read_table(tiny_cohort.path("elements"), ELEMENTS)
    assert len(causal) >= 10 and set(causal["mechanism"]) == {"motif_break", "motif_gain"}
    planted = 0
    for vid, gene, mech, motif in causal[["variant_id", "gene_id", "mechanism", "motif"]].itertuples(index=False):
        chrom, pos, ref, alt = vid.split(":")
        p = int(pos) - 1
        seq = genome[chrom]
        alt_seq = seq[:p] + alt + seq[p + 1:]
        cons = MOTIF_BY_NAME[motif].consensus
        before, after = sites_covering(seq, p, cons), sites_covering(alt_seq, p, cons)
        # Brute-force recount: a break removes a site of the named motif, a gain adds one.
        assert (after < before) if mech == "motif_break" else (after > before), vid
        inside = elements[(elements["chrom"] == chrom) & (elements["start"] <= p) & (elements["end"] > p)]
        assert list(inside["gene_id"]) == [gene]
        hit = instances[(instances["chrom"] == chrom) & (instances["start"] <= p) & (instances["end"] > p)]
        planted += int((hit["gene_id"] == gene).any())
    assert planted / len(causal) >= 0.8


def test_no_missed_causal_variants_in_elements(tiny_cohort, genome, vcf_table):
    """Every SNV in an element that changes a motif site count is in the truth table, and only those."""
    df = vcf_table[0]
    causal = set(read_table(tiny_cohort.path("causal_variants"), "causal_variants")["variant_id"])
    elements = read_table(tiny_cohort.path("elements"), ELEMENTS)
    checked = 0
    for chrom, start, end in elements[["chrom", "start", "end"]].itertuples(index=False):
        inside = df[(df["chrom"] == chrom) & (df["pos"] > start) & (df["pos"] <= end)
                    & (df["ref"].str.len() == 1) & (df["alt"].str.len() == 1)]
        seq = genome[chrom]
        for pos, alt, vid in inside[["pos", "alt", "id"]].itertuples(index=False):
            p = pos - 1
            alt_seq = seq[:p] + alt + seq[p + 1:]
            changes = any(sites_covering(seq, p, m.consensus) != sites_covering(alt_seq, p, m.consensus)
                          for m in MOTIFS)
            assert changes == (vid in causal), vid
            checked += 1
    assert checked > len(causal)


def test_expression_carries_the_true_cis_effects(tiny_cohort, vcf_table):
    """OLS on the true causal dosages recovers the true per-allele effects."""
    df, haps, _ = vcf_table
    dosage = (haps[:, 0::2] + haps[:, 1::2]).astype(float)  # (n_variants, n_ind)
    row_of = {v: i for i, v in enumerate(df["id"])}
    expr = read_table(tiny_cohort.path("expression"), "expression").set_index("gene_id")
    causal = read_table(tiny_cohort.path("causal_variants"), "causal_variants")
    truth, est = [], []
    for gene, grp in causal.groupby("gene_id"):
        x = dosage[[row_of[v] for v in grp["variant_id"]]].T
        x = np.column_stack([np.ones(x.shape[0]), x])
        coef, *_ = np.linalg.lstsq(x, expr.loc[gene].to_numpy(), rcond=None)
        if np.linalg.matrix_rank(x) == x.shape[1]:
            truth.extend(grp["effect"])
            est.extend(coef[1:])
    assert len(truth) >= 10
    assert np.corrcoef(truth, est)[0, 1] > 0.7
    # Share of variance the causal dosages explain, per gene: about the drawn h2 range 0.1-0.6.
    r2 = []
    for gene, grp in causal.groupby("gene_id"):
        x = dosage[[row_of[v] for v in grp["variant_id"]]].T
        y = expr.loc[gene].to_numpy()
        fitted = x @ np.linalg.lstsq(x - x.mean(0), y - y.mean(), rcond=None)[0]
        r2.append(np.var(fitted) / np.var(y))
    assert 0.1 < np.median(r2) < 0.65
    null_genes = set(expr.index) - set(causal["gene_id"])
    assert len(null_genes) >= 1


def test_baseline_expression_follows_promoter_and_enhancer_motifs(tiny_cohort, genome):
    expr = read_table(tiny_cohort.path("expression"), "expression").set_index("gene_id")
    elements = read_table(tiny_cohort.path("elements"), ELEMENTS)
    activity = pd.Series(0.0, index=expr.index)
    code = np.full(256, 4, dtype=np.int64)
    code[np.frombuffer(b"ACGT", np.uint8)] = np.arange(4)
    for chrom, start, end, gene, strength in elements[["chrom", "start", "end", "gene_id", "strength"]].itertuples(
            index=False):
        codes = code[np.frombuffer(genome[chrom][start:end].encode(), np.uint8)]
        bound = 0.0
        for m in MOTIFS:
            k = len(m.consensus)
            windows = np.lib.stride_tricks.sliding_window_view(codes, k)  # (n_windows, k)
            hit = np.zeros(len(windows), dtype=bool)
            for cons in {m.consensus, revcomp(m.consensus)}:
                allowed = np.array([["ACGT"[b] in IUPAC[c] for b in range(4)] for c in cons])  # (k, 4)
                hit |= allowed[np.arange(k), windows].all(axis=1)
            bound += m.weight * hit.sum()
        activity[gene] += strength * bound
    assert np.corrcoef(activity, expr.mean(axis=1))[0, 1] > 0.8


def test_fine_mapping_pips_concentrate_on_causal_variants(tiny_cohort):
    fm = read_table(tiny_cohort.path("finemap"), "finemap")
    causal = read_table(tiny_cohort.path("causal_variants"), "causal_variants")
    is_causal = fm["variant_id"].isin(causal["variant_id"]) & (
        fm["variant_id"] + fm["gene_id"]).isin(causal["variant_id"] + causal["gene_id"])
    assert is_causal.sum() >= 10
    assert fm.loc[is_causal, "pip"].mean() > 5 * fm.loc[~is_causal, "pip"].mean()
    # Top-PIP variant of each causal gene is a causal variant far more often than a random pick would be.
    causal_genes = fm[fm["gene_id"].isin(causal["gene_id"])]
    top = causal_genes.loc[causal_genes.groupby("gene_id")["pip"].idxmax()]
    hit_rate = top["variant_id"].isin(causal["variant_id"]).mean()
    chance = (is_causal[causal_genes.index].groupby(causal_genes["gene_id"]).mean()).mean()
    assert hit_rate > 3 * chance
    assert ((fm["pip"] >= 0) & (fm["pip"] <= 1)).all() and (fm["se"] > 0).all()


def test_allele_freq_matches_vcf_genotypes(tiny_cohort, vcf_table):
    df, haps, _ = vcf_table
    af = read_table(tiny_cohort.path("allele_freq"), "allele_freq").set_index("variant_id")
    p = haps.mean(axis=1)
    assert np.allclose(af.loc[df["id"], "maf"].to_numpy(), np.minimum(p, 1 - p))


def test_dl_scores_informative_columns_separate_causal_variants(tiny_cohort):
    dl = read_table(tiny_cohort.path("dl_scores"), "variant_scores")
    causal = set(read_table(tiny_cohort.path("causal_variants"), "causal_variants")["variant_id"])
    y = dl["variant_id"].isin(causal).to_numpy()
    cols = [c for c in dl.columns if c.startswith("dl_")]
    what = tiny_cohort.info["dl_assays"]
    assert len(cols) == 3 * 8 * 8 + 8 == len(what) and len(dl) == tiny_cohort.info["n_variants"]

    def auc(score: np.ndarray) -> float:
        ranks = pd.Series(np.abs(score)).rank().to_numpy()
        return (ranks[y].sum() - y.sum() * (y.sum() + 1) / 2) / (y.sum() * (~y).sum())

    aucs = {c: auc(dl[c].to_numpy()) for c in cols}
    noise = [aucs[c] for c in cols if what[c] == "noise"]
    focal = [aucs[c] for c in tiny_cohort.info["dl_informative"]]
    other = [aucs[c] for c in cols if what[c] != "noise" and c not in tiny_cohort.info["dl_informative"]]
    assert 0.35 < np.mean(noise) < 0.65
    # Informative but not perfect, like a real predictor; the focal cell type reads the true grammar best.
    assert 0.75 < max(focal) < 0.99
    assert np.mean(focal) > np.mean(other) > np.mean(noise)


def test_regulatory_beds_are_noisy_versions_of_the_elements(tiny_cohort):
    elements = read_table(tiny_cohort.path("elements"), ELEMENTS)
    for celltype, path in tiny_cohort.group("regulatory_bed").items():
        bed = read_bed(path)
        overlaps = [((bed["chrom"] == c) & (bed["start"] < e) & (bed["end"] > s)).any()
                    for c, s, e in elements[["chrom", "start", "end"]].itertuples(index=False)]
        assert 0.6 < np.mean(overlaps) < 1.0, celltype  # some elements dropped
        true_peak = [((elements["chrom"] == c) & (elements["start"] < e) & (elements["end"] > s)).any()
                     for c, s, e in bed[["chrom", "start", "end"]].itertuples(index=False)]
        assert 0.6 < np.mean(true_peak) < 1.0, celltype  # some peaks spurious


def test_gene_constraint_covers_every_gene(tiny_cohort):
    genes = read_table(tiny_cohort.path("genes"), "genes")
    gc = read_table(tiny_cohort.path("gene_constraint"), "gene_scores")
    assert list(gc["gene_id"]) == list(genes["gene_id"])
    assert gc["pLI"].between(0, 1).all() and (gc["LOEUF"] > 0).all()
