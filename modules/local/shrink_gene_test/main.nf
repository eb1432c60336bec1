process SHRINK_GENE_TEST {
    tag "${meta.id}"
    label 'process_medium'

    input:
    tuple val(meta), path(effects), path(cluster_model)
    path ld
    path ld_snps
    path genes

    output:
    tuple val(meta), path("${prefix}.gene_tests.parquet"), emit: tests
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    varflow shrink gene-test \\
        ${effects} \\
        ${ld} \\
        --genes ${genes} \\
        --cluster-model ${cluster_model} \\
        --out ${prefix}.gene_tests.parquet \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.gene_tests.parquet

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """
}
