process EQTL_SEARCH {
    tag "${meta.id}:${chrom}"
    label 'process_medium'

    input:
    tuple val(meta), val(chrom), path(features), path(contract), path(labels)
    path config

    output:
    tuple val(meta), val(chrom), path("${prefix}/weights_${chrom}.json"), emit: weights
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}_search_${chrom}"
    """
    varflow eqtl search \\
        --features ${features} \\
        --contract ${contract} \\
        --labels ${labels} \\
        --config ${config} \\
        --chrom ${chrom} \\
        --threads ${task.cpus} \\
        --outdir ${prefix} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}_search_${chrom}"
    """
    mkdir -p ${prefix}
    touch ${prefix}/weights_${chrom}.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """
}
