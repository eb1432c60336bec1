"""Report sections, one per part of a results folder (as ``varflow demo`` / ``varflow run`` lay it out).

Each function takes the results folder and returns HTML; a workflow that did not run gets a note.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd
import yaml

from varflow.layout import COHORT, RUN_PARAMS, SOFTWARE_VERSIONS, step_dir, step_glob, step_path, workflow_dir
from varflow.report.html import image, images, key_values, note, number, table

TOP = 15


def _json(path: Path) -> dict:
    with open(path) as handle:
        return json.load(handle)


def _pngs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.png")) if folder.is_dir() else []


def _run_params(results: Path) -> dict:
    """The run's parameters: ``summary.json``'s (``varflow run all``), else pipeline_info's (Nextflow)."""
    summary, given = results / "summary.json", results / RUN_PARAMS
    if summary.exists():
        return _json(summary).get("params", {})
    return _json(given) if given.exists() else {}


def inputs(results: Path) -> str:
    body = []
    params = _run_params(results)
    manifest = _cohort_root(results) / "cohort.yaml"
    if manifest.exists():
        info = (yaml.safe_load(manifest.read_text()) or {}).get("info", {})
        keys = ("preset", "seed", "chromosomes", "n_individuals", "n_genes", "n_variants", "n_indels",
                "n_causal_variants", "n_causal_genes", "traits", "gwas_n", "celltypes")
        facts = {k: ", ".join(map(str, info[k])) if isinstance(info[k], list) else info[k] for k in keys if k in info}
        if facts:
            body.append("<h3>Simulated cohort</h3>" + key_values(facts))
        if info.get("description"):  # a cohort assembled from real data says what it is
            body.append(f"<h3>Cohort</h3><p>{html.escape(str(info['description']))}</p>")
    if params:
        body.append("<h3>Run parameters</h3>" + key_values(params))
    return "".join(body) or note("No cohort manifest or run summary in this folder.")


def _cohort_root(results: Path) -> Path:
    """The cohort a results folder was made from: the run's params.cohort when that folder exists (a
    Nextflow run's may lie on another machine), else results/cohort (a simulated or staged one)."""
    given = _run_params(results).get("cohort")
    return Path(given) if given and (Path(given) / "cohort.yaml").exists() else results / COHORT


def _gene_truth(results: Path, tests: list[Path]) -> str:
    """Per trait: truly associated genes (holding a causal SNP in the cohort truth) called at q < 0.05,
    and genes called that hold no causal SNP; a note when the folder has no simulated truth."""
    from varflow.errors import VarflowError
    from varflow.io.cohort import Cohort
    from varflow.shrink.steps import gene_truth_calls

    root = _cohort_root(results)
    if not (root / "cohort.yaml").exists():
        return note("No simulated truth next to these results: true/false gene calls are not counted.")
    cohort = Cohort.load(root)
    if "gwas_truth" not in cohort.files or "gwas_genes" not in cohort.files:
        return note("The cohort has no GWAS truth: true/false gene calls are not counted.")
    rows = []
    for path in tests:
        head = pd.read_parquet(path, columns=["TRAIT", "report_statistic"]).iloc[0]
        effects = sorted(step_dir(results / "shrink", "SHRINK_EFFECTS").glob(f"{head['TRAIT']}.*.parquet"))
        if not effects:
            return note(f"Gene calls not compared with the truth: no effects of {head['TRAIT']} in this folder.")
        try:
            calls = gene_truth_calls(path, effects, cohort.path("gwas_truth"), cohort.path("gwas_genes"))
        except VarflowError as exc:
            return note(f"Gene calls not compared with the truth: {exc}")
        rows.append({"trait": head["TRAIT"], "statistic": head["report_statistic"],
                     "truly associated genes": calls["n_true"], "called": calls["n_true_called"],
                     "with causal |z| >= 6": calls["n_strong"], "called (|z| >= 6)": calls["n_strong_called"],
                     "genes called": calls["n_called"], "called without a causal SNP": calls["n_called_without_causal"],
                     "FDP": calls["fdp"]})
    return ("<h3>Gene calls against the simulated truth (q &lt; 0.05)</h3><p>A gene is truly associated when "
            "one of its SNPs has a non-zero true effect on the trait.</p>" + table(pd.DataFrame(rows)))


def shrink(results: Path) -> str:
    from varflow.shrink.genetest import reported_columns

    root = results / "shrink"
    if not root.is_dir():
        return note("The shrink workflow did not run.")
    body = [images(_pngs(step_path(root, "SHRINK_PLOTS")))]
    tests = sorted(root.glob(step_glob("SHRINK_GENE_TEST")))
    if tests:
        parts = []
        for path in tests:
            df = pd.read_parquet(path)
            t_col, p_col, q_col = reported_columns(str(df["report_statistic"].iloc[0]))
            parts.append(df.assign(T=df[t_col], P=df[p_col], Q=df[q_col]))
        df = pd.concat(parts, ignore_index=True).dropna(subset=["P"])
        stat = ", ".join(sorted(set(df["report_statistic"])))
        body.append(f"<h3>Top genes by gene-level test</h3><p>{len(df)} gene tests on the {stat} statistic "
                    f"(raw: sum of marginal z^2, exact null; shrunk: sum of shrunk effects^2, the method's "
                    f"eps null); {int((df['Q'] < 0.05).sum())} with q &lt; 0.05.</p>")
        body.append(table(df.nsmallest(TOP, "P")[["TRAIT", "gene", "CHR", "n_snps", "report_statistic", "T", "P", "Q"]]))
        body.append(_gene_truth(results, tests))
    types = step_path(root, "SHRINK_MULTI_TRAIT", 1)
    if types.exists():
        body.append("<h3>Clusters of shrunk effects (joint)</h3>" + table(pd.read_parquet(types)))
    return "".join(body)


def _variant_truth(path: Path) -> str:
    """The variant effects against the simulated truth (``s2e variant-truth``'s JSON): per class
    AUROC/AUPRC of |ISM| and |gxi| for causal vs other pairs, sign agreement, indel/SNV comparability."""
    if not path.exists():
        return note("No simulated truth for these variant effects: causal pairs are not scored.")
    v = _json(path)
    cols = {"n_causal": "causal pairs", "n_other": "other pairs", "auroc_ism_abs": "AUROC |ISM|",
            "auprc_ism_abs": "AUPRC |ISM|", "auroc_gxi_abs": "AUROC |gxi|", "auprc_gxi_abs": "AUPRC |gxi|",
            "prevalence": "AUPRC of chance", "sign_agreement_ism": "ISM sign = true sign"}
    rows = [{"class": name, **{label: "n/a" if m.get(key) is None else m[key] for key, label in cols.items()}}
            for name, m in v["classes"].items()]
    c = v["indel_vs_snv"]
    comparability = (f"Indel vs SNV scores: median |ISM| ratio {number(c['median_ism_abs_ratio'])}; indels are "
                     f"{number(c['indel_share_top_k'])} of the top {c['top_k']} pairs by |ISM| and "
                     f"{number(c['indel_share_all'])} of all pairs.")
    return (f"<h3>Variant effects against the simulated truth</h3><p>{v['n_causal_scored']} of "
            f"{v['n_causal_truth']} causal variant-gene pairs lie in a model window; n/a: a class without "
            f"causal (or other) pairs.</p>" + table(pd.DataFrame(rows)) + f"<p>{comparability}</p>")


def _gene_splits(by_split: dict) -> str:
    """Held-out individuals and held-out genes side by side: one row per gene split."""
    if not by_split:
        return ""
    labels = {"n_genes": "genes", "median_pearson_model": "median r, personal model",
              "median_pearson_enet": "median r, elastic net", "model_over_enet": "model / elastic net",
              "mean_pearson_reference": "r of gene means, reference model",
              "mean_pearson_personal": "r of gene means, personal model"}
    seen = {"train": "train (seen in training)", "val": "val (never seen)", "test": "test (never seen)",
            "all": "all genes"}
    rows = [{"gene split": seen.get(split, split), **{label: fig.get(key) for key, label in labels.items()
                                                      if key in fig}} for split, fig in by_split.items()]
    return ("<h3>Held-out genes</h3><p>Per-gene r: observed vs predicted deviation over the test individuals; "
            "genes on validation and test chromosomes were never seen by the models (the elastic net is fitted "
            "per gene, on every gene's training individuals). An undefined r (constant prediction) counts "
            "as 0.</p>" + table(pd.DataFrame(rows)))


def s2e(results: Path) -> str:
    root = results / "s2e"
    if not root.is_dir():
        return note("The s2e workflow did not run.")
    body = []
    metrics = step_path(root, "S2E_EVALUATE") / "metrics.json"
    if metrics.exists():
        m = _json(metrics)
        body.append("<h3>Held-out individuals</h3>" + key_values({
            "genes": m.get("n_genes"),
            "median per-gene Pearson, model": m.get("median_pearson_model"),
            "median per-gene Pearson, elastic net": m.get("median_pearson_enet"),
            "across-gene Pearson of means (test genes)": m.get("across_gene_pearson_mean_test"),
        }))
        body.append(_gene_splits(m.get("by_gene_split", {})))
    body.append(images(_pngs(step_path(root, "S2E_EVALUATE"))))
    effects = step_path(root, "S2E_VARIANT_EFFECTS")
    if effects.exists():
        df = pd.read_parquet(effects)
        score = "s2e_ism_abs" if "s2e_ism_abs" in df else df.select_dtypes("number").columns[0]
        body.append("<h3>Top variant effects (in-silico mutagenesis)</h3>" + table(df.nlargest(TOP, score)))
        body.append(_variant_truth(step_path(root, "S2E_VARIANT_TRUTH")))
    return "".join(body)


def _weight_comparison(path: Path) -> str:
    """Unweighted, fixed and searched per-category weights side by side, with the paired bootstrap CIs of
    their AUPRC differences and which one wins (the eqtl search step's weight_comparison.json)."""
    if not path.exists():
        return ""
    doc = _json(path)
    models = pd.DataFrame([{"weights": name, "AUPRC": v["auprc"], "AUROC": v["auroc"]}
                           for name, v in doc["models"].items()])
    pairs = pd.DataFrame([{"AUPRC difference": name.replace("_minus_", " - "), "diff": b["diff"],
                           "95% CI low": b["ci_low"], "95% CI high": b["ci_high"], "wins": b["winner"]}
                          for name, b in doc["bootstrap"].items()])
    return ("<h3>Feature weights: unweighted, fixed (config) and searched per fold</h3>"
            "<p>Searched: one weight per feature category chosen inside each fold on its training "
            "chromosomes only (odd vs even, Optuna). 'wins' names the model whose 95% paired bootstrap CI "
            "excludes 0, else 'neither'.</p>" + table(models) + table(pairs))


#: the pooled AUPRCs a cell-type comparison shows (evaluate/metrics.json; searched: weight_comparison.json)
COMPARED_AUPRC = ("unweighted", "weighted", "searched", "distance_only")


def cell_type_comparison(root: Path, cell_types: list[str]) -> pd.DataFrame:
    """One row per cell type (folder ``root/<cell type>``): held-out pairs and positives, pooled AUPRC of
    each weighting and the weighted model's AUROC, read from its evaluate/ files."""
    rows = []
    for name in cell_types:
        evaluated = step_path(workflow_dir(root.parent, root.name, name), "EQTL_EVALUATE")
        m = _json(evaluated / "metrics.json")
        compared = evaluated / "weight_comparison.json"
        auprc = {k: v["auprc"] for k, v in m.get("pooled", {}).items()}
        if compared.exists():
            auprc["searched"] = _json(compared)["models"].get("searched", {}).get("auprc")
        rows.append({"cell_type": name, "held-out pairs": m.get("n_heldout"), "positives": m.get("n_positive"),
                     **{f"AUPRC {k}": auprc.get(k) for k in COMPARED_AUPRC},
                     "AUROC weighted": m.get("pooled", {}).get("weighted", {}).get("auroc")})
    return pd.DataFrame(rows)


def eqtl(results: Path) -> str:
    """The eqtl run, or with several cell types (one folder each, ``eqtl/<cell type>/``) their comparison,
    then each one."""
    root = results / "eqtl"
    if not root.is_dir():
        return note("The eqtl workflow did not run.")
    cell_types = sorted(p.parent.parent.name for p in root.glob("*/evaluate/metrics.json"))
    if not cell_types or step_path(root, "EQTL_EVALUATE").is_dir():
        return _eqtl_run(root)
    rows = cell_type_comparison(root, cell_types)
    best = ", ".join(f"{k.removeprefix('AUPRC ')}: {rows.loc[rows[k].astype(float).idxmax(), 'cell_type']}"
                     for k in rows.columns if k.startswith("AUPRC") and rows[k].notna().any())
    body = ["<h3>Cell types compared</h3><p>One config per cell type, each trained and evaluated on its own "
            f"(leave-one-chromosome-out, pooled); highest AUPRC by weighting: {html.escape(best)}.</p>"
            + table(rows)]
    for name in cell_types:
        body.append(f"<h3>Cell type {html.escape(name)}</h3>" + _eqtl_run(root / name))
    return "".join(body)


def _eqtl_run(root: Path) -> str:
    """One eqtl run's tables and plots (``root`` its folder)."""
    body = []
    evaluated = step_path(root, "EQTL_EVALUATE")
    metrics = evaluated / "metrics.json"
    if metrics.exists():
        m = _json(metrics)
        rows = [{"model": name, "AUPRC": v["auprc"], "AUROC": v["auroc"]}
                for name, v in m.get("pooled", {}).items()]
        body.append(f"<h3>Leave-one-chromosome-out, pooled ({m.get('n_heldout')} held-out pairs, "
                    f"{m.get('n_positive')} positives)</h3>" + table(pd.DataFrame(rows)))
        boot = m.get("bootstrap_weighted_minus_unweighted")
        if boot:
            body.append(f"<p>AUPRC weighted - unweighted: {number(boot['diff'])} "
                        f"(95% CI {number(boot['ci_low'])} to {number(boot['ci_high'])}, "
                        f"{boot['n_boot']} paired bootstrap resamples).</p>")
        if m.get("importance_top"):
            body.append("<h3>Top features (PredictionValuesChange)</h3>"
                        + table(pd.DataFrame(m["importance_top"]).head(TOP)))
        if m.get("shap_by_category"):
            body.append("<h3>Importance by feature category</h3><p>PredictionValuesChange (% of each model's, "
                        "mean over folds) next to CatBoost SHAP on the held-out rows: mean over the rows of "
                        "the category's summed |SHAP| (log-odds) with its share in %, and the signed mean "
                        "(pooled over every fold's held-out rows; per fold in "
                        "evaluate/shap_by_category.parquet).</p>" + table(pd.DataFrame(m["shap_by_category"])))
    body.append(_weight_comparison(evaluated / "weight_comparison.json"))
    body.append(_negatives(step_path(root, "EQTL_LABELS") / "negatives.json"))
    body.append(images(_pngs(evaluated)))
    predictions = step_path(root, "EQTL_PREDICT")
    if predictions.exists():
        df = pd.read_parquet(predictions)
        body.append("<h3>Top predicted causal variant-gene pairs</h3>"
                    + table(df.nlargest(TOP, "pred_probability")))
    return "".join(body)


def _negatives(path: Path) -> str:
    """The labels step's per-gene candidate negatives: how many genes have fewer than npr, named."""
    if not path.exists():
        return ""
    summary = _json(path)
    short, total = summary["genes_with_too_few_negatives"], len(summary["candidate_negatives"])
    text = (f"<h3>Matched negatives</h3><p>{len(short)} of {total} genes have fewer than "
            f"{summary['min_negatives']} candidate negatives (variants below the negative PIP threshold)")
    if not short:
        return text + ".</p>"
    shown = html.escape(", ".join(short[:TOP])) + (f" and {len(short) - TOP} more" if len(short) > TOP else "")
    return text + f": their positives get negatives drawn with replacement, or none. {shown} " \
        "(labels/negatives.json).</p>"


def run_records(results: Path) -> str:
    """One row per workflow folder with a run record (run.json): status, command, start and end (UTC)."""
    from varflow.errors import VarflowError
    from varflow.run_record import RUN_RECORD_NAME, read_record

    rows = []
    for folder in sorted(p.parent for p in results.glob(f"*/{RUN_RECORD_NAME}")):
        try:
            record = read_record(folder)
        except VarflowError as exc:
            return note(str(exc))
        rows.append({"workflow": folder.name, "status": record.status, "command": record.command,
                     "started": record.started, "finished": record.finished or "", "error": record.error or ""})
    if not rows:
        return note(f"No run records ({RUN_RECORD_NAME}) in the workflow folders (a Nextflow run keeps its "
                    "execution report, timeline and trace in pipeline_info/).")
    return table(pd.DataFrame(rows))


def software(results: Path) -> str:
    """The run's software versions (pipeline_info/varflow_software_versions.yml, written by either engine:
    one row per step and tool), else this environment's, said to be so."""
    from varflow.versions import installed_versions, read_software_versions

    recorded = read_software_versions(results)
    if not recorded:
        return (note(f"No {SOFTWARE_VERSIONS} in this folder; the versions of the environment writing this "
                     "report:") + key_values(installed_versions()))
    grid = pd.DataFrame.from_dict(recorded, orient="index").sort_index().fillna("")  # steps x tools
    return f"<p>From {SOFTWARE_VERSIONS}: one row per step.</p>" + table(grid.rename_axis("step").reset_index())


def provenance(results: Path) -> str:
    body = ["<h3>Runs</h3>" + run_records(results), "<h3>Software</h3>" + software(results)]
    summary = results / "summary.json"
    if summary.exists():
        s = _json(summary)
        timings = {k: v["seconds"] for k, v in s.items() if isinstance(v, dict) and "seconds" in v}
        timings["total"] = s.get("seconds")
        body.append("<h3>Timings (seconds)</h3>" + key_values(timings))
        if "params" in s:
            body.append(f"<p>Seed: {number(s['params'].get('seed'))}.</p>")
    return "".join(body)


SECTIONS = (("inputs", "Inputs and parameters", inputs), ("shrink", "shrink: GWAS effect shrinkage", shrink),
            ("s2e", "s2e: sequence to expression", s2e), ("eqtl", "eqtl: causal eQTL prediction", eqtl),
            ("provenance", "Provenance", provenance))
