#!/usr/bin/env nextflow
/*
 * varflow: machine-learning analyses of genetic variants as one Nextflow pipeline.
 *
 *   simulate  synthetic cohort with known causal variants
 *   shrink    GWAS effect-size shrinkage (neural-network ensemble), multi-trait clustering, gene tests
 *   s2e       sequence-to-expression models trained on personal genomes
 *   eqtl      CatBoost classifier of causal cell-type eQTL variants
 *   all       simulate a cohort, then run every workflow on it
 *
 * Pick one with --workflow. Every step is a `varflow <workflow> <step>` command in a container;
 * the same steps run without Nextflow through `varflow run <workflow>`.
 */

include { validateParameters; paramsSummaryLog } from 'plugin/nf-schema'
include { SIMULATE } from './subworkflows/local/simulate'

workflow {
    main:
    validateParameters()
    log.info(paramsSummaryLog(workflow))

    def wired = ['simulate']
    def planned = ['shrink', 's2e', 'eqtl', 'all']
    if( !wired.contains(params.workflow) ) {
        if( planned.contains(params.workflow) ) {
            error("--workflow ${params.workflow}: this workflow is not wired into the Nextflow pipeline yet (available: ${wired.join(', ')}); run it in-process with `varflow run ${params.workflow}`")
        }
        error("--workflow ${params.workflow}: unknown workflow (choose one of ${(wired + planned).join(', ')})")
    }

    ch_cohort = channel.of([id: params.cohort_id])
    SIMULATE(ch_cohort, params.seed, params.sim_preset)
}
