process SHRINK_LD_BLOCKS {
    tag "${meta.id}"
    label 'process_medium'

    input:
    tuple val(meta), path(ld), path(snps)

    output:
    tuple val(meta), path("${prefix}.blocks.parquet"), path("${prefix}.blocks.npz"), emit: blocks
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    def snp_list = snps ? "--snps ${snps}" : ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    varflow shrink ld-blocks \\
        --ld ${ld} \\
        ${snp_list} \\
        --chrom ${meta.id} \\
        --out-blocks ${prefix}.blocks.parquet \\
        --out-ld ${prefix}.blocks.npz \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.blocks.parquet ${prefix}.blocks.npz

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """
}
