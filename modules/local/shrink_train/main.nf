process SHRINK_TRAIN {
    tag "${meta.id}"
    label 'process_gpu'

    input:
    tuple val(meta), path(block_ld)

    output:
    tuple val(meta), path("${prefix}"), emit: model
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}_model"
    """
    varflow shrink train \\
        ${block_ld} \\
        --outdir ${prefix} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}_model"
    """
    mkdir -p ${prefix}
    touch ${prefix}/weights.npz ${prefix}/ensemble.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """
}
