process EQTL_EVALUATE {
    tag "${meta.id}"
    label 'process_low'

    input:
    tuple val(meta), path(folds)

    output:
    tuple val(meta), path("${prefix}/metrics.json"), emit: metrics
    tuple val(meta), path("${prefix}/*.png"), emit: plots
    tuple val(meta), path("${prefix}/shap_by_category.parquet"), emit: shap_by_category
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}_evaluate"
    """
    varflow eqtl evaluate \\
        --outdir ${prefix} \\
        ${args} \\
        ${folds}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}_evaluate"
    """
    mkdir -p ${prefix}
    touch ${prefix}/metrics.json ${prefix}/curves.png ${prefix}/importance_by_category.png ${prefix}/shap_by_category.parquet

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """
}
