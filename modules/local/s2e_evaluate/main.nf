process S2E_EVALUATE {
    tag "${meta.id}"
    label 'process_gpu'

    input:
    tuple val(meta), path(shards), path(expression), path(model)

    output:
    tuple val(meta), path("${prefix}"), emit: evaluation
    tuple val(meta), path("${prefix}/metrics.json"), emit: metrics
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}_evaluation"
    """
    varflow s2e evaluate \\
        ${shards} \\
        --expression ${expression} \\
        --model ${model}/model.pt \\
        --outdir ${prefix} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}_evaluation"
    """
    mkdir -p ${prefix}
    touch ${prefix}/gene_metrics.parquet
    touch ${prefix}/predictions.parquet
    echo '{}' > ${prefix}/metrics.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """
}
