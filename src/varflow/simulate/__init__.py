"""Synthetic cohort with known truth: genome, genotypes, expression, fine-mapping, annotations, GWAS."""

import logging

# msprime logs every replicate at INFO; under varflow's INFO logging that drowns the useful lines.
logging.getLogger("msprime").setLevel(logging.WARNING)
