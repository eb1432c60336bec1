"""Table schemas of the shrink workflow's own artifacts (the shared ones live in varflow.io.schemas)."""

from __future__ import annotations

from varflow.io.schemas import Column, TableSchema

LD_BLOCKS = TableSchema(
    "shrink_ld_blocks",
    (
        Column("CHR", "str"),
        Column("block", "int", "block index within the chromosome, 0-based"),
        Column("start", "int", "first SNP index of the block in the chromosome's LD order"),
        Column("end", "int", "one past the last SNP index"),
        Column("n_snps", "int"),
        Column("pos_start", "int", "1-based bp of the first SNP"),
        Column("pos_end", "int", "1-based bp of the last SNP"),
    ),
    "Approximately independent LD blocks of one chromosome.",
)

EFFECTS = TableSchema(
    "shrink_effects",
    (
        Column("TRAIT", "str", "trait name"), Column("CHR", "str"), Column("SNP", "str"), Column("POS", "int", "1-based bp"),
        Column("A1", "str", "effect allele (the LD panel's a1)"), Column("A2", "str"),
        Column("BETA", "float", "GWAS beta_hat aligned to A1"), Column("SE", "float"),
        Column("BETA_SHRUNK", "float", "shrunk effect (block posterior mean under the ensemble's prior, or elastic net)"),
        Column("block", "int", "LD block index within the chromosome"),
        Column("ld_index", "int", "SNP index in the chromosome's full LD order"),
    ),
    "Shrunk effect sizes of one trait, SNPs in LD order.",
    optional=(Column("PRIOR_VAR", "float", "the prior variance of the joint effect that the block posterior "
                     "used (the ensemble's after one EM step), z units^2 (nn only; the gene test's conditional "
                     "null needs it)"),),
)

CLUSTERS = TableSchema(
    "shrink_clusters",
    (
        Column("CHR", "str"), Column("SNP", "str"), Column("POS", "int"),
        Column("cluster", "int", "component index ordered by trace(Sigma) descending; -1 = not clustered"),
    ),
    "Cluster label of every SNP; one BETA_SHRUNK_<trait> column per trait.",
    extra="float",
    optional=(Column("ld_index", "int", "SNP index in the chromosome's full LD order"),),
)

GENE_TESTS = TableSchema(
    "shrink_gene_tests",
    (
        Column("TRAIT", "str"), Column("gene", "str"), Column("CHR", "str"),
        Column("n_snps", "int"),
        Column("T", "float", "shrunk statistic: sum of squared shrunk effects over the gene's SNPs "
               "(NaN: gene has no SNPs)", nullable=True),
        Column("P", "float", "P(T_null >= T), null beta ~ N(0, eps R_g) (NaN: gene has no SNPs)", nullable=True),
        Column("Q", "float", "Benjamini-Hochberg q-value of P over the tested genes", nullable=True),
        Column("T_RAW", "float", "raw statistic: sum of squared marginal z = BETA/SE over the gene's SNPs",
               nullable=True),
        Column("P_RAW", "float", "P(T_RAW_null >= T_RAW), null z ~ N(0, R_g)", nullable=True),
        Column("Q_RAW", "float", "Benjamini-Hochberg q-value of P_RAW over the tested genes", nullable=True),
        Column("T_COND", "float", "conditional statistic: sum of squared (z - R_go zeta_o), the gene's z less what the "
               "other SNPs' shrunk effects (zeta = BETA_SHRUNK/SE) predict through LD", nullable=True),
        Column("P_COND", "float", "P(T_COND_null >= T_COND), null z_g - R_go zeta_o ~ N(0, R_g)", nullable=True),
        Column("Q_COND", "float", "Benjamini-Hochberg q-value of P_COND over the tested genes", nullable=True),
        Column("report_statistic", "str", "conditional | raw | shrunk: the statistic that feeds the report and plots"),
    ),
    "Gene-level tests of one trait: the method's shrunk statistic, the calibrated raw and conditional ones.",
    optional=(Column("eps", "float"), Column("SNP_START", "int"), Column("SNP_END", "int")),
)

MULTITRAIT_GENES = TableSchema(
    "shrink_multitrait_genes",
    (Column("gene", "str"), Column("CHR", "str"), Column("n_snps", "int")),
    "Per-gene cluster fractions (frac_c<k>), mean products (prod_c<k>_<t1>_<t2>) and "
    "sums of |effect| by association type (sum_abs_<type>_<trait>).",
    extra="float",
)

CLUSTER_TYPES = TableSchema(
    "shrink_cluster_types",
    (
        Column("cluster", "int"), Column("weight", "float", "mixture weight"),
        Column("type", "str", "specific_<trait> | shared"),
        Column("eig_ratio", "float", "largest / second-largest eigenvalue of Sigma_k"),
        Column("angle_deg", "float", "angle of the main axis to the nearest trait axis, degrees"),
    ),
    "Association type of each multi-trait cluster from the eigen-structure of its covariance.",
)
