process SHRINK_PLOTS {
    tag "${meta.id}"
    label 'process_single'

    input:
    tuple val(meta), path(results)

    output:
    tuple val(meta), path("${prefix}"), emit: plots
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}_plots"
    """
    varflow shrink plots \\
        ${results} \\
        --outdir ${prefix} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}_plots"
    """
    mkdir -p ${prefix}
    touch ${prefix}/gene_qq.png

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """
}
