"""File-in, file-out step functions of the shrink workflow. The CLI, the in-process pipeline and the
Nextflow processes all call these; each reads its inputs once and writes its outputs atomically."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from varflow.errors import VarflowError
from varflow.io.provenance import Provenance
from varflow.io.tables import read_table, write_table
from varflow.shrink import schemas
from varflow.shrink.genetest import DEFAULT_REPORT_STATISTIC
from varflow.shrink.inputs import check_block_psd, read_ld, read_sumstats
from varflow.shrink.ldblocks import BlockLD, find_blocks, read_block_ld, split_blocks, write_block_ld

log = logging.getLogger("varflow")


def ld_blocks_step(ld: Path, chrom: str, out_blocks: Path, out_ld: Path, snps: Path | None = None,
                   avg_block: int = 1000, half_width: int = 200, provenance: Provenance | None = None,
                   rule: str = "slots") -> dict:
    """Split chromosome ``chrom``'s LD into blocks: block table (Parquet) + per-block LD (NPZ float32).
    Each block must be positive semi-definite within the posterior's LD ridge (``check_block_psd``)."""
    panel = read_ld(ld, snps)
    if panel.pos is None:
        raise VarflowError(f"{ld}: the LD SNP list has no positions (POS); they are needed for the block table")
    if np.any(np.diff(panel.pos) < 0):
        raise VarflowError(f"{ld}: SNP positions are not sorted; LD order must follow the chromosome")
    from varflow.shrink.posterior import LD_RIDGE

    starts, ends = find_blocks(panel.r, avg_block=avg_block, half_width=half_width, rule=rule)
    blocks = split_blocks(panel.r, starts, ends)
    check_block_psd(blocks, starts, str(ld), tolerance=LD_RIDGE)
    data = BlockLD(chrom, panel.snp, panel.pos, panel.a1, panel.a2, starts, ends, blocks, panel.freq)
    write_table(data.table(), out_blocks, schemas.LD_BLOCKS, provenance)
    write_block_ld(out_ld, data, provenance)
    return {"chrom": chrom, "n_snps": int(panel.n), "n_blocks": int(len(starts)),
            "block_sizes": (ends - starts).tolist()}


def ld_panel_step(panel: Path, chrom: str, out_blocks: Path, out_ld: Path, out_band: Path,
                  config: "PanelLDConfig | None" = None, provenance: Provenance | None = None) -> dict:  # noqa: F821
    """LD of chromosome ``chrom`` from a reference panel's genotypes (PLINK 1 prefix/.bed or VCF/BCF;
    ``varflow.shrink.panel_ld``): the block table (Parquet) and per-block LD (NPZ float32) that
    ``ld_blocks_step`` writes, plus the banded LD (NPZ) the gene test reads. Memory stays bounded by the
    band (J x (W+1) float32) and a window of genotypes; the dense J x J matrix is never formed."""
    from varflow.shrink.panel_ld import PanelLDConfig, compute_panel_ld, describe, write_band_ld
    from varflow.shrink.posterior import LD_RIDGE

    config = config or PanelLDConfig()
    t0 = time.perf_counter()
    ld = compute_panel_ld(panel, chrom, config)
    blocks = ld.blocks()
    check_block_psd(blocks, ld.starts, str(panel), tolerance=LD_RIDGE)
    snps = ld.snps
    data = BlockLD(chrom, snps["SNP"].to_numpy(str), snps["POS"].to_numpy(np.int64), snps["A1"].to_numpy(str),
                   snps["A2"].to_numpy(str), ld.starts, ld.ends, blocks, snps["FREQ"].to_numpy(np.float64))
    write_table(data.table(), out_blocks, schemas.LD_BLOCKS, provenance)
    write_block_ld(out_ld, data, provenance)
    write_band_ld(out_band, chrom, ld.band, snps, provenance)
    log.info("%s (%.1f s)", describe(panel, chrom, ld.counts), time.perf_counter() - t0)
    return {"chrom": chrom, "n_snps": int(len(snps)), "n_blocks": int(len(ld.starts)),
            "block_sizes": (ld.ends - ld.starts).tolist(), "band_snps": ld.width,
            **{k: v for k, v in ld.counts.items() if k not in ("kept", "blocks", "band_snps")}}


def train_step(outdir: Path, config: "ShrinkTrainConfig", device: str = "cpu",  # noqa: F821
               provenance: Provenance | None = None) -> dict:
    """Simulate GWAS on the LD segments ``config`` names over its grid and train the ensemble."""
    from varflow.io.atomic import atomic_output
    from varflow.shrink.reference_ld import training_segments
    from varflow.shrink.simulate_training import simulate_training_set
    from varflow.shrink.train import train_ensemble

    t0 = time.perf_counter()
    segments = training_segments(config)
    data = simulate_training_set(segments, config.grid, config.seed)
    t_sim = time.perf_counter() - t0
    log.info("shrink train: %d segments, %d replicates, %d rows simulated in %.0f s", len(segments),
             int(data.replicate.max()) + 1, len(data.y), t_sim)
    ens = train_ensemble(data, config.top_r, config.nets, seed=config.seed, device=device)
    ens.info.update({"config": config.to_dict(), "segments": [s.name for s in segments],
                     "n_snps": int(sum(s.n_snps for s in segments)),
                     "seconds_simulate": round(t_sim, 2), "seconds_total": round(time.perf_counter() - t0, 2)})
    if provenance is not None:
        ens.info["command"] = provenance.command
    with atomic_output(outdir) as tmp:
        ens.save(tmp, provenance)
    return {"outdir": str(outdir), "n_models": config.nets.n_models, "n_rows": ens.info["n_rows"],
            "seconds": ens.info["seconds_total"]}


def trait_name(sumstats: Path) -> str:
    """Default trait name: the sumstats file name up to its first dot (trait1.sumstats.parquet -> trait1)."""
    return Path(sumstats).name.split(".")[0]


def effects_step(sumstats: Path, block_ld: Path, out: Path, method: str = "nn", model: Path | None = None,
                 seed: int = 0, provenance: Provenance | None = None, trait: str | None = None) -> dict:
    """Shrunk effects of one trait on one chromosome (table schema shrink_effects); CPU only (numpy
    inference of the ensemble, scikit-learn for the elastic net)."""
    from varflow.shrink.effects import shrink_effects
    from varflow.shrink.model import Ensemble

    ss = read_sumstats(sumstats)
    bld = read_block_ld(block_ld)
    ens = Ensemble.load(model) if method == "nn" else None
    trait = trait or trait_name(sumstats)
    table, counts = shrink_effects(ss, bld, method=method, ensemble=ens, seed=seed,
                                   where=str(sumstats), trait=trait)
    write_table(table, out, schemas.EFFECTS, provenance)
    log.info("shrink effects %s: %s %s; %s", out, sumstats, ss.attrs["format"], json.dumps(counts))
    return {"trait": trait, "chrom": bld.chrom, "method": method, **counts}


def expand_paths(paths: list[Path], suffix: str) -> list[Path]:
    """Files as given, folders replaced by their ``*<suffix>`` files (sorted), so a Nextflow task can
    stage a list of files into one folder and pass the folder."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.name.endswith(suffix) and not q.name.startswith("."))
            if not found:
                raise VarflowError(f"{p}: folder holds no *{suffix} file")
            out += found
        else:
            out.append(p)
    return out


def read_effects(paths: list[Path]) -> "pd.DataFrame":  # noqa: F821
    """Concatenate effects tables (files or folders of them; any chromosomes and traits)."""
    import pandas as pd

    return pd.concat([read_table(p, schemas.EFFECTS) for p in expand_paths(paths, ".parquet")], ignore_index=True)


def effects_by_trait(paths: list[Path]) -> dict[str, "pd.DataFrame"]:  # noqa: F821
    """Effects tables grouped by their TRAIT column, traits in order of first appearance."""
    table = read_effects(paths)
    return {t: table[table["TRAIT"] == t].reset_index(drop=True) for t in dict.fromkeys(table["TRAIT"])}


def joint_effects(effects: list[Path]) -> tuple["pd.DataFrame", list[str]]:  # noqa: F821
    """SNPs present for every trait, with one BETA_SHRUNK_<trait> column per trait (in input order)."""
    by_trait = effects_by_trait(effects)
    traits = list(by_trait)
    joint = None
    for trait in traits:
        tab = by_trait[trait][["CHR", "SNP", "POS", "ld_index", "BETA_SHRUNK"]]
        if tab["SNP"].duplicated().any():
            raise VarflowError(f"effects of {trait}: SNP {tab['SNP'][tab['SNP'].duplicated()].iloc[0]!r} appears twice")
        tab = tab.rename(columns={"BETA_SHRUNK": f"BETA_SHRUNK_{trait}"})
        joint = tab if joint is None else joint.merge(tab[["SNP", f"BETA_SHRUNK_{trait}"]], on="SNP", how="inner")
    if joint is None or joint.empty:
        raise VarflowError("no SNP is shared by the effects of all traits")
    return joint.reset_index(drop=True), traits


def cluster_step(effects: list[Path], out: Path, out_model: Path, n_restarts: int = 25, k_max: int = 20,
                 max_iter: int = 1000, tol: float = 1e-3, seed: int = 0, provenance: Provenance | None = None) -> dict:
    """Cluster the shrunk effects of one or more traits (joined on SNP ID across traits)."""
    from varflow.io.atomic import atomic_path
    from varflow.shrink.cluster import fit_mixture, select_snps

    t0 = time.perf_counter()
    joint, traits = joint_effects(effects)
    X = joint[[f"BETA_SHRUNK_{t}" for t in traits]].to_numpy(np.float64)
    mask, cutoff = select_snps(X)
    if mask.sum() < 2:
        raise VarflowError(f"only {int(mask.sum())} SNPs have a shrunk effect above the cutoff; nothing to cluster")
    fit = fit_mixture(X[mask], n_restarts=n_restarts, K=k_max, max_iter=max_iter, tol=tol, seed=seed)
    labels = np.full(len(joint), -1, dtype=np.int64)
    labels[mask] = fit.labels
    table = joint[["CHR", "SNP", "POS"]].copy()
    table["cluster"] = labels
    table["ld_index"] = joint["ld_index"].astype(np.int64)
    for t in traits:
        table[f"BETA_SHRUNK_{t}"] = joint[f"BETA_SHRUNK_{t}"]
    write_table(table, out, schemas.CLUSTERS, provenance)
    model = fit.to_dict(traits) | {"cutoff": cutoff, "n_snps": int(len(joint)), "n_clustered": int(mask.sum()),
                                   "seed": seed, "seconds": round(time.perf_counter() - t0, 3)}
    with atomic_path(out_model, suffix=".json") as tmp:
        tmp.write_text(json.dumps(model, indent=1, default=float) + "\n")
    return {"traits": traits, "k": fit.k, "weights": [round(w, 4) for w in fit.weights.tolist()],
            "n_clustered": int(mask.sum()), "cutoff": cutoff, "seconds": model["seconds"]}


def read_model(path: Path) -> dict:
    try:
        model = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise VarflowError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise VarflowError(f"{path}: not a cluster model JSON ({exc})") from None
    for key in ("traits", "weights", "cov"):
        if key not in model:
            raise VarflowError(f"{path}: cluster model has no '{key}'")
    return model


def _ld_snp_list(path: Path) -> np.ndarray:
    """Only the SNP IDs of an LD file: an NPZ's ``snp`` array (NPZ members load lazily: the matrix is not
    read), else the SNP list of an NPY/text matrix (``inputs.ld_snp_list``: the .bim beside it)."""
    import zipfile

    from varflow.shrink.inputs import ld_snp_list, read_snp_list

    if Path(path).suffix != ".npz":
        return read_snp_list(ld_snp_list(path))["SNP"].to_numpy(dtype=str)
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "snp" not in npz.files:
                raise VarflowError(f"{path}: LD NPZ has no 'snp' array")
            return npz["snp"].astype(str)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise VarflowError(f"{path}: not a readable NPZ file ({exc})") from None


def match_ld_files(table: "pd.DataFrame", ld: list[Path]) -> dict[str, Path]:  # noqa: F821
    """Chromosome of ``table`` -> the LD file (NPZ with ``snp``, or an NPY/text matrix with its .bim beside
    it) whose SNP list holds that chromosome's
    effect SNPs at their ld_index. Files need not be named after chromosomes."""
    found: dict[str, Path] = {}
    li = table["ld_index"].to_numpy()
    for path in expand_paths(ld, ".npz"):
        snp = _ld_snp_list(path)
        for chrom in dict.fromkeys(table["CHR"]):
            on = (table["CHR"] == chrom).to_numpy()
            if chrom not in found and li[on].max() < len(snp) and np.all(snp[li[on]] == table["SNP"].to_numpy()[on]):
                found[chrom] = path
    return found


def conditional_parts(*, z: np.ndarray, zeta: np.ndarray, prior: np.ndarray, block: np.ndarray, li: np.ndarray,
                      on: np.ndarray, panel: "LDPanel | BandedLD", genes: np.ndarray,  # noqa: F821
                      rows_of: list[np.ndarray]) -> dict[int, list[tuple[np.ndarray, np.ndarray]]]:
    """Per gene of ``genes`` (indices into ``rows_of``), its conditional residual and null covariance in
    each LD block it touches, in block order: one posterior operator per block
    (``genetest.conditional_part``). ``z``, ``zeta`` (posterior means, z units), ``prior`` (PRIOR_VAR),
    ``block``, ``li`` (ld_index) are the effects table's rows (n,); ``on`` (n,) its rows of this
    chromosome, whose LD ``panel`` gives each block's R_b (``submatrix``: a dense LDPanel or a band).
    A band must hold every block: a block spanning more than W SNPs raises VarflowError."""
    from varflow.shrink.genetest import BlockOperators, conditional_part
    from varflow.shrink.posterior import posterior_operator

    touching: dict[int, list[int]] = {}
    for g in genes:
        for b in np.unique(block[rows_of[g]]):
            touching.setdefault(int(b), []).append(int(g))
    parts: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    for b in sorted(touching):
        rb = np.flatnonzero(on & (block == b))  # table rows of block b, in LD order
        if rb.size and getattr(panel, "width", None) is not None and int(np.ptp(li[rb])) > panel.width:
            raise VarflowError(f"{panel.source}: LD block {b} spans {int(np.ptp(li[rb])) + 1} SNPs, more than the LD "
                               f"band holds ({panel.width + 1}); were the blocks made from another panel?")
        r_b = panel.submatrix(li[rb]).astype(np.float64)
        A = posterior_operator(r_b, prior[rb])
        # the two J_b^3 products in float32 (sgemm, 2x dgemm): they enter only the null covariance
        ra32 = r_b.astype(np.float32) @ A.astype(np.float32)
        rar = (ra32 @ r_b.astype(np.float32)).astype(np.float64)
        ops = BlockOperators(r_b, A, ra32.astype(np.float64), rar, zeta[rb], z[rb])
        for g in touching[b]:
            inside = np.searchsorted(rb, rows_of[g][block[rows_of[g]] == b])
            parts.setdefault(g, []).append(conditional_part(ops, inside))
    return parts


def gene_test_step(effects: list[Path], ld: list[Path], genes: Path, cluster_model: Path, out: Path,
                   method: str = "auto", report_statistic: str = DEFAULT_REPORT_STATISTIC,
                   provenance: Provenance | None = None) -> dict:
    """Gene-level tests of one trait over the chromosomes of ``effects``; ``ld`` the chromosomes' LD NPZ
    files (full LD, or the banded LD of ``ld_panel_step``; or folders of them), matched to chromosomes by
    their SNP lists. Every gene gets the three
    statistics (shrunk T/P/Q, raw T_RAW/P_RAW/Q_RAW, conditional T_COND/P_COND/Q_COND; see
    ``varflow.shrink.genetest``); the table's
    ``report_statistic`` column names the one that feeds the report, the plots and the step's counts."""
    import pandas as pd

    from varflow.io.contigs import strip_chr
    from scipy import linalg

    from varflow.shrink.genetest import REPORT_STATISTICS, bh_qvalues, gene_test, null_eps, reported_columns
    from varflow.shrink.inputs import check_gene_snp_ranges, gene_rows, read_genes

    if report_statistic not in REPORT_STATISTICS:
        raise VarflowError(f"gene-test: report statistic must be one of {', '.join(REPORT_STATISTICS)}, "
                           f"got {report_statistic!r}")
    model = read_model(cluster_model)
    if len(model["traits"]) != 1:
        raise VarflowError(f"{cluster_model}: gene-test needs a single-trait clustering, got traits {model['traits']}")
    variances = np.array(model["cov"], dtype=float)[:, 0, 0]
    eps = null_eps(np.array(model["weights"]), variances)
    if not eps > 0:
        raise VarflowError(f"{cluster_model}: null effect variance eps = {eps} is not > 0")
    table = read_effects(effects)
    traits = list(dict.fromkeys(table["TRAIT"]))
    if len(traits) != 1:
        raise VarflowError(f"gene-test: effects must be of one trait, got {', '.join(traits)}")
    if traits != model["traits"]:
        raise VarflowError(f"gene-test: effects are of {traits[0]} but {cluster_model} clusters {model['traits'][0]}")
    gene_df = read_genes(genes)
    chroms = sorted(set(table["CHR"]), key=lambda c: (len(c), c))
    ld_by_chrom = {strip_chr(k): v for k, v in match_ld_files(table, ld).items()}
    missing = [c for c in chroms if strip_chr(c) not in ld_by_chrom]
    if missing:
        raise VarflowError(f"gene-test: no LD file given whose SNP list matches the effects of chromosome(s) "
                           f"{', '.join(missing)}")
    gene_df = gene_df[gene_df["CHR"].map(strip_chr).isin([strip_chr(c) for c in chroms])].reset_index(drop=True)
    rows_of = gene_rows(gene_df, table)
    stats = np.full((len(gene_df), 6), np.nan)  # T, P, T_RAW, P_RAW, T_COND, P_COND
    n = np.array([len(r) for r in rows_of], dtype=np.int64)
    shrunk = table["BETA_SHRUNK"].to_numpy(np.float64)
    se = table["SE"].to_numpy(np.float64)
    z = table["BETA"].to_numpy(np.float64) / se
    li = table["ld_index"].to_numpy()
    conditional = "PRIOR_VAR" in table.columns
    if conditional:
        arrays = {"z": z, "zeta": shrunk / se, "prior": table["PRIOR_VAR"].to_numpy(np.float64),
                  "block": table["block"].to_numpy(), "li": li}
    for chrom in chroms:
        panel = read_ld(ld_by_chrom[strip_chr(chrom)], allow_band=True)
        on = (table["CHR"] == chrom).to_numpy()
        if li[on].max(initial=-1) >= panel.n or np.any(panel.snp[li[on]] != table["SNP"].to_numpy()[on]):
            raise VarflowError(f"{ld_by_chrom[strip_chr(chrom)]}: LD SNP list does not match the effects' "
                               f"ld_index on {chrom} (a different LD panel?)")
        check_gene_snp_ranges(gene_df, chrom, panel.pos, panel.n, str(genes))
        genes_here = np.flatnonzero(gene_df["CHR"].map(strip_chr).to_numpy() == strip_chr(chrom))
        parts = conditional_parts(**arrays, on=on, panel=panel, genes=genes_here, rows_of=rows_of) \
            if conditional else {}
        _warn_genes_beyond_band(panel, gene_df, genes_here, rows_of, li)
        for g in genes_here:
            rows = rows_of[g]
            if rows.size == 0:
                continue
            idx = li[rows]
            r_g = panel.submatrix(idx)  # from the chromosome's LD: genes may span blocks
            resid = resid_cov = None
            if g in parts:
                resid = np.concatenate([e for e, _ in parts[g]])
                resid_cov = linalg.block_diag(*[c for _, c in parts[g]])
            res = gene_test(shrunk[rows], z[rows], r_g, eps, method, resid, resid_cov)
            stats[g] = (res.T, res.P, res.T_raw, res.P_raw, res.T_cond, res.P_cond)
    result = pd.DataFrame({"TRAIT": traits[0], "gene": gene_df["gene"], "CHR": gene_df["CHR"], "n_snps": n,
                           "T": stats[:, 0], "P": stats[:, 1], "Q": bh_qvalues(stats[:, 1]),
                           "T_RAW": stats[:, 2], "P_RAW": stats[:, 3], "Q_RAW": bh_qvalues(stats[:, 3]),
                           "T_COND": stats[:, 4], "P_COND": stats[:, 5], "Q_COND": bh_qvalues(stats[:, 5]),
                           "eps": eps, "report_statistic": report_statistic})
    write_table(result, out, schemas.GENE_TESTS, provenance)
    empty = result.loc[n == 0, "gene"].tolist()
    if empty:
        log.warning("gene-test: %d gene(s) have no SNPs and get no p-value: %s", len(empty), ", ".join(empty[:10]))
    _, _, q_col = reported_columns(report_statistic)
    return {"n_genes": int(len(result)), "n_tested": int((n > 0).sum()), "genes_without_snps": empty,
            "eps": eps, "report_statistic": report_statistic, "n_q05": int((result[q_col] < 0.05).sum()),
            "n_q05_shrunk": int((result["Q"] < 0.05).sum()), "n_q05_raw": int((result["Q_RAW"] < 0.05).sum()),
            "n_q05_conditional": int((result["Q_COND"] < 0.05).sum())}


def _warn_genes_beyond_band(panel, gene_df, genes: np.ndarray, rows_of: list[np.ndarray], li: np.ndarray) -> None:
    """One warning naming the genes whose SNPs span more than a banded LD's W (their far pairs get r = 0)."""
    width = getattr(panel, "width", None)
    if width is None:
        return
    wide = [str(gene_df["gene"].iloc[g]) for g in genes if rows_of[g].size and int(np.ptp(li[rows_of[g]])) > width]
    if wide:
        log.warning("gene-test: %d gene(s) span more than the %d SNPs of %s's LD band; LD further apart is taken "
                    "as 0 for them: %s", len(wide), width, panel.source, ", ".join(wide[:10]))


def gene_truth_calls(gene_tests: Path, effects: list[Path], truth: Path, genes: Path, q: float = 0.05,
                     strong_z: float = 6.0) -> dict:
    """How a trait's gene calls (q < ``q`` of the reported statistic) meet the simulator's truth.

    A gene is truly associated when one of its tested SNPs (the rows ``gene_rows`` gives the gene test)
    has a non-zero true effect beta_<trait> in ``truth`` (schema gwas_truth); "strong" when its strongest
    causal SNP has |BETA / SE| >= ``strong_z``. Returns counts: n_true, n_true_called, n_strong,
    n_strong_called, n_called, n_called_without_causal, and fdp (called without causal / called).
    """
    from varflow.shrink.genetest import reported_columns
    from varflow.shrink.inputs import gene_rows, read_genes

    tests = read_table(gene_tests, schemas.GENE_TESTS)
    trait = str(tests["TRAIT"].iloc[0])
    _, _, q_col = reported_columns(str(tests["report_statistic"].iloc[0]))
    table = read_effects(effects)
    table = table[table["TRAIT"] == trait].reset_index(drop=True)
    tru = read_table(truth, "gwas_truth").set_index("SNP")
    if f"beta_{trait}" not in tru.columns:
        raise VarflowError(f"{truth}: no true effects of {trait} (column beta_{trait})")
    causal = tru[f"beta_{trait}"].reindex(table["SNP"]).fillna(0.0).to_numpy() != 0
    absz = np.abs(table["BETA"].to_numpy() / table["SE"].to_numpy())
    gene_df = read_genes(genes)
    gene_df = gene_df[gene_df["gene"].isin(set(tests["gene"]))].reset_index(drop=True)
    by_name = dict(zip(gene_df["gene"], gene_rows(gene_df, table)))
    rows_of = [by_name.get(g, np.empty(0, dtype=np.int64)) for g in tests["gene"]]
    is_true = np.array([bool(causal[r].any()) for r in rows_of])
    strong = np.array([bool(causal[r].any()) and float(absz[r][causal[r]].max()) >= strong_z for r in rows_of])
    called = (tests[q_col] < q).to_numpy()
    n_called = int(called.sum())
    false = int((called & ~is_true).sum())
    return {"n_true": int(is_true.sum()), "n_true_called": int((called & is_true).sum()),
            "n_strong": int(strong.sum()), "n_strong_called": int((called & strong).sum()),
            "n_called": n_called, "n_called_without_causal": false,
            "fdp": round(false / n_called, 4) if n_called else 0.0}


def multitrait_step(clusters: Path, cluster_model: Path, genes: Path, out_genes: Path, out_types: Path,
                    provenance: Provenance | None = None) -> dict:
    """Per-gene multi-trait summaries and cluster association types."""
    from varflow.shrink.inputs import gene_rows, read_genes
    from varflow.shrink.multitrait import cluster_types, gene_summaries

    model = read_model(cluster_model)
    traits = list(model["traits"])
    if len(traits) < 2:
        raise VarflowError(f"{cluster_model}: multi-trait needs a clustering of at least 2 traits, got {traits}")
    table = read_table(clusters, schemas.CLUSTERS)
    cols = [f"BETA_SHRUNK_{t}" for t in traits]
    absent = [c for c in cols if c not in table.columns]
    if absent:
        raise VarflowError(f"{clusters}: missing column(s) {', '.join(absent)} named by {cluster_model}")
    types = cluster_types(np.array(model["cov"]), np.array(model["weights"]), traits)
    gene_df = read_genes(genes)
    rows_of = gene_rows(gene_df, table)
    summary = gene_summaries(gene_df, rows_of, table["cluster"].to_numpy(), table[cols].to_numpy(), traits, types)
    write_table(summary, out_genes, schemas.MULTITRAIT_GENES, provenance)
    write_table(types, out_types, schemas.CLUSTER_TYPES, provenance)
    return {"traits": traits, "types": types["type"].tolist(), "n_genes": int(len(summary)),
            "genes_without_snps": int((summary["n_snps"] == 0).sum())}


def classify_inputs(paths: list[Path]) -> dict[str, list[Path]]:
    """Sort shrink artifacts by kind: Parquet files by the schema name stamped in their metadata
    (shrink_effects, shrink_clusters, shrink_gene_tests, shrink_multitrait_genes), ``.json`` = cluster
    model, ``.npz`` or an NPY/PLINK text matrix (``inputs.is_ld_file``; its .bim beside it) = LD. Folders
    are expanded. Lets one positional file list feed a step."""
    import pyarrow.parquet as pq

    from varflow.io.tables import SCHEMA_KEY
    from varflow.shrink.inputs import is_ld_file

    kinds: dict[str, list[Path]] = {}
    for p in paths:
        p = Path(p)
        # a folder's .bim files are the SNP lists beside its text LD matrices, not inputs of their own
        files = sorted(q for q in p.iterdir() if not q.name.startswith(".") and q.suffix != ".bim") \
            if p.is_dir() else [p]
        for f in files:
            if f.suffix == ".json":
                kind = "cluster_model"
            elif is_ld_file(f):
                kind = "ld"
            elif f.suffix == ".parquet":
                if not f.exists():
                    raise VarflowError(f"{f}: file not found")
                kind = ((pq.read_schema(f).metadata or {}).get(SCHEMA_KEY, b"")).decode() or "unknown"
            else:
                kind = "unknown"
            if kind == "unknown":
                raise VarflowError(f"{f}: not a shrink artifact (effects/clusters/gene-tests/multi-trait Parquet, "
                                   "cluster model JSON, LD NPZ or an NPY/PLINK text LD matrix)")
            kinds.setdefault(kind, []).append(f)
    return kinds


def reported_tests(table: "pd.DataFrame") -> dict[str, "pd.DataFrame"]:  # noqa: F821
    """Gene tests per trait with T/P/Q holding the statistic that each table's ``report_statistic`` names."""
    from varflow.shrink.genetest import reported_columns

    out = {}
    for trait in dict.fromkeys(table["TRAIT"]):
        sub = table[table["TRAIT"] == trait]
        t_col, p_col, q_col = reported_columns(str(sub["report_statistic"].iloc[0]))
        out[trait] = sub.assign(T=sub[t_col], P=sub[p_col], Q=sub[q_col])
    return out


def plots_step(outdir: Path, effects: list[Path] | None = None, clusters: Path | None = None,
               cluster_model: Path | None = None, gene_tests: list[Path] | None = None,
               multitrait: Path | None = None) -> dict:
    """Write the PNGs that the given inputs allow; returns {figure name: path}."""
    import pandas as pd

    from varflow.io.atomic import ensure_writable_dir
    from varflow.shrink import plots

    ensure_writable_dir(outdir)
    made: dict[str, str] = {}
    for trait, table in (effects_by_trait(effects) if effects else {}).items():
        made[f"effects_{trait}"] = str(plots.effects_along_chromosome(table, trait, outdir / f"effects_{trait}.png"))
    if clusters is not None and cluster_model is not None:
        model = read_model(cluster_model)
        name = "clusters_" + "_".join(model["traits"])
        made[name] = str(plots.cluster_scatter(read_table(clusters, schemas.CLUSTERS), model, outdir / f"{name}.png"))
    if gene_tests:
        table = pd.concat([read_table(p, schemas.GENE_TESTS) for p in expand_paths(gene_tests, ".parquet")])
        made["gene_qq"] = str(plots.qq_plot(reported_tests(table), outdir / "gene_qq.png"))
    if multitrait is not None:
        made["gene_cluster_fractions"] = str(plots.gene_cluster_fractions(
            read_table(multitrait, schemas.MULTITRAIT_GENES), outdir / "gene_cluster_fractions.png"))
    return made
