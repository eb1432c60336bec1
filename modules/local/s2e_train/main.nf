process S2E_TRAIN {
    tag "${meta.id}"
    label 'process_gpu'

    input:
    tuple val(meta), path(shards), path(expression)

    output:
    tuple val(meta), path("${prefix}"), emit: model
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}_model"
    """
    varflow s2e train \\
        ${shards} \\
        --expression ${expression} \\
        --outdir ${prefix} \\
        --num-workers ${task.cpus} \\
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
    touch ${prefix}/model.pt
    touch ${prefix}/splits.json
    touch ${prefix}/history.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """
}
