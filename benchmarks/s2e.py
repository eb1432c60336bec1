"""s2e loader benchmark: items/s per core for 40 kb windows (reference + 2 haplotypes, one-hot) from
a cohort of ~800 individuals, measured in one run (each rate the median of ``--repeats`` alternating
passes) for:

* the float loader: items as (L, 4) float32 one-hot (``encoding="onehot"``);
* the codes loader: items as (L,) uint8 base codes, with and without the one-hot that the model builds
  from them (``onehot_codes`` on the CPU tensors, counted in the ``codes_onehot`` figure; on a GPU it
  runs on the device);
* a naive per-item pysam fetch + string-splice loader (the baseline);
* GenVarLoader (``genvarloader`` from PyPI, optional; skipped with a note when it is not installed) on
  the same cohort (multi-allelic records split into bi-allelic ones, as it requires), the same
  windows and items: haplotypes + reference, one-hot with the same lookup table.

On a CUDA machine it also measures training examples/s of the published-size personal model at
40 kb with bf16 AMP, with the loader in DataLoader workers, for both encodings, and the fraction of
time the training loop waited for data.

Prints one JSON line. ``python benchmarks/s2e.py [--individuals 800] [--genes 24] [--items 2000]``
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import re
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import pysam
import torch

from varflow.s2e.dataset import ENCODINGS, PersonalDataset, identity_collate
from varflow.s2e.haplotypes import ONEHOT_LUT, left_offset, onehot, reverse_complement
from varflow.s2e.onehot import as_onehot, onehot_codes
from varflow.s2e.store import HaplotypeStore, prepare_chromosome
from varflow.s2e.toydata import write_toy_data

COMP = str.maketrans("ACGTN", "TGCAN")


def naive_item(fasta, vcf, chrom, tss, strand, window, sample):
    """Per item: pysam fetch of records and sequence, Python string splicing, one-hot (the baseline)."""
    offset = window // 2 if strand == "+" else window - 1 - window // 2
    ws, we = tss - offset, tss - offset + window
    lo, hi = max(ws - window, 0), we + window
    ref = fasta.fetch(chrom, lo, hi).upper()
    recs = list(vcf.fetch(chrom, max(ws, 0), we))
    out = []
    for hap in (None, 0, 1):
        seq, cur, anchor, last_end = "", lo, None, -1
        for rec in recs if hap is not None else ():
            allele = rec.samples[sample]["GT"][hap]
            if allele in (None, 0) or rec.start < last_end:
                continue
            if anchor is None and tss < rec.start:
                anchor = len(seq) + (tss - cur)
            seq += ref[cur - lo:rec.start - lo]
            if anchor is None and rec.start <= tss < rec.start + len(rec.ref):
                anchor = len(seq) + min(tss - rec.start, len(rec.alleles[allele]))
            seq += rec.alleles[allele]
            cur, last_end = rec.start + len(rec.ref), rec.start + len(rec.ref)
        if anchor is None:
            anchor = len(seq) + (tss - cur)
        seq += ref[cur - lo:]
        s = seq[anchor - offset:anchor - offset + window]
        if strand == "-":
            s = s[::-1].translate(COMP)
        out.append(ONEHOT_LUT[np.frombuffer(s.encode(), dtype=np.uint8)])
    return out


def rate(n: int, fn) -> tuple[float, float]:
    """(items per wall-clock second, items per CPU second of this process) of ``fn()`` over ``n`` items."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return n / (time.perf_counter() - t0), n / (time.process_time() - c0)


def store_pass(ds: PersonalDataset, batch: int, encode=None) -> tuple[float, float]:
    """``rate`` of building every item of ``ds`` in batches; ``encode``, when given, maps each of a
    batch's window tensors to the model input inside the timed loop."""
    n = len(ds)

    def loop():
        for lo in range(0, n, batch):
            b = ds.__getitems__(list(range(lo, min(lo + batch, n))))
            for key in ("ref", "hap1", "hap2") if encode else ():
                encode(b[key])

    return rate(n, loop)


def check_equal_to_naive(store: HaplotypeStore, pairs: np.ndarray, data, window: int) -> None:
    """Both store loaders build the naive loader's items (checked on the first 5 whose window lies
    within the chromosome: the naive loader does not pad)."""
    fasta, vcf = pysam.FastaFile(str(data.reference)), pysam.VariantFile(str(data.vcf))
    checked = 0
    for g, i in pairs.tolist():
        gene = store.genes.iloc[g]
        expect = naive_item(fasta, vcf, gene.chrom, int(gene.tss), gene.strand, window, store.samples[i])
        if any(len(x) != window for x in expect):
            continue
        for encoding in ENCODINGS:
            item = PersonalDataset(store, np.array([[g, i]]), encoding=encoding)[0]
            for key, want in zip(("ref", "hap1", "hap2"), expect):
                assert np.array_equal(as_onehot(item[key][None]).numpy()[0], want), (encoding, key)
        checked += 1
        if checked == 5:
            return
    raise AssertionError("fewer than 5 items lie within the chromosome")


def median_rates(passes: list[dict[str, tuple[float, float]]]) -> dict[str, float]:
    """Median over passes of each loader's per-core rate and per-CPU-second rate, plus every pass."""
    out = {}
    for name in passes[0]:
        out[f"{name}_items_per_s_per_core"] = round(float(np.median([p[name][0] for p in passes])), 1)
        out[f"{name}_items_per_cpu_s"] = round(float(np.median([p[name][1] for p in passes])), 1)
        out[f"{name}_items_per_s_per_core_passes"] = [round(p[name][0], 1) for p in passes]
    return out


def keep_allele(alleles: str, ref: str, alt: str, start: int, last_end: int) -> bool:
    """Whether a bi-allelic record enters the ``alleles`` set: ``all``; ``snvs`` (1-bp REF and ALT);
    ``atomic`` (SNVs and indels that keep REF's first base and add or remove bases after it, none
    overlapping the previous kept record: the normalised form GenVarLoader asks for)."""
    snv = len(ref) == 1 and len(alt) == 1
    if alleles == "snvs":
        return snv
    if alleles == "atomic":
        indel = (len(ref) == 1 or len(alt) == 1) and ref[0] == alt[0] and len(ref) != len(alt)
        return (snv or indel) and start >= last_end
    return True


def biallelic_vcf(src: Path, dst: Path, alleles: str) -> tuple[Path, set[tuple[int, str, str]]]:
    """A bgzipped, indexed copy of ``src`` with each multi-allelic record split into one bi-allelic
    record per ALT (GT allele j -> 1, other ALTs -> 0; GenVarLoader rejects multi-allelic records, the
    store splits them itself), keeping the ``alleles`` set (``keep_allele``). Returns the path and the
    kept (POS, REF, ALT)."""
    lines, kept, last_end = [], set(), -1
    with gzip.open(src, "rt") as handle:
        for line in handle:
            if line.startswith("#"):
                lines.append(line)
                continue
            f = line.rstrip("\n").split("\t")
            pos, ref, alts = int(f[1]), f[3], f[4].split(",")
            for j, alt in enumerate(alts, start=1):
                if not keep_allele(alleles, ref, alt, pos, last_end):
                    continue
                keep = {str(j): "1", ".": "."}
                gts = f[9:] if len(alts) == 1 else [re.sub(r"[0-9.]+", lambda m: keep.get(m.group(), "0"), gt)
                                                    for gt in f[9:]]
                lines.append("\t".join(f[:4] + [alt] + f[5:9] + gts) + "\n")
                kept.add((pos, ref, alt))
                last_end = pos + len(ref)
    text = dst.with_suffix("")
    text.write_text("".join(lines))
    return Path(pysam.tabix_index(str(text), preset="vcf", force=True)), kept


class GenVarLoader:
    """GenVarLoader on the store's cohort and windows: (gene, sample) items as one-hot reference +
    2 haplotypes (the same ``ONEHOT_LUT``), one thread. ``info``: its write time and how its
    haplotypes compare with the store's."""

    def __init__(self, gvl, genoray, tmp: Path, data, store: HaplotypeStore, pairs: np.ndarray, batch: int):
        self.gvl, self.genoray, self.tmp, self.data = gvl, genoray, tmp, data
        self.store, self.pairs, self.batch = store, pairs, batch
        genes = store.genes
        offset = np.where(genes["strand"] == "-", left_offset(store.window, True), left_offset(store.window, False))
        self.start = genes["tss"].to_numpy() - offset   # (G,) genomic window starts
        t0 = time.perf_counter()
        ds, _ = self.dataset("all")
        self.write_s = time.perf_counter() - t0
        self.haps, self.ref = ds.with_seqs("haplotypes"), ds.with_seqs("reference")
        self.region = self.gene_regions(ds)
        sample_of = {name: k for k, name in enumerate(ds.samples)}
        self.sample = np.array([sample_of[name] for name in store.samples])
        self.info = {"version": gvl.__version__, "write_s": round(self.write_s, 2), **self.agreement(20)}

    def dataset(self, alleles: str):
        """A GenVarLoader dataset of the genes' windows (BED: window start/end, strand) from the cohort
        VCF's ``alleles`` set (``keep_allele``), and the kept (POS, REF, ALT)."""
        import polars as pl

        genes = self.store.genes
        bed = pl.DataFrame({"chrom": genes["chrom"].tolist(), "chromStart": self.start,
                            "chromEnd": self.start + self.store.window, "strand": genes["strand"].tolist()})
        vcf, kept = biallelic_vcf(self.data.vcf, self.tmp / f"{alleles}.vcf.gz", alleles)
        with contextlib.redirect_stdout(sys.stderr):  # it prints the dataset; stdout is the JSON line's
            self.gvl.write(self.tmp / f"gvl_{alleles}", bed, variants=self.genoray.VCF(str(vcf)), overwrite=True)
            ds = self.gvl.Dataset.open(self.tmp / f"gvl_{alleles}", reference=str(self.data.reference))
        return ds.with_len(self.store.window), kept

    def gene_regions(self, ds) -> np.ndarray:
        """(G,) GenVarLoader region index of each store gene (matched by window start and strand)."""
        region_of = {(int(a), s): r for r, (a, s) in enumerate(zip(ds.regions["chromStart"], ds.regions["strand"]))}
        return np.array([region_of[(int(a), s)] for a, s in zip(self.start, self.store.genes["strand"])])

    def items(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """One-hot reference windows of the items' genes (G_b, L, 4) and haplotypes (B, 2, L, 4)."""
        genes, samples = self.pairs[lo:hi, 0], self.pairs[lo:hi, 1]
        uniq = np.unique(genes)
        ref = self.ref[self.region[uniq], np.zeros_like(uniq)].view(np.uint8)
        haps = self.haps[self.region[genes], self.sample[samples]].view(np.uint8)
        return onehot(ref), onehot(haps)

    def __call__(self) -> tuple[float, float]:
        n = self.pairs.shape[0]
        return rate(n, lambda: [self.items(lo, min(lo + self.batch, n)) for lo in range(0, n, self.batch)])

    def agreement(self, n_items: int) -> dict:
        """Reference windows of every gene, and the haplotypes of the first ``n_items`` pairs for each
        allele set (``keep_allele``: a dataset of its own, the store restricted to the same alleles),
        against the store's."""
        ref = self.ref[self.region, np.zeros_like(self.region)].view(np.uint8)
        out = {"reference_windows_equal": all(np.array_equal(ref[g], self.store.window_codes(g, None))
                                              for g in range(self.store.n_genes))}
        for alleles in ("all", "snvs", "atomic"):
            ds, kept = self.dataset(alleles)
            store = HaplotypeStore(self.store.shards)
            store.set_variant_filter([np.array([(int(p), r, a) in kept for p, r, a in
                                                zip(sh["var_pos"], sh["var_ref"], sh["var_alt"])], dtype=bool)
                                      for sh in store.shards])
            out[alleles] = self.compare_haplotypes(store, ds.with_seqs("haplotypes"), n_items)
        return out

    def compare_haplotypes(self, store: HaplotypeStore, haps, n_items: int) -> dict:
        """Haplotypes equal, equal once aligned at the window start (shifted by the net length change of
        the carried indels between window start and TSS, genomic orientation), and the median fraction
        of window positions equal when aligned at the TSS (the store's anchor) or at the window start."""
        equal, at_tss, at_start = 0, [], []
        for g, i in self.pairs[:n_items].tolist():
            theirs = haps[self.region[g], self.sample[i]].view(np.uint8)
            alleles = store.haplotype_alleles(g, np.array([2 * i, 2 * i + 1]))
            minus = store.genes.at[g, "strand"] == "-"
            for h in (0, 1):
                ours = store.window_codes(g, alleles[:, h])
                equal += int(np.array_equal(ours, theirs[h]))
                genomic = (reverse_complement(ours), reverse_complement(theirs[h])) if minus else (ours, theirs[h])
                at_tss.append(fraction_equal(*genomic, 0))
                at_start.append(fraction_equal(*genomic, self.upstream_length_change(store, g, alleles[:, h])))
        return {"haplotypes": 2 * n_items, "equal": equal,
                "equal_at_window_start": int(np.sum(np.equal(at_start, 1.0))),
                "median_fraction_equal_at_tss": round(float(np.median(at_tss)), 3),
                "median_fraction_equal_at_window_start": round(float(np.median(at_start)), 3)}

    def upstream_length_change(self, store: HaplotypeStore, g: int, carried: np.ndarray) -> int:
        """Net bp added by the carried alleles that start between gene g's window start and its TSS."""
        v = store.gene_variants(g)[carried]
        upstream = (v["pos"] - 1 >= self.start[g]) & (v["pos"] - 1 < int(store.genes.at[g, "tss"]))
        return int((v["alt"].str.len() - v["ref"].str.len())[upstream].sum())


def fraction_equal(ours: np.ndarray, theirs: np.ndarray, shift: int) -> float:
    """Fraction of the overlap where ``theirs[k + shift] == ours[k]`` ((L,) codes each)."""
    L = ours.shape[0]
    a, b = max(0, -shift), min(L, L - shift)
    return float((theirs[a + shift:b + shift] == ours[a:b]).mean())


def genvarloader_loader(tmp: Path, data, store: HaplotypeStore, pairs: np.ndarray, batch: int) -> GenVarLoader | str:
    """A ``GenVarLoader`` over the cohort, or the note saying why it was skipped."""
    # one thread, as for the other loaders; rayon and numba read these at their first use
    for var in ("GVL_NUM_THREADS", "RAYON_NUM_THREADS", "NUMBA_NUM_THREADS", "POLARS_MAX_THREADS"):
        os.environ[var] = "1"
    try:
        import genoray
        import genvarloader as gvl
    except ImportError as exc:
        return f"skipped: genvarloader does not import ({exc})"
    return GenVarLoader(gvl, genoray, tmp, data, store, pairs, batch)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--individuals", type=int, default=800)
    ap.add_argument("--genes", type=int, default=24)
    ap.add_argument("--window", type=int, default=40_000)
    ap.add_argument("--items", type=int, default=2000, help="items timed for the store loaders and GenVarLoader")
    ap.add_argument("--naive-items", type=int, default=40, help="items timed for the naive loader")
    ap.add_argument("--variant-rate", type=float, default=0.004, help="VCF records per bp")
    ap.add_argument("--repeats", type=int, default=5, help="timed passes per loader; rates are their medians")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gpu-steps", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    batch = 32
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        length = args.genes * (args.window + 5_000) + 2 * args.window
        t0 = time.perf_counter()
        data = write_toy_data(tmp, seed=args.seed, n_samples=args.individuals, chrom_lengths=(length,),
                              genes_per_chrom=args.genes, variant_rate=args.variant_rate, window=args.window)
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        stats = prepare_chromosome(data.vcf, data.reference, data.genes, "chr1", tmp / "store" / "chr1.npz",
                                   window=args.window)
        t_prepare = time.perf_counter() - t0
        store = HaplotypeStore.load(tmp / "store")
        n_g, n_i = store.n_genes, len(store.samples)
        pairs = np.stack([rng.integers(0, n_g, args.items), rng.integers(0, n_i, args.items)], axis=1)
        loaders = {enc: PersonalDataset(store, pairs, encoding=enc) for enc in ENCODINGS}
        for ds in loaders.values():
            ds.__getitems__(list(range(batch)))  # warm-up
        fasta, vcf = pysam.FastaFile(str(data.reference)), pysam.VariantFile(str(data.vcf))

        def naive_loop():
            for g, i in pairs[:args.naive_items]:
                gene = store.genes.iloc[int(g)]
                naive_item(fasta, vcf, gene.chrom, int(gene.tss), gene.strand, args.window, store.samples[int(i)])

        timed = {"float": partial(store_pass, loaders["onehot"], batch),
                 "codes": partial(store_pass, loaders["codes"], batch),
                 "codes_onehot": partial(store_pass, loaders["codes"], batch, onehot_codes),
                 "naive": partial(rate, args.naive_items, naive_loop)}
        gvl = genvarloader_loader(tmp, data, store, pairs, batch)
        if callable(gvl):
            timed["genvarloader"] = gvl
        # passes alternate between the loaders, so a slow spell of a shared machine hits all alike
        passes = [{name: fn() for name, fn in timed.items()} for _ in range(args.repeats)]
        check_equal_to_naive(store, pairs, data, args.window)
        rates = median_rates(passes)
        per_core = {name: rates[f"{name}_items_per_s_per_core"] for name in timed}
        result = {
            "benchmark": "s2e_loader", "window": args.window, "individuals": n_i, "genes": n_g,
            "variants": stats.n_variants,
            "mean_variants_per_window": round(float(np.diff(store.shards[0]["gv_ptr"]).mean()), 1),
            "write_vcf_s": round(t_write, 2), "prepare_s": round(t_prepare, 2), "repeats": args.repeats,
            "batch_size": batch, **rates,
            "speedup_vs_naive": {name: round(v / per_core["naive"], 1) for name, v in per_core.items()
                                 if name != "naive"},
            "speedup_vs_float": {name: round(v / per_core["float"], 2) for name, v in per_core.items()
                                 if name != "float"},
            "bytes_per_item": {"float": 3 * args.window * 4 * 4, "codes": 3 * args.window},
            "load_average_1min": round(os.getloadavg()[0], 2), "cpu_cores_used": 1,
        }
        result["genvarloader"] = gvl if isinstance(gvl, str) else gvl.info
        if torch.cuda.is_available():
            for encoding in ENCODINGS:
                result[f"gpu_{encoding}"] = gpu_training(store, args, rng, encoding)
        print(json.dumps(result))


def gpu_training(store: HaplotypeStore, args, rng, encoding: str) -> dict:
    """Published-size personal model, 40 kb, bf16 AMP, batch 32 (8 genes x 4 individuals), workers,
    items in ``encoding`` (codes: the one-hot is built on the GPU inside the model)."""
    from varflow.s2e.models import ModelConfig, PersonalModel, paired

    torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
    model = PersonalModel(ModelConfig(window=store.window)).cuda()
    opt = torch.optim.Adam(model.parameters(), lr=5e-4)
    n = 32 * (args.gpu_steps + 5)
    genes = np.repeat(rng.integers(0, store.n_genes, n // 4), 4)
    pairs = np.stack([genes, rng.integers(0, len(store.samples), genes.shape[0])], axis=1)
    batches = [list(range(i, i + 32)) for i in range(0, pairs.shape[0] - 31, 32)]
    workers = max(1, min(8, (os.cpu_count() or 2) - 2))
    dataset = PersonalDataset(store, pairs, encoding=encoding)
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=batches,
                                         collate_fn=identity_collate, num_workers=workers, pin_memory=True,
                                         prefetch_factor=4)
    wait = step = 0.0
    done = 0
    it = iter(loader)
    for k in range(len(batches)):
        t0 = time.perf_counter()
        b = next(it)
        t1 = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            m, d = model(b["ref"].cuda(non_blocking=True), b["ref_index"].cuda(),
                         *paired(b["hap1"].cuda(non_blocking=True), b["hap2"].cuda(non_blocking=True)))
            loss = (m.float() ** 2).mean() + (d.float() ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        torch.cuda.synchronize()
        t2 = time.perf_counter()
        if k >= 5:  # after warm-up
            wait += t1 - t0
            step += t2 - t1
            done += 32
    total = wait + step
    # the GPU alone: the same step on one resident batch
    b = dataset.__getitems__(batches[0])
    args_gpu = [b["ref"].cuda(), b["ref_index"].cuda(), *paired(b["hap1"].cuda(), b["hap2"].cuda())]
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(10):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            m, d = model(*args_gpu)
            loss = (m.float() ** 2).mean() + (d.float() ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.cuda.synchronize()
    gpu_only = 320 / (time.perf_counter() - t0)
    return {"gpu": torch.cuda.get_device_name(0), "gpu_train_examples_per_s": round(done / total, 1),
            "gpu_only_examples_per_s": round(gpu_only, 1), "loader_workers": workers,
            "fraction_time_waiting_for_data": round(wait / total, 3)}


if __name__ == "__main__":
    main()
