process EQTL_FEATURIZE {
    tag "${meta.id}"
    label 'process_low'

    input:
    tuple val(meta), path(cohort), path(extra_scores)
    path config

    output:
    tuple val(meta), path("${prefix}/features.parquet"), path("${prefix}/contract.json"), emit: features
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    // extra_scores: a variant_scores Parquet (the s2e variant effects) or [] for none
    def extra_arg = extra_scores ? "--extra-scores ${extra_scores}" : ''
    prefix = task.ext.prefix ?: "${meta.id}_features"
    """
    varflow eqtl featurize \\
        --cohort ${cohort} \\
        --config ${config} \\
        --outdir ${prefix} \\
        ${extra_arg} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}_features"
    """
    mkdir -p ${prefix}
    touch ${prefix}/features.parquet ${prefix}/contract.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """
}
