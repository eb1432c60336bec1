"""Synthetic cohort with known truth: genome, genotypes, expression, fine-mapping, annotations, GWAS."""
