process S2E_VARIANT_TRUTH {
    tag "${meta.id}"
    label 'process_single'

    input:
    tuple val(meta), path(scores), path(truth)

    output:
    tuple val(meta), path("${prefix}.variant_truth.json"), emit: summary
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}_s2e"
    """
    varflow s2e variant-truth \\
        --scores ${scores} \\
        --truth ${truth} \\
        --out ${prefix}.variant_truth.json \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}_s2e"
    """
    touch ${prefix}.variant_truth.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """
}
