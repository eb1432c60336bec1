/*
 * SIMULATE: one synthetic cohort with known truth (genome, phased VCF, expression, fine-mapping,
 * annotations, GWAS summary statistics + LD). Every later workflow can start from its folder,
 * whose cohort.yaml manifest names each file.
 */

include { SIMULATE_COHORT } from '../../../modules/local/simulate_cohort/main'

workflow SIMULATE {
    take:
    ch_cohort // channel: [ val(meta) ], meta.id names the cohort folder
    seed      // value: integer seed of every random choice
    preset    // value: 'tiny' | 'demo'

    main:
    SIMULATE_COHORT(ch_cohort, seed, preset)

    emit:
    cohort   = SIMULATE_COHORT.out.cohort   // channel: [ val(meta), path(cohort folder) ]
    versions = SIMULATE_COHORT.out.versions // channel: [ path(versions.yml) ]
}
