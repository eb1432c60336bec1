process EQTL_TRAIN {
    tag "${meta.id}:${chrom}"
    label 'process_gpu'

    input:
    tuple val(meta), val(chrom), path(features), path(contract), path(labels), path(weights)
    path config

    output:
    tuple val(meta), path("${prefix}"), emit: fold
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    // weights: the fold's weights_<chrom>.json from EQTL_SEARCH, or [] for the config's fixed weights
    def weights_arg = weights ? "--weights ${weights}" : ''
    def kind = weights ? '_searched' : ''
    prefix = task.ext.prefix ?: "${meta.id}_train_${chrom}${kind}"
    """
    varflow eqtl train \\
        --features ${features} \\
        --contract ${contract} \\
        --labels ${labels} \\
        --config ${config} \\
        --chrom ${chrom} \\
        --threads ${task.cpus} \\
        --outdir ${prefix} \\
        ${weights_arg} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """

    stub:
    def kind = weights ? '_searched' : ''
    prefix = task.ext.prefix ?: "${meta.id}_train_${chrom}${kind}"
    """
    mkdir -p ${prefix}
    touch ${prefix}/contract.json ${prefix}/model_${chrom}_weighted.cbm ${prefix}/heldout_${chrom}.parquet

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """
}
