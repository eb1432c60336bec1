"""Causal eQTL prediction: feature-weighted CatBoost with leave-one-chromosome-out evaluation.

Clean-room re-implementation of the scEEMS/GEMS method from its published description. Steps, each a
pure function and a ``varflow eqtl`` subcommand: featurize -> labels -> train -> evaluate -> predict.
Everything that varies between cell types (annotation sources, their categories and weights, CatBoost
parameters, label thresholds) lives in a YAML config (``varflow.eqtl.config``).
"""
