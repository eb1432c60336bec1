"""Table schemas of the s2e workflow's own artifacts (the shared ones live in varflow.io.schemas)."""

from varflow.io.schemas import Column, TableSchema

GENE_METRICS = TableSchema(
    "s2e_gene_metrics", (
        Column("gene_id", "str"), Column("gene_split", "str", "train | val | test (chromosome split)"),
        Column("n_variants", "int", "variants applied in the gene window"),
        Column("pearson_model", "float", "per-gene Pearson r over test individuals", nullable=True),
        Column("mean_observed", "float", "gene mean over training individuals"),
        Column("mean_predicted", "float", "personal model's prediction of the gene mean from the reference"),
    ), "Held-out evaluation of the personal model per gene.",
    optional=(Column("pearson_enet", "float", nullable=True), Column("enet_variants", "int"),
              Column("mean_predicted_reference", "float", "reference model's prediction of the gene mean")))

PREDICTIONS = TableSchema(
    "s2e_predictions", (
        Column("gene_id", "str"), Column("individual", "str"),
        Column("observed", "float", "z-scored deviation (training-individual mean and sd)"),
        Column("predicted", "float", "personal-model deviation"),
    ), "Per (gene, test individual) observed and predicted deviation.",
    optional=(Column("enet_pred", "float"), Column("enet_variants", "int"),
              Column("enet_alpha", "float", nullable=True)))
