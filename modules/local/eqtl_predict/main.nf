process EQTL_PREDICT {
    tag "${meta.id}"
    label 'process_low'

    input:
    tuple val(meta), path(features), path(contract), path(folds)

    output:
    tuple val(meta), path("${prefix}.parquet"), emit: parquet
    tuple val(meta), path("${prefix}.tsv.gz"), path("${prefix}.tsv.gz.tbi"), emit: tsv
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}_predictions"
    """
    varflow eqtl predict \\
        --features ${features} \\
        --contract ${contract} \\
        --out ${prefix} \\
        ${args} \\
        ${folds}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}_predictions"
    """
    touch ${prefix}.parquet ${prefix}.tsv.gz ${prefix}.tsv.gz.tbi

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """
}
