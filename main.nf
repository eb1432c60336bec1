#!/usr/bin/env nextflow
/*
 * varflow: machine-learning analyses of genetic variants as one Nextflow pipeline.
 *
 *   simulate  synthetic cohort with known causal variants
 *   shrink    GWAS effect-size shrinkage (neural-network ensemble), multi-trait clustering, gene tests
 *   s2e       sequence-to-expression models trained on personal genomes
 *   eqtl      CatBoost classifier of causal cell-type eQTL variants
 *   all       every workflow on one cohort
 *
 * Pick one with --workflow. Inputs come from --cohort, a folder whose cohort.yaml names each file
 * (a simulated cohort, or your own data described the same way; usually set in a -params-file, the
 * same file `varflow run <workflow> --params` reads); without --cohort a cohort is simulated first.
 * Every step is a `varflow <workflow> <step>` command in a container; the same steps run without
 * Nextflow through `varflow run <workflow>`.
 */

include { validateParameters; paramsSummaryLog } from 'plugin/nf-schema'
include { SIMULATE } from './subworkflows/local/simulate/main'
include { SHRINK   } from './subworkflows/local/shrink/main'
include { S2E      } from './subworkflows/local/s2e/main'
include { EQTL     } from './subworkflows/local/eqtl/main'

// The cohort manifest: files (key -> path relative to the folder, or a map of them) and info.
def cohortManifest(dir) {
    return new groovy.yaml.YamlSlurper().parse(dir.resolve('cohort.yaml'))
}

// Whether workflow `name` runs when --workflow is `selected`.
def runs(selected, name) {
    return selected == name || selected == 'all'
}

// The cohort.yaml keys each workflow reads. The Python module varflow.params holds the same map
// (REQUIRED_COHORT_KEYS; tests/unit/test_params_file.py keeps them equal), so Nextflow and
// `varflow run --params` accept the same cohort folders. eqtl also reads the keys its config names
// through `cohort:`; its featurize step checks those.
def requiredCohortKeys() {
    return [
        shrink: ['sumstats', 'gwas_genes'],
        s2e: ['reference', 'vcf', 'genes', 'expression'],
        eqtl: ['finemap', 'genes'],
    ]
}

// The cohort.yaml keys of which a workflow needs at least one, each checked like a required key when
// present (ALTERNATIVE_COHORT_KEYS of varflow.params): shrink reads precomputed LD (`ld`) and/or a
// reference panel per chromosome (`ld_panel`: a PLINK prefix or a VCF/BCF).
def alternativeCohortKeys() {
    return [
        shrink: ['ld', 'ld_panel'],
    ]
}

// The cohort.yaml `info` entries a workflow needs (S2E scatters prepare by info.chromosomes);
// the Python module varflow.params holds the same map (REQUIRED_COHORT_INFO).
def requiredCohortInfo() {
    return [
        s2e: ['chromosomes'],
    ]
}

// The cohort.yaml keys that are groups {name: path}, one file per trait or chromosome
// (GROUP_KEYS of the Python module varflow.params).
def groupCohortKeys() {
    return ['sumstats', 'ld', 'ld_panel']
}

// Whether a manifest path exists: a file or folder, or for `ld_panel` a PLINK fileset prefix (`<path>.bed`).
def manifestPathExists(dir, key, rel) {
    return dir.resolve(rel.toString()).exists() || (key == 'ld_panel' && dir.resolve("${rel}.bed".toString()).exists())
}

// The SNP list an NPY or PLINK `--r square` text LD matrix needs: the .bim with its prefix beside it
// (chr22.ld, chr22.ld.gz, chr22.npy -> chr22.bim; varflow.shrink.inputs.ld_snp_list), or [] for an NPZ,
// which holds its SNPs.
def ldSnpList(dir, rel) {
    def name = rel.toString()
    if( name.endsWith('.npz') ) {
        return []
    }
    return dir.resolve(name.replaceAll(/\.gz$/, '').replaceAll(/\.[^.\/]+$/, '') + '.bim')
}

// The files a panel task stages: a VCF/BCF with its index (when there is one), or a PLINK prefix's
// .bed first, then its .bim and .fam.
def panelFiles(dir, rel) {
    def name = rel.toString()
    if( name ==~ /.*\.(vcf|vcf\.gz|vcf\.bgz|bcf)$/ ) {
        def index = ["${name}.tbi", "${name}.csi"].collect { ext -> dir.resolve(ext.toString()) }.findAll { f -> f.exists() }
        return [dir.resolve(name), index]
    }
    def prefix = name.replaceAll(/\.(bed|bim|fam)$/, '')
    return [dir.resolve("${prefix}.bed".toString()), [dir.resolve("${prefix}.bim".toString()), dir.resolve("${prefix}.fam".toString())]]
}

// The manifest of cohort folder `dir`, once it names every file the selected workflow(s) need and each
// of those files exists; otherwise stop with one line naming the manifest, the key and the path.
def checkedManifest(dir, selected) {
    def manifest = cohortManifest(dir)
    def where = dir.resolve('cohort.yaml')
    def files = manifest.files ?: [:]
    def info = manifest.info ?: [:]
    requiredCohortInfo().findAll { wf, _keys -> runs(selected, wf) }.each { wf, keys ->
        keys.each { key ->
            if( !info[key] ) {
                error("${where}: no 'info.${key}' (the ${wf} workflow needs it)")
            }
        }
    }
    def needed = requiredCohortKeys().collectEntries { wf, keys -> [wf, keys.collect { key -> key }] }
    alternativeCohortKeys().findAll { wf, _keys -> runs(selected, wf) }.each { wf, keys ->
        def given = keys.findAll { key -> files[key] && !(files[key] instanceof Map && files[key].isEmpty()) }
        if( !given ) {
            error("${where}: no ${keys.collect { key -> "'${key}'" }.join(' or ')} (the ${wf} workflow needs one)")
        }
        needed[wf] = needed[wf] + given
    }
    needed.findAll { wf, _keys -> runs(selected, wf) }.each { wf, keys ->
        keys.each { key ->
            if( !files[key] ) {
                error("${where}: no '${key}' (the ${wf} workflow needs it)")
            }
            if( groupCohortKeys().contains(key) && !(files[key] instanceof Map) ) {
                error("${where}: '${key}' must be a group {name: path} (the ${wf} workflow reads one file per name)")
            }
            def entries = files[key] instanceof Map ? files[key].collect { name, rel -> ["${key}.${name}", rel] } : [[key, files[key]]]
            entries.each { label, rel ->
                if( !manifestPathExists(dir, key, rel) ) {
                    error("${where}: '${label}' names ${dir.resolve(rel.toString())}, which does not exist")
                }
                def snp_list = key == 'ld' ? ldSnpList(dir, rel) : []
                if( snp_list && !snp_list.exists() ) {
                    error("${where}: '${label}' is an NPY/text LD matrix, which needs its SNP list ${snp_list} beside it")
                }
            }
        }
    }
    return manifest
}

workflow {
    main:
    validateParameters()
    log.info(paramsSummaryLog(workflow))

    def workflows = ['simulate', 'shrink', 's2e', 'eqtl', 'all']
    if( !workflows.contains(params.workflow) ) {
        error("--workflow ${params.workflow}: unknown workflow (choose one of ${workflows.join(', ')})")
    }

    if( params.cohort ) {
        ch_cohort = channel.of([[id: params.cohort_id], file(params.cohort, checkIfExists: true)])
    }
    else {
        SIMULATE(channel.of([id: params.cohort_id]), params.seed, params.sim_preset)
        ch_cohort = SIMULATE.out.cohort
    }
    ch_manifest = ch_cohort.map { meta, dir -> [meta, dir, checkedManifest(dir, params.workflow)] }

    if( runs(params.workflow, 'shrink') ) {
        ch_sumstats = ch_manifest.flatMap { _meta, dir, manifest ->
            manifest.files.sumstats.collect { trait, rel -> [[id: trait], dir.resolve(rel)] }
        }
        ch_ld = ch_manifest.flatMap { _meta, dir, manifest ->
            (manifest.files.ld ?: [:]).collect { chrom, rel -> [[id: chrom], dir.resolve(rel), ldSnpList(dir, rel)] }
        }
        ch_ld_panel = ch_manifest.flatMap { _meta, dir, manifest ->
            (manifest.files.ld_panel ?: [:]).collect { chrom, rel -> [[id: chrom]] + panelFiles(dir, rel) }
        }
        ch_gwas_genes = ch_manifest.map { _meta, dir, manifest -> dir.resolve(manifest.files.gwas_genes) }.first()
        SHRINK(ch_sumstats, ch_ld, ch_ld_panel, ch_gwas_genes, params.shrink_model ? file(params.shrink_model, checkIfExists: true) : [])
    }

    // eqtl's extra deep-learning scores per cohort: none, unless s2e runs too (--workflow all)
    ch_eqtl_extra = ch_cohort.map { meta, _dir -> [meta, []] }

    if( runs(params.workflow, 's2e') ) {
        ch_s2e = ch_manifest.map { meta, dir, manifest ->
            def vcf = dir.resolve(manifest.files.vcf)
            def reference = dir.resolve(manifest.files.reference)
            [meta, vcf, file("${vcf}.tbi"), reference, file("${reference}.fai"),
             dir.resolve(manifest.files.genes), dir.resolve(manifest.files.expression)]
        }
        ch_chroms = ch_manifest.flatMap { _meta, _dir, manifest -> manifest.info.chromosomes }
        // a simulated cohort's truth: its variant effects are scored against the causal pairs
        ch_s2e_truth = ch_manifest
            .filter { _meta, _dir, manifest -> manifest.files.causal_variants }
            .map { meta, dir, manifest -> [meta, dir.resolve(manifest.files.causal_variants)] }
        S2E(ch_s2e, ch_chroms, ch_s2e_truth)
        ch_eqtl_extra = S2E.out.variant_scores
    }

    if( runs(params.workflow, 'eqtl') ) {
        // one config, or several separated by commas: one per cell type, each named by its file's base name
        def configs = (params.eqtl_config ?: "${projectDir}/src/varflow/data/eqtl/default.yaml").toString()
            .tokenize(',').collect { path -> file(path.trim(), checkIfExists: true) }
        def cell_types = configs.collect { config -> config.baseName }
        if( cell_types.unique(false).size() != configs.size() ) {
            error "--eqtl_config: each cell type's config needs its own file name, got ${cell_types.join(', ')}"
        }
        EQTL(ch_cohort, ch_eqtl_extra,
             channel.fromList(configs.collect { config -> [configs.size() > 1 ? config.baseName : null, config] }))
    }
}
