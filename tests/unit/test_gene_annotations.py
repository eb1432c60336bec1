"""Gene annotations as they come (GTF, GFF3, BED) read into one gene table, and their bad input."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from varflow.errors import VarflowError
from varflow.io.gene_annotations import read_gene_annotation
from varflow.shrink.inputs import gene_rows, read_genes

GTF = "\n".join([
    "##description: a GENCODE-like excerpt",
    'chr22\tHAVANA\tgene\t1001\t2000\t.\t+\t.\tgene_id "ENSG1.1"; gene_type "protein_coding"; gene_name "AAA";',
    'chr22\tHAVANA\ttranscript\t1001\t2000\t.\t+\t.\tgene_id "ENSG1.1"; transcript_id "ENST1.1";',
    'chr22\tHAVANA\tgene\t3001\t4000\t.\t-\t.\tgene_id "ENSG2.1"; gene_type "lncRNA"; gene_name "BBB";',
    'chr22\tENSEMBL\tgene\t5001\t6500\t.\t+\t.\tgene_id "ENSG3.1"; gene_type "protein_coding"; gene_name "CCC";',
]) + "\n"
GFF3 = "\n".join([
    "##gff-version 3",
    "22\tensembl\tgene\t1001\t2000\t.\t+\t.\tID=gene:ENSG1;Name=AAA;biotype=protein_coding",
    "22\tensembl\tmRNA\t1001\t2000\t.\t+\t.\tID=transcript:ENST1;Parent=gene:ENSG1",
    "22\tensembl\tgene\t5001\t6500\t.\t+\t.\tID=gene:ENSG3;Name=CCC;biotype=protein_coding",
]) + "\n"


def test_gtf_gff3_and_bed_give_the_same_genes(tmp_path):
    with gzip.open(tmp_path / "genes.gtf.gz", "wt") as fh:
        fh.write(GTF)
    (tmp_path / "genes.gff3").write_text(GFF3)
    (tmp_path / "genes.bed").write_text("chr22\t1000\t2000\tENSG1\nchr22\t5000\t6500\tENSG3\n")
    gtf = read_gene_annotation(tmp_path / "genes.gtf.gz")
    assert gtf["gene"].tolist() == ["ENSG1.1", "ENSG3.1"] and gtf["gene_name"].tolist() == ["AAA", "CCC"]
    assert gtf["START"].tolist() == [1001, 5001] and gtf["END"].tolist() == [2000, 6500]
    assert read_gene_annotation(tmp_path / "genes.gtf.gz", biotypes=None)["gene"].tolist() == \
        ["ENSG1.1", "ENSG2.1", "ENSG3.1"]
    gff = read_gene_annotation(tmp_path / "genes.gff3")
    assert gff["gene"].tolist() == ["ENSG1", "ENSG3"] and gff["CHR"].tolist() == ["22", "22"]
    bed = read_genes(tmp_path / "genes.bed")  # 0-based half-open -> 1-based inclusive
    assert bed[["START", "END"]].values.tolist() == gtf[["START", "END"]].values.tolist()
    # the SNPs of a gene are the same whichever file described it
    table = pd.DataFrame({"CHR": "chr22", "POS": [1000, 1001, 2000, 2001, 5001, 6500, 6501], "ld_index": range(7)})
    for path in ("genes.gtf.gz", "genes.gff3", "genes.bed"):
        assert [list(r) for r in gene_rows(read_genes(tmp_path / path), table)] == [[1, 2], [4, 5]]


@pytest.mark.parametrize("name, text, message", [
    ("bad.gtf", "chr22\tx\tgene\t10\n", "9 tab-separated columns, found 4"),
    ("bad.gtf", 'chr22\tx\tgene\t20\t10\t.\t+\t.\tgene_id "G"; gene_type "protein_coding";\n',
     "gene record 1: bad coordinates start='20' end='10'"),
    ("bad.gtf", 'chr22\tx\tgene\t1\t10\t.\t+\t.\tgene_type "protein_coding";\n', "gene record 1 has no gene ID"),
    ("bad.gtf", 'chr22\tx\tgene\t1\t10\t.\t+\t.\tgene_id "G"; gene_type "lncRNA";\n',
     "no gene of biotype protein_coding \\(biotypes found: lncRNA\\)"),
    ("bad.gff3", "22\tx\texon\t1\t10\t.\t+\t.\tID=e1\n", "no 'gene' records"),
    ("bad.bed", "chr22\t100\t50\tG\n", "line 1: bad coordinates"),
])
def test_bad_annotations_name_file_and_record(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(VarflowError, match=message) as err:
        read_genes(tmp_path / name)
    assert str(tmp_path / name) in str(err.value)
