"""Table schemas of the eqtl workflow's own artifacts (features, labels, held-out predictions, scores)."""

from __future__ import annotations

from varflow.io.schemas import Column, TableSchema

KEY_COLUMNS = ("variant_id", "gene_id", "chrom", "pos", "ref", "alt", "pip")

GENES = TableSchema(
    "eqtl_genes", (Column("gene_id", "str"), Column("chrom", "str", "'1' or 'chr1', 'MT' or 'chrM'"),
                    Column("tss", "int", "0-based bp")),
    "Genes: the TSS, and the chromosome every variant of the gene must lie on (the shared 'genes' table "
    "satisfies this).",
)

FEATURES = TableSchema(
    "eqtl_features",
    (Column("variant_id", "str", "chrN:pos:ref:alt, pos 1-based"), Column("gene_id", "str"),
     Column("chrom", "str"), Column("pos", "int", "1-based"), Column("ref", "str"), Column("alt", "str"),
     Column("pip", "float", "fine-mapping PIP (NaN when unknown)", nullable=True)),
    "One row per variant-gene pair: key columns then the feature columns named by the feature contract.",
    extra="float",
)

LABELS = TableSchema(
    "eqtl_labels",
    (Column("variant_id", "str"), Column("gene_id", "str"), Column("chrom", "str"),
     Column("set", "str", "'train' or 'test'"), Column("label", "int", "1 positive, 0 negative"),
     Column("weight", "float", "sample weight; positives pip*N_neg/sum(pip_pos), negatives 1"),
     Column("pip", "float"), Column("vtype", "str", "snv | insertion | deletion | mnv")),
    "Training and test examples; a negative drawn with replacement appears once per draw.",
)

HELDOUT = TableSchema(
    "eqtl_heldout_predictions",
    (Column("variant_id", "str"), Column("gene_id", "str"), Column("chrom", "str"),
     Column("label", "int"), Column("pip", "float"), Column("is_SNP", "float"),
     Column("abs_distance_TSS_log", "float"),
     Column("prob_weighted", "float", "P(causal) from the category-weighted model"),
     Column("prob_unweighted", "float", "P(causal) from the unweighted model (NaN in a fold trained with searched "
            "weights, which fits the weighted model only)", nullable=True)),
    "Test-set rows of one held-out chromosome scored by the models that never saw that chromosome.",
)

PREDICTIONS = TableSchema(
    "eqtl_predictions",
    (Column("variant_id", "str"), Column("gene_id", "str"), Column("chrom", "str"), Column("pos", "int"),
     Column("ref", "str"), Column("alt", "str"), Column("pip", "float", nullable=True),
     Column("pred_probability", "float"), Column("model", "str", "model file that scored the row")),
    "Scored variant-gene pairs, sorted by chrom and position.",
)
