"""Step 1: features for every variant-gene pair, plus the feature contract.

Built-in features (names follow the published description):
``abs_distance_TSS_log`` = ln|TSS - pos| (0 when the variant sits on the TSS), ``length_diff`` =
len(alt) - len(ref) in bp, ``is_SNP``, ``is_indel``, ``is_insertion`` (alt longer), ``is_deletion``
(ref longer), ``MAF``. Then one or more columns per configured source. Gene-level and MAF gaps are
filled with the median of the frame that defined the contract (the training frame); +-inf becomes 0.
Variant-level score gaps stay NaN (CatBoost treats NaN as smaller than every value).
"""

from __future__ import annotations

import fnmatch
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from varflow.eqtl.config import EqtlConfig, Source
from varflow.eqtl.contract import FeatureContract
from varflow.eqtl.schemas import GENES
from varflow.eqtl.variants import clean_finemap
from varflow.errors import VarflowError
from varflow.io.bed import read_bed
from varflow.io.contigs import chrom_key
from varflow.io.finemap import read_finemap
from varflow.io.gene_annotations import annotation_kind
from varflow.io.gene_tss import read_gene_tss
from varflow.io.tables import read_frame, read_table, validate
from varflow.io.variant_ids import canonical_variant_ids, chr_style_names

log = logging.getLogger("varflow")


def bed_overlap(chrom: np.ndarray, start: np.ndarray, end: np.ndarray, bed: pd.DataFrame,
                value: str = "binary") -> np.ndarray:
    """Per query interval [start, end) (0-based, half-open): 1.0 if any BED interval overlaps it, else 0.0
    (``value='binary'``), or the largest overlapping BED score, 0.0 when none (``value='score'``).

    chrom/start/end: (N,) arrays. Contig names are compared by ``chrom_key`` ('chr1' = '1', 'chrM' = 'MT').
    Returns (N,) float64.
    """
    out = np.zeros(len(chrom), dtype=float)
    bare_q = np.array([chrom_key(c) for c in chrom], dtype=object)
    bare_b = bed["chrom"].map(chrom_key).to_numpy()
    for contig in np.unique(bare_q):
        qi = np.flatnonzero(bare_q == contig)
        iv = bed.loc[bare_b == contig]
        if iv.empty:
            continue
        order = np.argsort(iv["start"].to_numpy(), kind="stable")
        b_start = iv["start"].to_numpy()[order]
        b_end = iv["end"].to_numpy()[order]
        b_score = np.asarray(iv["score"], dtype=float)[order] if value == "score" else None
        # Intervals sorted by start: those starting before the query end are a prefix [0, hi); among them,
        # the running maximum of ends is non-decreasing, so those that can reach past the query start
        # begin at lo. Every overlapping interval lies in [lo, hi).
        run_max_end = np.maximum.accumulate(b_end)
        hi = np.searchsorted(b_start, end[qi], side="left")
        lo = np.searchsorted(run_max_end, start[qi], side="right")
        span = np.maximum(hi - lo, 0)
        if span.sum() == 0:
            continue
        owner = np.repeat(np.arange(len(qi)), span)
        cand = np.repeat(lo, span) + (np.arange(span.sum()) - np.repeat(np.cumsum(span) - span, span))
        hit = b_end[cand] > start[qi][owner]
        vals = np.ones(hit.sum()) if b_score is None else b_score[cand[hit]]
        res = np.full(len(qi), -np.inf)
        np.maximum.at(res, owner[hit], vals)
        out[qi] = np.where(np.isfinite(res), res, 0.0)
    return out


def _pair_tss(pairs: pd.DataFrame, genes: pd.DataFrame, where: str) -> np.ndarray:
    """(N,) int64 TSS (0-based) of each cleaned pair's gene; every gene must be in ``genes`` and on the
    pair's chromosome (gene chromosome names compared in the ``chr`` form, as the variant ids')."""
    table = genes.drop_duplicates("gene_id").set_index("gene_id")
    unknown = ~pairs["gene_id"].isin(table.index)
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise VarflowError(f"{where}: row {i}: gene_id {pairs['gene_id'].iloc[i]!r} is not in the gene table")
    located = table.loc[pairs["gene_id"]]
    elsewhere = chr_style_names(located["chrom"]).to_numpy() != pairs["chrom"].to_numpy()
    if elsewhere.any():
        i = int(np.flatnonzero(elsewhere)[0])
        raise VarflowError(f"{where}: row {i}: variant {pairs['variant_id'].iloc[i]} is on {pairs['chrom'].iloc[i]} "
                           f"but gene {pairs['gene_id'].iloc[i]} is on {located['chrom'].iloc[i]} in the gene table")
    return located["tss"].to_numpy(dtype=np.int64)


def _score_columns(df: pd.DataFrame, source: Source, keys: tuple[str, ...], where: Path) -> list[str]:
    cols = [c for c in df.columns if c not in keys]
    if source.columns is not None:
        cols = [c for c in cols if fnmatch.fnmatch(c, source.columns)]
    if not cols:
        raise VarflowError(f"{where}: source '{source.name}' has no score columns matching "
                           f"{source.columns or '*'}")
    return cols


def _source_features(pairs: pd.DataFrame, source: Source) -> tuple[dict[str, np.ndarray], list[str]]:
    """Raw feature arrays of one source for ``pairs`` and the names of gene-level columns among them."""
    feats: dict[str, np.ndarray] = {}
    gene_level: list[str] = []
    for suffix, path in source.files.items():
        stem = f"{source.name}__{suffix}" if suffix else source.name
        if source.type == "bed":
            bed = read_bed(path)
            s = pairs["pos"].to_numpy() - 1
            e = s + pairs["ref"].str.len().to_numpy()
            feats[stem] = bed_overlap(pairs["chrom"].to_numpy(), s - source.window, e + source.window,
                                      bed, source.value)
            continue
        if source.type == "variant_scores":
            table = _with_canonical_ids(read_table(path, "variant_scores"), path)
            keys = ("variant_id", "gene_id") if "gene_id" in table.columns else ("variant_id",)
        else:
            table = read_table(path, "gene_scores")
            keys = ("gene_id",)
        cols = _score_columns(table, source, keys, path)
        if table.duplicated(list(keys)).any():
            i = int(np.flatnonzero(table.duplicated(list(keys)).to_numpy())[0])
            raise VarflowError(f"{path}: row {i}: duplicate key {tuple(table.iloc[i][list(keys)])}")
        merged = pairs[list(keys)].merge(table[[*keys, *cols]], on=list(keys), how="left")
        for col in cols:
            name = f"{stem}__{col}"
            feats[name] = merged[col].to_numpy(dtype=float)
            if source.type == "gene_scores":
                gene_level.append(name)
    if source.abs and source.type != "bed":
        for name in list(feats):
            feats[f"{name}_abs"] = np.abs(feats[name])
            if name in gene_level:
                gene_level.append(f"{name}_abs")
    return feats, gene_level


def _with_canonical_ids(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``table`` with its variant_id column as ``chrN:pos:REF:ALT`` (GTEx and other spellings accepted)."""
    return table.assign(variant_id=canonical_variant_ids(table["variant_id"], str(path)))


def _maf(pairs: pd.DataFrame, config: EqtlConfig) -> np.ndarray:
    if "maf" in pairs.columns:
        return pairs["maf"].to_numpy(dtype=float)
    if config.allele_freq is None:
        return np.full(len(pairs), np.nan)
    af = _with_canonical_ids(read_table(config.allele_freq, "allele_freq"), config.allele_freq)
    af = af.drop_duplicates("variant_id")
    return pairs[["variant_id"]].merge(af[["variant_id", "maf"]], on="variant_id", how="left")["maf"].to_numpy()


def featurize(finemap: pd.DataFrame, genes: pd.DataFrame, config: EqtlConfig, *,
              contract: FeatureContract | None = None, where: str = "finemap"
              ) -> tuple[pd.DataFrame, FeatureContract]:
    """Features for every variant-gene pair of ``finemap`` (columns variant_id, gene_id, pip, cs[, maf]).

    ``genes``: gene_id, chrom ('1' or 'chr1'), tss (0-based bp); each pair's variant must lie on its
    gene's chromosome. With ``contract`` (from an earlier training frame) its imputation values are
    reused and its column order enforced; otherwise a new contract is made.
    Returns (features with KEY_COLUMNS first, contract).
    """
    pairs = clean_finemap(finemap, where)
    tss = _pair_tss(pairs, genes, where)
    len_ref = pairs["ref"].str.len().to_numpy()
    len_alt = pairs["alt"].str.len().to_numpy()
    with np.errstate(divide="ignore"):
        # pos is 1-based (VCF), tss 0-based: compare on the 0-based scale
        dist_log = np.log(np.abs(tss - (pairs["pos"].to_numpy() - 1)).astype(float))
    feats: dict[str, np.ndarray] = {
        "abs_distance_TSS_log": dist_log,
        "length_diff": (len_alt - len_ref).astype(float),
        "is_SNP": ((len_ref == 1) & (len_alt == 1)).astype(float),
        "is_indel": (len_ref != len_alt).astype(float),
        "is_insertion": (len_alt > len_ref).astype(float),
        "is_deletion": (len_ref > len_alt).astype(float),
        "MAF": _maf(pairs, config),
    }
    categories = {"abs_distance_TSS_log": "distance", "MAF": "allele_freq",
                  **{k: "variant_type" for k in ("length_diff", "is_SNP", "is_indel", "is_insertion",
                                                  "is_deletion")}}
    transforms = {"abs_distance_TSS_log": "ln|tss - (pos-1)|, 0 at the TSS",
                  "length_diff": "len(alt) - len(ref)", "MAF": "finemap maf or allele_freq; median-imputed"}
    impute_cols = ["MAF"]
    for source in config.sources:
        sf, gene_level = _source_features(pairs, source)
        clash = set(sf) & set(feats)
        if clash:
            raise VarflowError(f"{config.path}: source '{source.name}' makes duplicate feature(s) {sorted(clash)}")
        feats.update(sf)
        for name in sf:
            categories[name] = source.category
            transforms[name] = (f"{source.type} {source.value} overlap, window {source.window} bp"
                                if source.type == "bed" else f"{source.type}{' |x|' if name.endswith('_abs') else ''}")
        impute_cols += gene_level
    imputation = dict(contract.imputation) if contract is not None else {}
    for col in impute_cols:
        values = feats[col]
        if col not in imputation:
            finite = values[np.isfinite(values)]
            imputation[col] = float(np.median(finite)) if finite.size else 0.0
        feats[col] = np.where(np.isnan(values), imputation[col], values)
    for col, values in feats.items():
        feats[col] = np.where(np.isinf(values), 0.0, values)  # +-inf -> 0 (e.g. ln 0 at the TSS)
    columns = list(feats)
    new_contract = FeatureContract(columns=columns, categories=categories,
                                   transforms={c: transforms.get(c, "") for c in columns},
                                   imputation=imputation, config_name=config.name)
    key = pd.DataFrame({"variant_id": pairs["variant_id"].astype(str), "gene_id": pairs["gene_id"].astype(str),
                        "chrom": pairs["chrom"], "pos": pairs["pos"], "ref": pairs["ref"], "alt": pairs["alt"],
                        "pip": pairs["pip"].astype(float)})
    out = pd.concat([key, pd.DataFrame(feats, index=key.index)], axis=1)
    if contract is not None:
        contract.check(out, where)
        out = out[[*key.columns, *contract.columns]]
        new_contract = contract
    return out, new_contract


def read_genes(path: Path) -> pd.DataFrame:
    """The gene table (schema eqtl_genes), or the TSS of a GTF/GFF3/BED6 gene annotation's genes
    (``read_gene_tss``, protein-coding genes); integer chromosome names (a TSV column of 1, 2, ...) are
    read as text, which ``featurize`` puts in the ``chr`` form."""
    table = read_gene_tss(path) if annotation_kind(path) is not None else read_frame(path)
    if "chrom" in table.columns and pd.api.types.is_integer_dtype(table["chrom"]):
        table = table.assign(chrom=table["chrom"].astype(str))
    return validate(table, GENES, path)


def featurize_files(finemap: Path, genes: Path, config: EqtlConfig, *, contract: Path | None = None
                    ) -> tuple[pd.DataFrame, FeatureContract]:
    """``featurize`` on files: a fine-mapping table of any format ``read_finemap`` detects and a gene table."""
    fm = read_finemap(finemap)
    gn = read_genes(genes)
    existing = FeatureContract.load(contract) if contract is not None else None
    return featurize(fm, gn, config, contract=existing, where=str(finemap))
