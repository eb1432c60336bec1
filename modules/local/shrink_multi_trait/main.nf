process SHRINK_MULTI_TRAIT {
    tag "${meta.id}"
    label 'process_single'

    input:
    tuple val(meta), path(clusters), path(cluster_model)
    path genes

    output:
    tuple val(meta), path("${prefix}.genes.parquet"), path("${prefix}.cluster_types.parquet"), emit: summary
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    varflow shrink multi-trait \\
        --clusters ${clusters} \\
        --cluster-model ${cluster_model} \\
        --genes ${genes} \\
        --out-genes ${prefix}.genes.parquet \\
        --out-types ${prefix}.cluster_types.parquet \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.genes.parquet ${prefix}.cluster_types.parquet

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """
}
