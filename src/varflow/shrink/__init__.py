"""GWAS effect-size shrinkage with a neural-network ensemble, multi-trait clustering of the shrunk
effects and gene-level tests (a clean-room re-implementation of the ML-MAGES method).

Steps (each a function here, a ``varflow shrink <step>`` subcommand and a Nextflow process):
``ld-blocks`` (ldblocks.py), ``train`` (simulate_training.py + train.py), ``effects`` (effects.py,
enet.py), ``cluster`` (cluster.py), ``gene-test`` (genetest.py), ``multi-trait`` (multitrait.py),
``plots`` (plots.py); pipeline.py chains them in-process.
"""
