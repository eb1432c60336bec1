process S2E_VARIANT_EFFECTS {
    tag "${meta.id}"
    label 'process_gpu'

    input:
    tuple val(meta), path(shards), path(model)

    output:
    tuple val(meta), path("${prefix}.variant_scores.parquet"), emit: scores
    tuple val(meta), path("${prefix}.gxi_tracks.npz"), emit: tracks
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}_s2e"
    """
    varflow s2e variant-effects \\
        ${shards} \\
        --model ${model}/model.pt \\
        --out ${prefix}.variant_scores.parquet \\
        --tracks ${prefix}.gxi_tracks.npz \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}_s2e"
    """
    touch ${prefix}.variant_scores.parquet
    touch ${prefix}.gxi_tracks.npz

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        varflow: \$(varflow --version | sed 's/^varflow //')
    END_VERSIONS
    """
}
