/*
 * S2E: personal-genome sequence-to-expression models (the SAGE-net method).
 * prepare is scattered by chromosome (one VCF pass each); the shards of a cohort are gathered for
 * train, evaluate and variant-effects, which run under label 'process_gpu'; a cohort with simulated
 * truth also scores the variant effects against its causal variant-gene pairs.
 */

include { S2E_PREPARE         } from '../../../modules/local/s2e_prepare/main'
include { S2E_TRAIN           } from '../../../modules/local/s2e_train/main'
include { S2E_EVALUATE        } from '../../../modules/local/s2e_evaluate/main'
include { S2E_VARIANT_EFFECTS } from '../../../modules/local/s2e_variant_effects/main'
include { S2E_VARIANT_TRUTH   } from '../../../modules/local/s2e_variant_truth/main'

workflow S2E {
    take:
    ch_inputs // channel: [ val(meta), path(vcf), path(tbi), path(reference), path(fai), path(genes), path(expression) ]
    ch_chroms // channel: val(chromosome name), one item per chromosome to prepare
    ch_truth  // channel: [ val(meta), path(causal_variants) ], only for cohorts with simulated truth

    main:
    ch_prepare = ch_inputs
        .combine(ch_chroms)
        .map { meta, vcf, tbi, reference, fai, genes, _expression, chrom -> [meta, chrom, vcf, tbi, reference, fai, genes] }
    S2E_PREPARE(ch_prepare)

    ch_shards = S2E_PREPARE.out.shard.groupTuple()
    ch_expression = ch_inputs.map { meta, _vcf, _tbi, _reference, _fai, _genes, expression -> [meta, expression] }

    S2E_TRAIN(ch_shards.join(ch_expression))
    S2E_EVALUATE(ch_shards.join(ch_expression).join(S2E_TRAIN.out.model))
    S2E_VARIANT_EFFECTS(ch_shards.join(S2E_TRAIN.out.model))
    S2E_VARIANT_TRUTH(S2E_VARIANT_EFFECTS.out.scores.join(ch_truth))

    ch_versions = S2E_PREPARE.out.versions.first()
        .mix(S2E_TRAIN.out.versions, S2E_EVALUATE.out.versions, S2E_VARIANT_EFFECTS.out.versions,
             S2E_VARIANT_TRUTH.out.versions)

    emit:
    store          = ch_shards                           // channel: [ val(meta), [ path(<chrom>.npz) ] ]
    model          = S2E_TRAIN.out.model                 // channel: [ val(meta), path(model folder with model.pt) ]
    evaluation     = S2E_EVALUATE.out.evaluation         // channel: [ val(meta), path(evaluation folder) ]
    variant_scores = S2E_VARIANT_EFFECTS.out.scores      // channel: [ val(meta), path(variant_scores Parquet) ]
    variant_truth  = S2E_VARIANT_TRUTH.out.summary       // channel: [ val(meta), path(variant_truth JSON) ]
    versions       = ch_versions                         // channel: [ path(versions.yml) ]
}
