"""``varflow run`` on a cohort whose files come as real tools write them gives the native results: the
tiny cohort with its gene table as a GENCODE-like GTF, its expression as a bgzipped phenotype BED
(tensorQTL layout) and its fine-mapping as a susieR TSV with GTEx variant ids, run with the same seed
and sizes as ``tiny_results`` (the native files)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pysam
import pytest
import yaml

from varflow.pipelines import run_all


def _gtf(genes: pd.DataFrame, path) -> None:
    """Gene records (1-based inclusive, chromosome names without 'chr') plus a lncRNA gene the default
    protein-coding filter drops."""
    rows = [f'{g.chrom.removeprefix("chr")}\tHAVANA\tgene\t{g.start + 1}\t{g.end}\t.\t{g.strand}\t.\t'
            f'gene_id "{g.gene_id}"; gene_type "protein_coding"; gene_name "N{g.gene_id}";'
            for g in genes.itertuples()]
    rows.append('1\tHAVANA\tgene\t100\t200\t.\t+\t.\tgene_id "LNC1"; gene_type "lncRNA";')
    path.write_text("\n".join(rows) + "\n")


def _phenotype_bed(genes: pd.DataFrame, expr: pd.DataFrame, path) -> None:
    """#chr start end phenotype_id sample..., one row per gene at its TSS, sorted, bgzipped + tabix."""
    bed = genes[["chrom", "tss", "gene_id"]].merge(expr, on="gene_id")
    bed.insert(2, "end", bed["tss"] + 1)
    bed = bed.rename(columns={"chrom": "#chr", "tss": "start", "gene_id": "phenotype_id"})
    bed = bed.sort_values(["#chr", "start"])
    plain = path.with_suffix("")
    bed.to_csv(plain, sep="\t", index=False)
    pysam.tabix_compress(str(plain), str(path), force=True)
    pysam.tabix_index(str(path), preset="bed", force=True)
    plain.unlink()


def _susie_tsv(fm: pd.DataFrame, path) -> None:
    """susieR-derived table: molecular_trait_id, GTEx ids ``chrN_pos_ref_alt_b38``, cs ``L<k>`` / NA."""
    parts = fm["variant_id"].str.split(":", expand=True)
    gtex = parts[0] + "_" + parts[1] + "_" + parts[2] + "_" + parts[3] + "_b38"
    pd.DataFrame({"molecular_trait_id": fm["gene_id"], "variant_id": gtex, "pip": fm["pip"],
                  "cs": np.where(fm["cs"] > 0, "L" + fm["cs"].astype(str), "NA"), "maf": fm["maf"],
                  "betahat": fm["betahat"], "se": fm["se"]}).to_csv(path, sep="\t", index=False)


@pytest.fixture(scope="module")
def converted(tiny_results, tmp_path_factory):
    out = tmp_path_factory.mktemp("real_formats")
    cohort = out / "cohort"
    shutil.copytree(tiny_results / "cohort", cohort)
    doc = yaml.safe_load((cohort / "cohort.yaml").read_text())
    files = doc["files"]
    genes = pd.read_parquet(cohort / files["genes"])
    _gtf(genes, cohort / "genes.gtf")
    _phenotype_bed(genes, pd.read_parquet(cohort / files["expression"]), cohort / "expression.bed.gz")
    _susie_tsv(pd.read_parquet(cohort / files["finemap"]), cohort / "susie.tsv")
    for key in ("genes", "expression", "finemap"):
        (cohort / files[key]).unlink()
    files.update(genes="genes.gtf", expression="expression.bed.gz", finemap="susie.tsv")
    (cohort / "cohort.yaml").write_text(yaml.safe_dump(doc))
    run_all(out, cohort=cohort, seed=3, device="cpu", quick=True)
    return out


def test_s2e_and_eqtl_give_the_native_results(converted, tiny_results):
    native_genes = pd.read_parquet(tiny_results / "s2e" / "evaluate" / "gene_metrics.parquet")
    got_genes = pd.read_parquet(converted / "s2e" / "evaluate" / "gene_metrics.parquet")
    pd.testing.assert_frame_equal(got_genes, native_genes, rtol=1e-5)
    assert len(got_genes) == len(native_genes) > 0 and got_genes["pearson_model"].notna().any()
    native_eqtl = json.loads((tiny_results / "eqtl" / "evaluate" / "metrics.json").read_text())["pooled"]
    got_eqtl = json.loads((converted / "eqtl" / "evaluate" / "metrics.json").read_text())["pooled"]
    assert got_eqtl == native_eqtl
    features = [pd.read_parquet(root / "eqtl" / "features" / "features.parquet") for root in (tiny_results, converted)]
    pd.testing.assert_frame_equal(features[1], features[0])
