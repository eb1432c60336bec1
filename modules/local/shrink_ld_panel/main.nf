process SHRINK_LD_PANEL {
    tag "${meta.id}"
    label 'process_medium'

    input:
    tuple val(meta), path(panel), path(panel_aux)

    output:
    tuple val(meta), path("${prefix}.blocks.parquet"), path("${prefix}.blocks.npz"), emit: blocks
    tuple val(meta), path("${prefix}.ld_band.npz"), emit: band
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    varflow shrink ld-panel \\
        --panel ${panel} \\
        --chrom ${meta.id} \\
        --out-blocks ${prefix}.blocks.parquet \\
        --out-ld ${prefix}.blocks.npz \\
        --out-band ${prefix}.ld_band.npz \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.blocks.parquet ${prefix}.blocks.npz ${prefix}.ld_band.npz

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """
}
