/*
 * EQTL: causal eQTL classifier (scEEMS/GEMS method). featurize + labels once per cohort, train
 * scattered over held-out chromosomes (one task per LOCO fold, label process_gpu), then evaluate the
 * pooled held-out folds and score every variant-gene pair with the model that held out its chromosome.
 * Each fold also searches per-category feature weights on its own training chromosomes (EQTL_SEARCH)
 * and trains a searched-weight model with them (EQTL_TRAIN_SEARCHED); evaluate reports unweighted,
 * fixed and searched weights side by side, predict uses the fixed-weight folds.
 * Everything cell-type specific lives in the YAML config; a new cell type needs only a new config.
 * Several configs fan out: every step runs once per cohort x config, the config's base name joining
 * meta.id (<cohort>_<config>) and meta.cell_type, so each cell type publishes its own tables.
 * An extra variant-score table per cohort (the s2e variant effects under --workflow all) joins the
 * features as a deep-learning source.
 */

include { EQTL_FEATURIZE } from '../../../modules/local/eqtl_featurize/main'
include { EQTL_LABELS    } from '../../../modules/local/eqtl_labels/main'
include { EQTL_SEARCH    } from '../../../modules/local/eqtl_search/main'
include { EQTL_TRAIN     } from '../../../modules/local/eqtl_train/main'
include { EQTL_TRAIN as EQTL_TRAIN_SEARCHED } from '../../../modules/local/eqtl_train/main'
include { EQTL_EVALUATE  } from '../../../modules/local/eqtl_evaluate/main'
include { EQTL_PREDICT   } from '../../../modules/local/eqtl_predict/main'

workflow EQTL {
    take:
    ch_cohort       // channel: [ val(meta), path(cohort folder) ], its cohort.yaml names finemap, genes, annotations
    ch_extra_scores // channel: [ val(meta), path(variant_scores Parquet) or [] ], joined to ch_cohort by meta;
                    //   e.g. S2E.out.variant_scores, added to the features as a deep-learning source
    ch_configs      // channel: [ val(cell type or null), path(eqtl YAML config) ]: one item per cell type;
                    //   a null cell type (a single config) keeps meta as it is

    main:
    // one item per cohort x config, keyed by a meta that names the cell type
    ch_runs = ch_cohort.join(ch_extra_scores)
        .combine(ch_configs)
        .map { meta, dir, extra, cell_type, config ->
            [cell_type ? meta + [id: "${meta.id}_${cell_type}", cell_type: cell_type] : meta, dir, extra, config]
        }
    ch_config_of = ch_runs.map { meta, _dir, _extra, config -> [meta, config] }
    // multiMap feeds each process its tuple and its config in lockstep (same order in both channels)
    ch_featurize = ch_runs.multiMap { meta, dir, extra, config -> data: [meta, dir, extra]; config: config }
    EQTL_FEATURIZE(ch_featurize.data, ch_featurize.config)
    ch_labels = ch_runs.multiMap { meta, dir, _extra, config -> data: [meta, dir]; config: config }
    EQTL_LABELS(ch_labels.data, ch_labels.config)

    // one train task per chromosome that has test positives (folds.txt, one chromosome per line)
    ch_chroms = EQTL_LABELS.out.folds
        .flatMap { meta, folds -> folds.readLines().findAll { line -> line.trim() }.collect { chrom -> [meta, chrom.trim()] } }
    ch_train_in = ch_chroms
        .combine(EQTL_FEATURIZE.out.features, by: 0)
        .combine(EQTL_LABELS.out.labels, by: 0)
        .combine(ch_config_of, by: 0)
    ch_train = ch_train_in.multiMap { meta, chrom, features, contract, labels, config ->
        data: [meta, chrom, features, contract, labels, []]; config: config }
    EQTL_TRAIN(ch_train.data, ch_train.config)

    // per-category weights searched inside each fold on that fold's training chromosomes only, then the
    // fold trained again with them (<id>_train_<chrom>_searched): evaluate compares the three weightings
    ch_search = ch_train_in.multiMap { meta, chrom, features, contract, labels, config ->
        data: [meta, chrom, features, contract, labels]; config: config }
    EQTL_SEARCH(ch_search.data, ch_search.config)
    ch_searched = ch_train_in.join(EQTL_SEARCH.out.weights, by: [0, 1])
        .multiMap { meta, chrom, features, contract, labels, config, weights ->
            data: [meta, chrom, features, contract, labels, weights]; config: config }
    EQTL_TRAIN_SEARCHED(ch_searched.data, ch_searched.config)

    ch_folds = EQTL_TRAIN.out.fold.groupTuple()
    EQTL_EVALUATE(EQTL_TRAIN.out.fold.mix(EQTL_TRAIN_SEARCHED.out.fold).groupTuple())
    EQTL_PREDICT(EQTL_FEATURIZE.out.features.join(ch_folds))

    ch_versions = EQTL_FEATURIZE.out.versions
        .mix(EQTL_LABELS.out.versions, EQTL_TRAIN.out.versions, EQTL_SEARCH.out.versions,
             EQTL_TRAIN_SEARCHED.out.versions, EQTL_EVALUATE.out.versions, EQTL_PREDICT.out.versions)

    emit:
    metrics     = EQTL_EVALUATE.out.metrics  // channel: [ val(meta), path(metrics.json) ]
    plots       = EQTL_EVALUATE.out.plots    // channel: [ val(meta), [ curves.png, importance_by_category.png ] ]
    predictions = EQTL_PREDICT.out.tsv       // channel: [ val(meta), path(tsv.gz), path(tbi) ]
    parquet     = EQTL_PREDICT.out.parquet   // channel: [ val(meta), path(predictions.parquet) ]
    folds       = ch_folds                   // channel: [ val(meta), [ path(train fold folder) ] ]
    versions    = ch_versions                // channel: [ path(versions.yml) ]
}
