process SHRINK_CLUSTER {
    tag "${meta.id}"
    label 'process_medium'

    input:
    tuple val(meta), path(effects)

    output:
    tuple val(meta), path("${prefix}.clusters.parquet"), path("${prefix}.model.json"), emit: clusters
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    varflow shrink cluster \\
        ${effects} \\
        --out ${prefix}.clusters.parquet \\
        --out-model ${prefix}.model.json \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.clusters.parquet ${prefix}.model.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """
}
