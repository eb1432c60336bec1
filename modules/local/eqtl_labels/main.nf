process EQTL_LABELS {
    tag "${meta.id}"
    label 'process_single'

    input:
    tuple val(meta), path(cohort)
    path config

    output:
    tuple val(meta), path("${prefix}/labels.parquet"), emit: labels
    tuple val(meta), path("${prefix}/folds.txt"), emit: folds
    tuple val(meta), path("${prefix}/negatives.json"), emit: negatives
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}_labels"
    """
    varflow eqtl labels \\
        --cohort ${cohort} \\
        --config ${config} \\
        --outdir ${prefix} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}_labels"
    """
    mkdir -p ${prefix}
    touch ${prefix}/labels.parquet
    echo chr1 > ${prefix}/folds.txt
    echo '{}' > ${prefix}/negatives.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """
}
