process SIMULATE_COHORT {
    tag "${meta.id}"
    label 'process_medium'

    input:
    val meta
    val seed
    val preset

    output:
    tuple val(meta), path("${prefix}"), emit: cohort
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    varflow simulate cohort \\
        --outdir ${prefix} \\
        --seed ${seed} \\
        --preset ${preset} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir -p ${prefix}
    touch ${prefix}/cohort.yaml

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """
}
