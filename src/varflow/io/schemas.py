"""Table schemas, declared once. Every Parquet artifact names one of these.

Logical dtypes: ``str`` (text), ``int`` (any integer), ``float`` (any real number, NaN allowed only
where ``nullable``), ``bool``. ``extra`` gives the dtype that any further column must have (e.g. the
sample columns of an expression matrix), or None when further columns are free.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # "str" | "int" | "float" | "bool"
    description: str = ""
    nullable: bool = False


@dataclass(frozen=True)
class TableSchema:
    name: str
    columns: tuple[Column, ...]
    description: str = ""
    extra: str | None = None
    optional: tuple[Column, ...] = field(default=())

    @property
    def required_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _schema(name: str, description: str, columns: list[Column], extra: str | None = None,
            optional: list[Column] | None = None) -> TableSchema:
    return TableSchema(name, tuple(columns), description, extra, tuple(optional or ()))


SCHEMAS: dict[str, TableSchema] = {
    s.name: s
    for s in [
        _schema("genes", "One row per gene; coordinates 0-based, half-open, on the reference FASTA.", [
            Column("gene_id", "str"), Column("chrom", "str"),
            Column("tss", "int", "transcription start site, 0-based bp"),
            Column("strand", "str", "'+' or '-'"),
            Column("start", "int", "gene body start, 0-based bp"), Column("end", "int", "gene body end, exclusive"),
        ]),
        _schema("expression", "Genes x individuals; one float column per VCF sample (log-scale expression).",
                [Column("gene_id", "str")], extra="float"),
        _schema("causal_variants", "Simulator truth: variants with a real cis effect on a gene.", [
            Column("variant_id", "str", "chrN:pos:ref:alt, pos 1-based"), Column("gene_id", "str"),
            Column("effect", "float", "change in expression per alt allele (expression units)"),
            Column("mechanism", "str", "motif_break | motif_gain"),
            Column("motif", "str", "name of the motif broken or created"),
        ]),
        _schema("finemap", "Fine-mapping of every cis variant of each gene.", [
            Column("variant_id", "str", "chrN:pos:ref:alt, pos 1-based"), Column("gene_id", "str"),
            Column("pip", "float", "posterior inclusion probability in [0, 1]"),
            Column("cs", "int", "0 = in no 95% credible set, else the credible-set index within the gene"),
        ], optional=[Column("betahat", "float"), Column("se", "float"), Column("maf", "float")]),
        _schema("variant_scores", "Per-variant score columns keyed by variant_id (optionally per gene).",
                [Column("variant_id", "str")], extra="float",
                optional=[Column("gene_id", "str")]),
        _schema("gene_scores", "Per-gene score columns (e.g. constraint), keyed by gene_id.",
                [Column("gene_id", "str")], extra="float"),
        _schema("allele_freq", "Minor allele frequency per variant.", [
            Column("variant_id", "str"), Column("maf", "float", "minor allele frequency in [0, 0.5]"),
        ]),
        _schema("sumstats", "GWAS summary statistics of one trait.", [
            Column("CHR", "str"), Column("SNP", "str"), Column("POS", "int", "1-based bp"),
            Column("A1", "str", "effect allele"), Column("A2", "str", "other allele"),
            Column("BETA", "float", "per-allele effect of A1 on the standardised trait"),
            Column("SE", "float", "standard error of BETA, > 0"),
        ], optional=[Column("N", "int", "sample size")]),
        _schema("gwas_genes", "Genes for gene-level GWAS tests with their SNP index ranges in the LD panel.", [
            Column("gene", "str"), Column("CHR", "str"),
            Column("START", "int", "1-based bp"), Column("END", "int", "1-based bp, inclusive"),
        ], optional=[Column("SNP_START", "int", "first SNP index in the chromosome's LD order"),
                     Column("SNP_END", "int", "one past the last SNP index")]),
        _schema("gwas_truth", "Simulator truth for the GWAS: true per-SNP effects, one column per trait.", [
            Column("CHR", "str"), Column("SNP", "str"), Column("POS", "int"),
        ], extra="float"),
    ]
}
