"""s2e haplotype store + loader: items equal a naive pysam fetch + string-splicing construction,
labels use training individuals only, and bad inputs fail with a one-line message."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest

from varflow.errors import VarflowError
from varflow.s2e.dataset import ENCODINGS, PersonalDataset, align_expression, apply_variant_options, compute_labels
from varflow.s2e.onehot import as_onehot
from varflow.s2e.store import HaplotypeStore, prepare_chromosome
from varflow.s2e.toydata import write_toy_data

WINDOW = 200
COMP = str.maketrans("ACGTN", "TGCAN")
ONEHOT = {"A": [1, 0, 0, 0], "C": [0, 1, 0, 0], "G": [0, 0, 1, 0], "T": [0, 0, 0, 1]}


def naive_window(fasta: pysam.FastaFile, vcf: pysam.VariantFile, chrom: str, tss: int, strand: str,
                 window: int, sample: str, hap: int | None) -> str:
    """The documented policy by plain string splicing over pysam records (independent of the store)."""
    offset = window // 2 if strand == "+" else window - 1 - window // 2
    ws, we = tss - offset, tss - offset + window
    lo, hi = ws - 5 * window, we + 5 * window
    clen = fasta.get_reference_length(chrom)
    ref = "N" * max(0, -lo) + fasta.fetch(chrom, max(lo, 0), min(hi, clen)).upper() + "N" * max(0, hi - clen)
    applied, last_end = [], -10**9
    if hap is not None:
        for rec in vcf.fetch(chrom, max(ws, 0), we):
            allele = rec.samples[sample]["GT"][hap]
            if allele in (None, 0) or rec.start < last_end:
                continue
            applied.append((rec.start, rec.ref, rec.alleles[allele]))
            last_end = rec.start + len(rec.ref)
    seq, cur, anchor = "", lo, None
    for start, r, a in applied:
        if anchor is None and tss < start:
            anchor = len(seq) + (tss - cur)
        seq += ref[cur - lo:start - lo]
        if anchor is None and start <= tss < start + len(r):
            anchor = len(seq) + min(tss - start, len(a))
        seq += a
        cur = start + len(r)
    if anchor is None:
        anchor = len(seq) + (tss - cur)
    seq += ref[cur - lo:]
    out = seq[anchor - offset:anchor - offset + window]
    return out[::-1].translate(COMP) if strand == "-" else out


def naive_onehot(seq: str) -> np.ndarray:
    return np.array([ONEHOT.get(b, [0.25] * 4) for b in seq], dtype=np.float32)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    out = tmp_path_factory.mktemp("s2e_toy")
    data = write_toy_data(out, seed=3, n_samples=10, chrom_lengths=(2500, 1800), genes_per_chrom=6,
                          variant_rate=0.06, window=WINDOW)
    # genes whose TSS falls inside a deletion or on an insertion exercise the anchor rule
    extra = []
    with pysam.VariantFile(str(data.vcf)) as vcf:
        for rec in vcf.fetch("chr1", 300, 2200):
            if len(rec.ref) > 2 and len(extra) < 4:
                extra.append((f"del{len(extra)}", "chr1", rec.start + 2, "+-"[len(extra) % 2]))
            elif len(rec.alts[0]) > 1 and len(extra) in (4, 5):
                extra.append((f"ins{len(extra)}", "chr1", rec.start, "+-"[len(extra) % 2]))
    assert len(extra) == 6
    add = pd.DataFrame(extra, columns=["gene_id", "chrom", "tss", "strand"]).assign(start=0, end=1)
    data.genes = pd.concat([data.genes, add], ignore_index=True)
    data.expression = pd.concat([data.expression, data.expression.iloc[:6].assign(gene_id=add["gene_id"].to_numpy())],
                                ignore_index=True)
    stats = {c: prepare_chromosome(data.vcf, data.reference, data.genes, c, out / "store" / f"{c}.npz",
                                   window=WINDOW) for c in ("chr1", "chr2")}
    return data, out, stats


def test_store_counts_cover_the_hard_cases(toy):
    data, _, stats = toy
    total = {k: sum(getattr(s, k) for s in stats.values()) for k in
             ("n_multiallelic", "n_overlapping", "n_genes_clipped", "n_records", "n_variants")}
    assert total["n_multiallelic"] > 0 and total["n_overlapping"] > 0
    assert total["n_genes_clipped"] == 4  # two genes per chromosome sit at the ends
    assert total["n_variants"] > total["n_records"]  # multi-allelic records were split


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_items_equal_naive_construction(toy, encoding):
    """Both encodings (base codes one-hot encoded as the model does, and the float one-hot)."""
    data, out, _ = toy
    store = HaplotypeStore.load(out / "store")
    rng = np.random.default_rng(0)
    fasta = pysam.FastaFile(str(data.reference))
    vcf = pysam.VariantFile(str(data.vcf))
    ds = PersonalDataset(store, np.zeros((0, 2)), encoding=encoding)
    seen = {"indel": 0, "minus": 0, "edge": 0, "conflict": 0, "tss_in_variant": 0}
    pairs = [(g, i) for g in range(store.n_genes) for i in rng.choice(len(store.samples), 6, replace=False)]
    for g, i in pairs:
        gene = store.genes.iloc[g]
        sample = store.samples[i]
        item = PersonalDataset(store, np.array([[g, i]]), encoding=encoding).__getitems__([0])
        for hap, key in ((0, "hap1"), (1, "hap2")):
            expect = naive_window(fasta, vcf, gene.chrom, int(gene.tss), gene.strand, WINDOW, sample, hap)
            assert len(expect) == WINDOW
            np.testing.assert_array_equal(as_onehot(item[key]).numpy()[0], naive_onehot(expect),
                                          err_msg=f"gene {gene.gene_id} sample {sample} hap {hap}")
        ref = naive_window(fasta, vcf, gene.chrom, int(gene.tss), gene.strand, WINDOW, sample, None)
        np.testing.assert_array_equal(as_onehot(item["ref"]).numpy()[0], naive_onehot(ref))
        single = ds.__class__(store, np.array([[g, i]]), encoding=encoding)[0]
        np.testing.assert_array_equal(single["hap1"].numpy(), item["hap1"][0].numpy())
        variants = store.gene_variants(g)
        carried = store.haplotype_alleles(g, np.array([2 * i, 2 * i + 1])).any(axis=1)
        seen["indel"] += int((carried & (variants["ref"].str.len() != variants["alt"].str.len())).any())
        seen["minus"] += gene.strand == "-"
        seen["edge"] += int(gene.tss) < WINDOW or int(gene.tss) > 1700
        span = (variants["pos"] - 1 <= gene.tss) & (gene.tss < variants["pos"] - 1 + variants["ref"].str.len())
        seen["tss_in_variant"] += int((span.to_numpy() & carried).any())
        pos = variants["pos"].to_numpy()[carried]
        seen["conflict"] += int(len(pos) > 1 and (np.diff(pos) < 8).any())
    # the random pairs really exercised the hard cases
    assert seen["indel"] > 10 and seen["minus"] > 10 and seen["edge"] > 5 and seen["conflict"] > 0
    assert seen["tss_in_variant"] > 3


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_batch_shares_reference_per_gene(toy, encoding):
    _, out, _ = toy
    store = HaplotypeStore.load(out / "store")
    ds = PersonalDataset(store, np.array([[1, 0], [1, 1], [2, 0], [1, 2]]), encoding=encoding)
    batch = ds.__getitems__([0, 1, 2, 3])
    channels = ENCODINGS[encoding].channels
    assert batch["ref"].shape == (2, WINDOW, *channels)
    assert batch["ref_index"].tolist() == [0, 0, 1, 0]
    assert batch["hap1"].shape == (4, WINDOW, *channels)
    np.testing.assert_allclose(as_onehot(batch["hap1"]).sum(-1).numpy(), 1.0)  # one-hot or N (0.25 x 4)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_batch_arrays_are_recycled_only_when_released(toy, encoding):
    """Batches are built in pooled arrays: a batch still held (even as a single tensor) is never
    overwritten by the next one; once every reference is gone its memory is reused."""
    _, out, _ = toy
    store = HaplotypeStore.load(out / "store")
    pairs = np.array([[g, i] for g in range(store.n_genes) for i in range(len(store.samples))])
    ds = PersonalDataset(store, pairs, encoding=encoding)
    first = ds.__getitems__(list(range(0, 8)))
    hap1 = first["hap1"]
    expect = hap1.numpy().copy()
    del first                                    # the batch dict is gone, one of its tensors is not
    others = [ds.__getitems__(list(range(lo, lo + 8))) for lo in range(8, 80, 8)]
    np.testing.assert_array_equal(hap1.numpy(), expect)
    assert not any(np.shares_memory(hap1.numpy(), b[k].numpy()) for b in others for k in ("ref", "hap1", "hap2"))
    held = {id(a) for a in ds.arrays._arrays}
    del hap1, others
    again = ds.__getitems__(list(range(0, 8)))
    np.testing.assert_array_equal(again["hap1"].numpy(), expect)
    assert any(np.shares_memory(again["hap1"].numpy(), a) for a in ds.arrays._arrays if id(a) in held)


def test_labels_use_training_individuals_only(toy):
    data, out, _ = toy
    store = HaplotypeStore.load(out / "store")
    expr, shared = align_expression(data.expression, store)
    train = np.arange(6)
    labels = compute_labels(expr, train)
    g = 3
    gid = store.genes.at[g, "gene_id"]
    row = data.expression.set_index("gene_id").loc[gid, store.samples].to_numpy(dtype=float)
    assert labels.mean[g] == pytest.approx(row[:6].mean(), rel=1e-6)
    assert labels.dev[g, 8] == pytest.approx((row[8] - row[:6].mean()) / row[:6].std(), rel=1e-5)
    # changing a held-out individual's expression leaves every label of the others unchanged
    expr2 = expr.copy()
    expr2[:, 9] += 100.0
    labels2 = compute_labels(expr2, train)
    np.testing.assert_array_equal(labels.mean, labels2.mean)
    np.testing.assert_array_equal(labels.dev[:, :9], labels2.dev[:, :9])


def test_snv_only_and_af_filters(toy):
    data, out, _ = toy
    store = HaplotypeStore.load(out / "store")
    train = np.arange(8)
    freqs = store.alt_frequency(train)
    kept = apply_variant_options(store, train, snvs_only=True, min_af=0.1, max_af=0.5)
    expect = sum(int(((sh["var_rlen"] == 1) & (sh["var_alen"] == 1) & (f >= 0.1) & (f <= 0.5)).sum())
                 for sh, f in zip(store.shards, freqs))
    assert kept == expect > 0
    for g in range(store.n_genes):
        v = store.gene_variants(g)
        assert ((v["ref"].str.len() == 1) & (v["alt"].str.len() == 1)).all()
    # AF computed on training haplotypes matches a direct count from the VCF
    vcf = pysam.VariantFile(str(data.vcf))
    rec = next(r for r in vcf.fetch("chr1") if len(r.alts) == 1)
    sh = store.shards[0]
    v = int(np.flatnonzero(sh["var_pos"] == rec.pos)[0])
    direct = np.mean([a == 1 for s in data.samples[:8] for a in rec.samples[s]["GT"]])
    assert freqs[0][v] == pytest.approx(direct)


# ---------------------------------------------------------------------------------------- bad input

def _rewrite_vcf(src: Path, dst_dir: Path, edit) -> Path:
    with gzip.open(src, "rt") as handle:
        lines = handle.read().splitlines()
    lines = edit(lines)
    text = dst_dir / "edited.vcf"
    text.write_text("\n".join(lines) + "\n")
    return Path(pysam.tabix_index(str(text), preset="vcf", force=True))


def test_vcf_without_index(toy, tmp_path):
    data, _, _ = toy
    vcf = tmp_path / "noindex.vcf.gz"
    shutil.copy(data.vcf, vcf)
    with pytest.raises(VarflowError, match="no tabix index"):
        prepare_chromosome(vcf, data.reference, data.genes, "chr1", tmp_path / "s.npz", window=WINDOW)
    assert not (tmp_path / "s.npz").exists()


def test_contig_missing_from_fasta(toy, tmp_path):
    data, _, _ = toy
    genes = data.genes.copy()
    genes.loc[0, "chrom"] = "chr9"
    with pytest.raises(VarflowError, match="contig 'chr9' not in the reference"):
        prepare_chromosome(data.vcf, data.reference, genes, "chr9", tmp_path / "s.npz", window=WINDOW)


def test_ref_mismatch_beyond_threshold(toy, tmp_path):
    data, _, _ = toy

    def corrupt(lines):
        out = []
        for ln in lines:
            f = ln.split("\t")
            if not ln.startswith("#") and len(f[3]) == 1 and len(f[4]) == 1:
                f[3] = f[4] if f[4] != "A" else "C"  # REF now differs from the FASTA
                f[4] = "A" if f[3] != "A" else "G"
            out.append("\t".join(f))
        return out

    vcf = _rewrite_vcf(data.vcf, tmp_path, corrupt)
    with pytest.raises(VarflowError, match=r"REF that disagrees .*first at POS \d+"):
        prepare_chromosome(vcf, data.reference, data.genes, "chr1", tmp_path / "s.npz", window=WINDOW)
    # within a generous threshold the mismatching records are dropped and counted
    stats = prepare_chromosome(vcf, data.reference, data.genes, "chr1", tmp_path / "s.npz", window=WINDOW,
                               max_ref_mismatch=1.0)
    assert stats.n_ref_mismatch > 0 and stats.n_variants < stats.n_records + stats.n_multiallelic * 2


def test_unphased_genotypes(toy, tmp_path):
    data, _, _ = toy

    def unphase(lines):
        return [ln if ln.startswith("#") else ln.replace("0|1", "0/1").replace("1|0", "1/0") for ln in lines]

    vcf = _rewrite_vcf(data.vcf, tmp_path, unphase)
    with pytest.raises(VarflowError, match="unphased heterozygous genotype.*--allow-unphased"):
        prepare_chromosome(vcf, data.reference, data.genes, "chr1", tmp_path / "s.npz", window=WINDOW)
    stats = prepare_chromosome(vcf, data.reference, data.genes, "chr1", tmp_path / "s.npz", window=WINDOW,
                               allow_unphased=True)
    assert stats.n_unphased_het > 0


def test_window_off_chromosome_end_is_padded(toy):
    _, out, _ = toy
    store = HaplotypeStore.load(out / "store")
    g = int(np.flatnonzero(store.genes["tss"] == 5)[0])  # + strand gene near the chromosome start
    codes = store.window_codes(g, None)
    assert codes.shape == (WINDOW,)
    assert (codes[:WINDOW // 2 - 5] == ord("N")).all() and (codes[WINDOW // 2 - 5:] != ord("N")).all()


def test_expression_sample_mismatch_and_nan(toy, caplog):
    data, out, _ = toy
    store = HaplotypeStore.load(out / "store")
    expr = data.expression.drop(columns=[data.samples[0]]).assign(stranger=1.0)
    values, shared = align_expression(expr, store, "expr.parquet")
    assert shared == data.samples[1:]
    assert np.isnan(values[:, 0]).all()
    assert "not in the VCF" in caplog.text and "without expression" in caplog.text
    with pytest.raises(VarflowError, match="no sample column matches"):
        align_expression(data.expression.rename(columns={s: s + "x" for s in data.samples}), store, "e")
    bad = data.expression.copy()
    bad.loc[2, data.samples[4]] = np.nan
    with pytest.raises(VarflowError, match=rf"gene {bad.loc[2, 'gene_id']}, sample {data.samples[4]}: expression is NaN"):
        align_expression(bad, store, "e")
