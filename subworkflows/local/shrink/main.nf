/*
 * SHRINK: GWAS effect-size shrinkage (ML-MAGES method). LD blocks per chromosome (from precomputed LD,
 * or computed from a reference panel's genotypes with a banded LD for the gene tests); shrunk effects per
 * trait x chromosome (neural-network ensemble, numpy inference on the CPU); per trait a single-trait clustering
 * (its null variance feeds the gene tests) and gene-level tests over all chromosomes; with 2+ traits a
 * joint clustering and multi-trait gene summaries; figures of everything at the end.
 */

include { SHRINK_LD_BLOCKS                      } from '../../../modules/local/shrink_ld_blocks/main'
include { SHRINK_LD_PANEL                       } from '../../../modules/local/shrink_ld_panel/main'
include { SHRINK_EFFECTS                        } from '../../../modules/local/shrink_effects/main'
include { SHRINK_CLUSTER                        } from '../../../modules/local/shrink_cluster/main'
include { SHRINK_CLUSTER as SHRINK_CLUSTER_JOINT } from '../../../modules/local/shrink_cluster/main'
include { SHRINK_GENE_TEST                      } from '../../../modules/local/shrink_gene_test/main'
include { SHRINK_MULTI_TRAIT                    } from '../../../modules/local/shrink_multi_trait/main'
include { SHRINK_PLOTS                          } from '../../../modules/local/shrink_plots/main'

workflow SHRINK {
    take:
    ch_sumstats // channel: [ val(meta), path(sumstats) ]  meta.id = trait name
    ch_ld       // channel: [ val(meta), path(ld), path(snps) ]  meta.id = chromosome; an NPZ (r, snp, pos, a1, a2)
                //          with snps = [], or an NPY / PLINK --r square text matrix with its .bim
    ch_ld_panel // channel: [ val(meta), path(panel), path(aux) ]  meta.id = chromosome; a PLINK .bed with
                //          [.bim, .fam], or a VCF/BCF with its index (or []); chromosomes not in ch_ld
    genes       // value: path(gene table: gene, CHR, START, END[, SNP_START, SNP_END])
    model       // value: path(model folder from SHRINK_TRAIN), or [] for the ensemble shipped in the package

    main:
    SHRINK_LD_BLOCKS(ch_ld)
    SHRINK_LD_PANEL(ch_ld_panel)
    ch_blocks = SHRINK_LD_BLOCKS.out.blocks.mix(SHRINK_LD_PANEL.out.blocks)

    // scatter: one effects task per trait x chromosome
    ch_effects_in = ch_sumstats
        .combine(ch_blocks)
        .map { trait_meta, sumstats, chrom_meta, _table, block_ld ->
            [[id: "${trait_meta.id}_${chrom_meta.id}", trait: trait_meta.id, chrom: chrom_meta.id], sumstats, block_ld]
        }
    SHRINK_EFFECTS(ch_effects_in, model)

    // gather per trait: single-trait clustering, then gene tests over every chromosome's LD (full or banded)
    ch_by_trait = SHRINK_EFFECTS.out.effects
        .map { meta, effects -> [[id: meta.trait], effects] }
        .groupTuple()
    SHRINK_CLUSTER(ch_by_trait)
    ch_all_ld = ch_ld.map { _meta, ld, _snps -> ld }
        .mix(SHRINK_LD_PANEL.out.band.map { _meta, band -> band })
        .collect()
    ch_gene_in = ch_by_trait
        .join(SHRINK_CLUSTER.out.clusters)
        .map { meta, effects, _clusters, cluster_model -> [meta, effects, cluster_model] }
    // the .bim of each text/NPY matrix is staged beside it (same prefix), where gene-test looks for it
    ch_ld_snps = ch_ld.flatMap { _meta, _ld, snps -> snps ? [snps] : [] }
        .collect()
        .ifEmpty([])
    SHRINK_GENE_TEST(ch_gene_in, ch_all_ld, ch_ld_snps, genes)

    // joint clustering of all traits, only when there are at least two
    ch_n_traits = ch_sumstats.count()
    ch_joint_in = SHRINK_EFFECTS.out.effects
        .map { _meta, effects -> effects }
        .collect()
        .combine(ch_n_traits)
        .filter { row -> row[-1] >= 2 }
        .map { row -> [[id: 'joint'], row[0..-2]] }
    SHRINK_CLUSTER_JOINT(ch_joint_in)
    SHRINK_MULTI_TRAIT(SHRINK_CLUSTER_JOINT.out.clusters, genes)

    ch_plot_in = SHRINK_EFFECTS.out.effects.map { _meta, effects -> effects }
        .mix(
            SHRINK_GENE_TEST.out.tests.map { _meta, tests -> tests },
            SHRINK_CLUSTER_JOINT.out.clusters.flatMap { _meta, clusters, cluster_model -> [clusters, cluster_model] },
            SHRINK_MULTI_TRAIT.out.summary.map { _meta, gene_summary, _types -> gene_summary }
        )
        .collect()
        .map { files -> [[id: 'shrink'], files] }
    SHRINK_PLOTS(ch_plot_in)

    ch_versions = SHRINK_LD_BLOCKS.out.versions
        .mix(SHRINK_LD_PANEL.out.versions, SHRINK_EFFECTS.out.versions, SHRINK_CLUSTER.out.versions, SHRINK_GENE_TEST.out.versions,
             SHRINK_CLUSTER_JOINT.out.versions, SHRINK_MULTI_TRAIT.out.versions, SHRINK_PLOTS.out.versions)

    emit:
    blocks     = ch_blocks                        // channel: [ val(meta), path(blocks.parquet), path(blocks.npz) ]
    ld_band    = SHRINK_LD_PANEL.out.band         // channel: [ val(meta), path(ld_band.npz) ] (panel chromosomes)
    effects    = SHRINK_EFFECTS.out.effects       // channel: [ val(meta: id, trait, chrom), path(effects.parquet) ]
    clusters   = SHRINK_CLUSTER.out.clusters      // channel: [ val(meta: id = trait), path(clusters.parquet), path(model.json) ]
    gene_tests = SHRINK_GENE_TEST.out.tests       // channel: [ val(meta: id = trait), path(gene_tests.parquet) ]
    joint      = SHRINK_CLUSTER_JOINT.out.clusters // channel: [ val(meta), path(clusters.parquet), path(model.json) ]
    multitrait = SHRINK_MULTI_TRAIT.out.summary   // channel: [ val(meta), path(genes.parquet), path(cluster_types.parquet) ]
    plots      = SHRINK_PLOTS.out.plots           // channel: [ val(meta), path(plots folder) ]
    versions   = ch_versions                      // channel: [ path(versions.yml) ]
}
