"""Report sections, one per part of a results folder (as ``varflow demo`` / ``varflow run`` lay it out).

Each function takes the results folder and returns HTML; a workflow that did not run gets a note.
"""

from __future__ import annotations

import html
import json
import platform
from importlib import metadata
from pathlib import Path

import pandas as pd
import yaml

from varflow.report.html import image, images, key_values, note, number, table

TOP = 15


def _json(path: Path) -> dict:
    with open(path) as handle:
        return json.load(handle)


def _pngs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.png")) if folder.is_dir() else []


def inputs(results: Path) -> str:
    body = []
    summary = results / "summary.json"
    params = _json(summary).get("params", {}) if summary.exists() else {}
    manifest = Path(params.get("cohort", results / "cohort")) / "cohort.yaml"
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
    """The cohort a results folder was made from: summary.json's params.cohort, else results/cohort."""
    summary = results / "summary.json"
    params = _json(summary).get("params", {}) if summary.exists() else {}
    return Path(params.get("cohort", results / "cohort"))


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
        effects = sorted((results / "shrink" / "effects").glob(f"{head['TRAIT']}.*.parquet"))
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
    body = [images(_pngs(root / "plots"))]
    tests = sorted((root / "gene_tests").glob("*.parquet"))
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
    types = root / "multitrait" / "cluster_types.parquet"
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
    metrics = root / "evaluate" / "metrics.json"
    if metrics.exists():
        m = _json(metrics)
        body.append("<h3>Held-out individuals</h3>" + key_values({
            "genes": m.get("n_genes"),
            "median per-gene Pearson, model": m.get("median_pearson_model"),
            "median per-gene Pearson, elastic net": m.get("median_pearson_enet"),
            "across-gene Pearson of means (test genes)": m.get("across_gene_pearson_mean_test"),
        }))
        body.append(_gene_splits(m.get("by_gene_split", {})))
    body.append(images(_pngs(root / "evaluate")))
    effects = root / "variant_effects.parquet"
    if effects.exists():
        df = pd.read_parquet(effects)
        score = "s2e_ism_abs" if "s2e_ism_abs" in df else df.select_dtypes("number").columns[0]
        body.append("<h3>Top variant effects (in-silico mutagenesis)</h3>" + table(df.nlargest(TOP, score)))
        body.append(_variant_truth(root / "evaluate" / "variant_truth.json"))
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


def eqtl(results: Path) -> str:
    """The eqtl run, or with several cell types (``cell_types.json``) their comparison, then each one."""
    root = results / "eqtl"
    if not root.is_dir():
        return note("The eqtl workflow did not run.")
    compared = root / "cell_types.json"
    if not compared.exists():
        return _eqtl_run(root)
    doc = _json(compared)
    best = ", ".join(f"{k.removeprefix('auprc_')}: {v}" for k, v in doc["best_by"].items())
    body = ["<h3>Cell types compared</h3><p>One config per cell type, each trained and evaluated on its own "
            f"(leave-one-chromosome-out, pooled); highest AUPRC by weighting: {html.escape(best)}.</p>"
            + table(pd.DataFrame(doc["rows"]))]
    for row in doc["rows"]:
        name = str(row["cell_type"])
        body.append(f"<h3>Cell type {html.escape(name)}</h3>" + _eqtl_run(root / name))
    return "".join(body)


def _eqtl_run(root: Path) -> str:
    """One eqtl run's tables and plots (``root`` its folder)."""
    body = []
    metrics = root / "evaluate" / "metrics.json"
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
    body.append(_weight_comparison(root / "evaluate" / "weight_comparison.json"))
    body.append(_negatives(root / "labels" / "negatives.json"))
    body.append(images(_pngs(root / "evaluate")))
    predictions = root / "predict" / "predictions.parquet"
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
        return note(f"No run records ({RUN_RECORD_NAME}) in the workflow folders.")
    return table(pd.DataFrame(rows))


def provenance(results: Path) -> str:
    packages = ("varflow", "numpy", "scipy", "pandas", "pyarrow", "torch", "catboost", "scikit-learn",
                "pysam", "msprime")
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    body = ["<h3>Runs</h3>" + run_records(results), "<h3>Software</h3>" + key_values(versions)]
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
