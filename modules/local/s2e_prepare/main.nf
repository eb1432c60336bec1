process S2E_PREPARE {
    tag "${meta.id}:${chrom}"
    label 'process_medium'

    input:
    tuple val(meta), val(chrom), path(vcf), path(tbi), path(reference), path(fai), path(genes)

    output:
    tuple val(meta), path("${prefix}/${chrom}.npz"), emit: shard
    tuple val(meta), path("${prefix}/${chrom}.stats.json"), emit: stats
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "store"
    """
    varflow s2e prepare \\
        --vcf ${vcf} \\
        --reference ${reference} \\
        --genes ${genes} \\
        --chrom ${chrom} \\
        --outdir ${prefix} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "store"
    """
    mkdir -p ${prefix}
    touch ${prefix}/${chrom}.npz
    touch ${prefix}/${chrom}.stats.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """
}
