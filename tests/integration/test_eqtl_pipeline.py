"""The eqtl workflow on the simulated tiny cohort, judged against the simulator's causal variants."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from varflow.cli.main import app
from varflow.eqtl.evaluate import average_precision
from varflow.eqtl.pipeline import run_from_cohort
from varflow.errors import VarflowError
from varflow.pipelines import run_workflow


@pytest.fixture(scope="module")
def run(tiny_cohort, tmp_path_factory):
    out = tmp_path_factory.mktemp("eqtl_run")
    figures = run_from_cohort(tiny_cohort, out, seed=0, device="cpu", quick=True)
    return out, figures


def _truth_flags(pred: pd.DataFrame, cohort) -> np.ndarray:
    truth = pd.read_parquet(cohort.path("causal_variants"))
    return pd.MultiIndex.from_frame(pred[["variant_id", "gene_id"]]).isin(
        pd.MultiIndex.from_frame(truth[["variant_id", "gene_id"]]))


def test_weighted_model_beats_distance_only_baseline(run):
    _, fig = run
    assert fig["folds"], "at least one LOCO fold must run on the tiny cohort"
    assert fig["auprc_weighted"] > fig["auprc_distance_only"]


def test_heldout_predictions_recover_true_causal_variants(run, tiny_cohort):
    out, fig = run
    pred = pd.read_parquet(out / "predict" / "predictions.parquet")
    feats = pd.read_parquet(out / "features" / "features.parquet", columns=["variant_id", "gene_id",
                                                                           "abs_distance_TSS_log"])
    pred = pred.merge(feats, on=["variant_id", "gene_id"])
    y = _truth_flags(pred, tiny_cohort)
    # only rows scored by the model that never saw their chromosome: a fair genome-wide test
    held = pred["model"].str.startswith("model_").to_numpy()
    assert held.sum() > 500 and y[held].sum() >= 5
    ap_model = average_precision(y[held], pred["pred_probability"].to_numpy()[held])
    ap_dist = average_precision(y[held], -pred["abs_distance_TSS_log"].to_numpy()[held])
    assert ap_model > 5 * ap_dist and ap_model > 10 * y[held].mean()
    assert fig["top1pct"]["enrichment"] > 5
    assert pred["model"][pred["chrom"] == "chr2"].str.contains("chr2|mean_of").all()


def test_outputs_and_determinism(run, tiny_cohort, tmp_path):
    out, fig = run
    for rel in ("features/contract.json", "labels/labels.parquet", "labels/folds.txt", "evaluate/metrics.json",
                "evaluate/curves.png", "predict/predictions.tsv.gz", "predict/predictions.tsv.gz.tbi"):
        assert (out / rel).exists(), rel
    metrics = json.loads((out / "evaluate" / "metrics.json").read_text())
    assert metrics["pooled"]["weighted"]["auprc"] == fig["auprc_weighted"]
    # the quick run again with the same seed gives identical held-out predictions
    again = run_from_cohort(tiny_cohort, tmp_path, seed=0, device="cpu", quick=True)
    assert again["auprc_weighted"] == fig["auprc_weighted"]


def test_cli_steps_scatter_over_chromosomes(run, tiny_cohort, tmp_path):
    out, _ = run
    runner = CliRunner()

    def call(*args):
        res = runner.invoke(app, ["eqtl", *map(str, args)])
        assert res.exit_code == 0, res.output
        return res.output

    c = tiny_cohort
    call("featurize", "--cohort", c.root, "--outdir", tmp_path / "feat")   # finemap/genes from the manifest
    call("labels", "--finemap", c.path("finemap"), "--outdir", tmp_path / "lab")
    folds = (tmp_path / "lab" / "folds.txt").read_text().split()
    assert folds == (out / "labels" / "folds.txt").read_text().split()
    for chrom in folds:  # one train task per held-out chromosome, as Nextflow scatters them
        call("train", "--features", tmp_path / "feat" / "features.parquet", "--contract",
             tmp_path / "feat" / "contract.json", "--labels", tmp_path / "lab" / "labels.parquet",
             "--chrom", chrom, "--iterations", 30, "--outdir", tmp_path / f"train_{chrom}")
    dirs = [tmp_path / f"train_{chrom}" for chrom in folds]
    call("evaluate", *dirs, "--n-boot", 50, "--outdir", tmp_path / "ev")
    call("predict", "--features", tmp_path / "feat" / "features.parquet", "--out", tmp_path / "pred", *dirs)
    pred = pd.read_parquet(tmp_path / "pred.parquet")
    for chrom in folds:
        assert (pred.loc[pred["chrom"] == chrom, "model"] == f"model_{chrom}_weighted.cbm").all()
    # bad input: a config naming an unknown category -> one line, exit 1
    bed = sorted(c.group("regulatory_bed").values())[0]
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump({"sources": [{"name": "x", "type": "bed", "path": str(bed), "category": "nope"}]}))
    res = runner.invoke(app, ["eqtl", "featurize", "--finemap", str(c.path("finemap")), "--genes",
                              str(c.path("genes")), "--config", str(cfg), "--outdir", str(tmp_path / "x")])
    assert res.exit_code == 1 and "unknown category 'nope'" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_s2e_variant_scores_are_a_source_through_config_alone(tiny_cohort, tmp_path):
    """A per-gene variant_scores Parquet (what s2e writes) joins on (variant_id, gene_id); the user's own
    cohort folder (finemap + genes, hand-written cohort.yaml) and config come in through a params file."""
    fm = pd.read_parquet(tiny_cohort.path("finemap"))
    rng = np.random.default_rng(0)
    s2e = fm[["variant_id", "gene_id"]].assign(s2e_delta=rng.normal(size=len(fm)), s2e_abs=0.0)
    s2e.to_parquet(tmp_path / "variant_scores.parquet")
    mine = tmp_path / "mydata"
    mine.mkdir()
    shutil.copy(tiny_cohort.path("finemap"), mine / "susie.parquet")
    shutil.copy(tiny_cohort.path("genes"), mine / "genes.parquet")
    (mine / "cohort.yaml").write_text(yaml.safe_dump({"files": {"finemap": "susie.parquet", "genes": "genes.parquet"}}))
    cfg = {"seed": 1, "sources": [{"name": "s2e", "type": "variant_scores", "path": "variant_scores.parquet",
                                   "columns": "s2e_delta", "category": "deep_learning", "abs": True}],
           "categories": {"deep_learning": 10}, "catboost": {"iterations": 20}}
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    (tmp_path / "my_params.yaml").write_text(yaml.safe_dump({"cohort": str(mine), "eqtl_config": str(tmp_path / "cfg.yaml"),
                                                             "outdir": str(tmp_path / "out"), "use_gpu": False}))
    figures = run_workflow("eqtl", None, params=tmp_path / "my_params.yaml", quick=True)
    feats = pd.read_parquet(tmp_path / "out" / "eqtl" / "features" / "features.parquet")
    merged = feats.merge(s2e, on=["variant_id", "gene_id"])
    assert len(merged) == len(feats)
    assert np.allclose(merged["s2e__s2e_delta"], merged["s2e_delta"])
    assert np.allclose(merged["s2e__s2e_delta_abs"], merged["s2e_delta"].abs())
    contract = json.loads((tmp_path / "out" / "eqtl" / "features" / "contract.json").read_text())
    assert contract["categories"]["s2e__s2e_delta"] == "deep_learning"
    assert figures["n_predictions"] == len(feats)


CELL_TYPES = Path(__file__).resolve().parents[2] / "src" / "varflow" / "data" / "eqtl" / "cell_types"


def _cell_type_config(path, cell_type: str, extra: dict | None = None):
    """The packaged hepatocyte config made to read ``cell_type``'s regulatory BED (one group entry)."""
    doc = yaml.safe_load((CELL_TYPES / "hepatocyte.yaml").read_text())
    doc["name"] = f"{cell_type}_eqtl"
    doc["sources"][0]["cohort"] = f"regulatory_bed.{cell_type}"
    doc.update(extra or {})
    path.write_text(yaml.safe_dump(doc))
    return path


def test_two_cell_types_in_one_run(run, tiny_cohort, tmp_path):
    """Two configs (one per cell type) in one varflow run: each runs on its own into its folder, the
    cell-type feature is that cell type's BED alone, and the comparison and the report show both."""
    from varflow.report import sections

    out, _ = run
    configs = [CELL_TYPES / f"{c}.yaml" for c in ("hepatocyte", "monocyte")]  # the packaged examples
    figures = run_workflow("eqtl", tmp_path / "results", cohort=tiny_cohort.root, quick=True,
                           sizes={"eqtl_config": ",".join(map(str, configs))})
    assert figures["cell_types"] == ["hepatocyte", "monocyte"]
    default_features = pd.read_parquet(out / "features" / "features.parquet")
    compared = sections.cell_type_comparison(tmp_path / "results" / "eqtl", ["hepatocyte", "monocyte"])
    assert not (tmp_path / "results" / "eqtl" / "cell_types.json").exists()  # not a layout file: the report compares
    for (_, row), cell_type in zip(compared.iterrows(), ("hepatocyte", "monocyte")):
        root = tmp_path / "results" / "eqtl" / cell_type
        feats = pd.read_parquet(root / "features" / "features.parquet")
        assert "reg" in feats and not any(c.startswith("reg__") for c in feats)
        # the same overlap the packaged config computes for that cell type among its three
        assert feats["reg"].to_numpy().tolist() == default_features[f"reg__{cell_type}"].to_numpy().tolist()
        metrics = json.loads((root / "evaluate" / "metrics.json").read_text())
        assert row["cell_type"] == cell_type
        assert row["AUPRC weighted"] == metrics["pooled"]["weighted"]["auprc"]
        assert row["AUPRC weighted"] == figures["by_cell_type"][cell_type]["auprc_weighted"]
        assert figures["by_cell_type"][cell_type]["config_name"] == cell_type
    html = sections.eqtl(tmp_path / "results")
    assert "Cell types compared" in html and "Cell type hepatocyte" in html and "Cell type monocyte" in html
    # two configs with one file name cannot both be a cell type
    other = tmp_path / "other"
    other.mkdir()
    clash = _cell_type_config(other / "hepatocyte.yaml", "monocyte")
    with pytest.raises(VarflowError, match="share a file name"):
        run_from_cohort(tiny_cohort, tmp_path / "clash", quick=True, params={"eqtl_config": [configs[0], clash]})


def test_a_cell_type_config_brings_its_own_finemap(tiny_cohort, tmp_path):
    """A config's 'finemap' (its cell type's fine-mapping) is what labels read, before the cohort's;
    an entry the cohort group lacks is refused in one line."""
    fm = pd.read_parquet(tiny_cohort.path("finemap"))
    keep = sorted(fm["gene_id"].unique())[::2]
    fm[fm["gene_id"].isin(keep)].to_parquet(tmp_path / "mine.finemap.parquet")
    cfg = _cell_type_config(tmp_path / "hepatocyte.yaml", "hepatocyte", {"finemap": {"path": "mine.finemap.parquet"}})
    runner = CliRunner()
    res = runner.invoke(app, ["eqtl", "labels", "--cohort", str(tiny_cohort.root), "--config", str(cfg),
                              "--outdir", str(tmp_path / "lab")])
    assert res.exit_code == 0, res.output
    labels = pd.read_parquet(tmp_path / "lab" / "labels.parquet")
    assert set(labels["gene_id"]) <= set(keep) and len(labels) > 0
    bad = _cell_type_config(tmp_path / "bad.yaml", "kidney")
    res = runner.invoke(app, ["eqtl", "featurize", "--cohort", str(tiny_cohort.root), "--config", str(bad),
                              "--outdir", str(tmp_path / "x")])
    assert res.exit_code == 1 and "'regulatory_bed' has no entry 'kidney'" in res.output
    assert len(res.output.strip().splitlines()) == 1
