process EQTL_TRAIN {
    tag "${meta.id}:${chrom}"
    label 'process_gpu'

    input:
    tuple val(meta), val(chrom), path(features), path(contract), path(labels)
    path config

    output:
    tuple val(meta), path("${prefix}"), emit: fold
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}_train_${chrom}"
    """
    varflow eqtl train \\
        --features ${features} \\
        --contract ${contract} \\
        --labels ${labels} \\
        --config ${config} \\
        --chrom ${chrom} \\
        --threads ${task.cpus} \\
        --outdir ${prefix} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}_train_${chrom}"
    """
    mkdir -p ${prefix}
    touch ${prefix}/contract.json ${prefix}/model_${chrom}_weighted.cbm ${prefix}/heldout_${chrom}.parquet

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """
}
