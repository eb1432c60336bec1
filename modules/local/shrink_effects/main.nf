process SHRINK_EFFECTS {
    tag "${meta.id}"
    label 'process_medium'

    input:
    tuple val(meta), path(sumstats), path(block_ld)
    path model

    output:
    tuple val(meta), path("${prefix}.effects.parquet"), emit: effects
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    def model_arg = model ? "--model ${model}" : ''
    prefix = task.ext.prefix ?: "${meta.trait}.${meta.chrom}"
    """
    varflow shrink effects \\
        --sumstats ${sumstats} \\
        --block-ld ${block_ld} \\
        --trait ${meta.trait} \\
        --out ${prefix}.effects.parquet \\
        ${model_arg} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.trait}.${meta.chrom}"
    """
    touch ${prefix}.effects.parquet

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """
}
