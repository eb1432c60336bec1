"""Report sections, one per part of a results folder (as ``varflow demo`` / ``varflow run`` lay it out).

Each function takes the results folder and returns HTML; a workflow that did not run gets a note.
"""

from __future__ import annotations

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
        body.append("<h3>Simulated cohort</h3>" + key_values(
            {k: ", ".join(map(str, info[k])) if isinstance(info[k], list) else info[k] for k in keys if k in info}))
    if params:
        body.append("<h3>Run parameters</h3>" + key_values(params))
    return "".join(body) or note("No cohort manifest or run summary in this folder.")


def shrink(results: Path) -> str:
    root = results / "shrink"
    if not root.is_dir():
        return note("The shrink workflow did not run.")
    body = [images(_pngs(root / "plots"))]
    tests = sorted((root / "gene_tests").glob("*.parquet"))
    if tests:
        df = pd.concat([pd.read_parquet(p) for p in tests], ignore_index=True).dropna(subset=["P"])
        body.append(f"<h3>Top genes by gene-level test</h3><p>{len(df)} gene tests; "
                    f"{int((df['Q'] < 0.05).sum())} with q &lt; 0.05.</p>")
        body.append(table(df.nsmallest(TOP, "P")[["TRAIT", "gene", "CHR", "n_snps", "T", "P", "Q"]]))
    types = root / "multitrait" / "cluster_types.parquet"
    if types.exists():
        body.append("<h3>Clusters of shrunk effects (joint)</h3>" + table(pd.read_parquet(types)))
    return "".join(body)


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
    body.append(images(_pngs(root / "evaluate")))
    effects = root / "variant_effects.parquet"
    if effects.exists():
        df = pd.read_parquet(effects)
        score = "s2e_ism_abs" if "s2e_ism_abs" in df else df.select_dtypes("number").columns[0]
        body.append("<h3>Top variant effects (in-silico mutagenesis)</h3>" + table(df.nlargest(TOP, score)))
    return "".join(body)


def eqtl(results: Path) -> str:
    root = results / "eqtl"
    if not root.is_dir():
        return note("The eqtl workflow did not run.")
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
    body.append(images(_pngs(root / "evaluate")))
    predictions = root / "predict" / "predictions.parquet"
    if predictions.exists():
        df = pd.read_parquet(predictions)
        body.append("<h3>Top predicted causal variant-gene pairs</h3>"
                    + table(df.nlargest(TOP, "pred_probability")))
    return "".join(body)


def provenance(results: Path) -> str:
    packages = ("varflow", "numpy", "scipy", "pandas", "pyarrow", "torch", "catboost", "scikit-learn",
                "pysam", "msprime")
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    body = ["<h3>Software</h3>" + key_values(versions)]
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
