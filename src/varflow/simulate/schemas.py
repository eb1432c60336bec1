"""Schemas of the simulator's own truth tables (the shared ones live in ``varflow.io.schemas``)."""

from __future__ import annotations

from varflow.io.schemas import Column, TableSchema

ELEMENTS = TableSchema(
    "sim_elements",
    (
        Column("element_id", "str", "<gene_id>_p0 for the promoter, <gene_id>_e<i> for enhancers"),
        Column("chrom", "str"),
        Column("start", "int", "0-based bp"),
        Column("end", "int", "exclusive"),
        Column("gene_id", "str", "the gene whose expression the element drives"),
        Column("kind", "str", "promoter | enhancer"),
        Column("strength", "float", "multiplier of the element's motif activity (promoter 1.0)"),
    ),
    "Simulator truth: regulatory elements planted around each TSS.",
)

MOTIF_INSTANCES = TableSchema(
    "sim_motif_instances",
    (
        Column("chrom", "str"),
        Column("start", "int", "0-based bp"),
        Column("end", "int", "exclusive"),
        Column("motif", "str", "name in varflow.simulate.motifs.MOTIFS"),
        Column("strand", "str", "'+' or '-'"),
        Column("gene_id", "str"),
        Column("element_id", "str"),
        Column("designed", "bool", "written over a causal SNV (break or gain)"),
    ),
    "Simulator truth: motif instances written into the reference.",
)
