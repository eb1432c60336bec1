"""s2e evaluation pieces against independent computations: elastic net, per-gene Pearson, ISM, CLI errors."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from varflow.s2e.enet import fit_predict_gene
from varflow.s2e.haplotypes import onehot
from varflow.s2e.metrics import per_gene_pearson
from varflow.s2e.models import ModelConfig, PersonalModel, ReferenceModel, paired
from varflow.s2e.store import HaplotypeStore, prepare_chromosome
from varflow.s2e.toydata import write_toy_data
from varflow.s2e.variant_effects import gene_effects

WINDOW = 120


def test_enet_recovers_a_sparse_linear_signal():
    rng = np.random.default_rng(0)
    n, m = 300, 25
    x = rng.binomial(2, rng.uniform(0.1, 0.5, m), size=(n, m)).astype(float)
    x[:, 7] = 0.0
    x[:3, 7] = 1.0  # MAF 0.005 on the training rows: filtered out
    beta = np.zeros(m)
    beta[[2, 11]] = [0.8, -0.6]
    y = x @ beta + rng.normal(scale=0.5, size=n)
    train, val, test = np.arange(200), np.arange(200, 240), np.arange(240, 300)
    pred, used, alpha = fit_predict_gene(x, y, train, val, test)
    assert used == m - 1 and alpha > 0
    assert np.corrcoef(pred, x[test] @ beta)[0, 1] > 0.9


def test_per_gene_pearson_matches_numpy():
    rng = np.random.default_rng(1)
    gene = np.repeat([3, 5], 10)
    obs, pred = rng.normal(size=20), rng.normal(size=20)
    r = per_gene_pearson(gene, obs, pred)
    assert r[3] == pytest.approx(np.corrcoef(obs[:10], pred[:10])[0, 1])
    assert r[5] == pytest.approx(np.corrcoef(obs[10:], pred[10:])[0, 1])


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    out = tmp_path_factory.mktemp("s2e_eval")
    data = write_toy_data(out, seed=11, n_samples=8, chrom_lengths=(900,), genes_per_chrom=4,
                          variant_rate=0.05, window=WINDOW)
    prepare_chromosome(data.vcf, data.reference, data.genes, "chr1", out / "chr1.npz", window=WINDOW)
    return HaplotypeStore.load(out / "chr1.npz"), data, out


def test_ism_of_an_snv_equals_a_direct_base_substitution(small_store):
    store, _, _ = small_store
    torch.manual_seed(0)
    model = PersonalModel.from_reference(ReferenceModel(ModelConfig.tiny(WINDOW))).eval()
    with torch.no_grad():  # give the deviation head's BatchNorm non-trivial statistics
        model.dev_head[0].running_mean.normal_()
        model.dev_head[0].running_var.uniform_(0.5, 2.0)
    checked = 0
    for g in range(store.n_genes):
        table, track = gene_effects(model, store, g)
        variants = store.gene_variants(g)
        assert track.shape == (WINDOW,)
        ref = onehot(store.window_codes(g, None))
        for j, v in variants.iterrows():
            if len(v["ref"]) != 1 or len(v["alt"]) != 1 or not 0 <= v["window_index"] < WINDOW:
                continue
            alt = v["alt"] if store.genes.at[g, "strand"] == "+" else v["alt"].translate(str.maketrans("ACGT", "TGCA"))
            mutated = ref.copy()
            mutated[v["window_index"]] = onehot(np.frombuffer(alt.encode(), np.uint8))[0]
            r, m_ = torch.from_numpy(ref)[None], torch.from_numpy(mutated)[None]
            with torch.no_grad():
                _, d_alt = model(r, torch.zeros(1, dtype=torch.long), *paired(m_, m_))
                _, d_ref = model(r, torch.zeros(1, dtype=torch.long), *paired(r, r))
            assert table.loc[j, "s2e_ism"] == pytest.approx(float(d_alt - d_ref), rel=1e-4, abs=1e-6)
            # gradient x input at an SNV is the track value at its window index
            assert table.loc[j, "s2e_gxi"] == pytest.approx(float(track[v["window_index"]]), rel=1e-5, abs=1e-7)
            checked += 1
    assert checked >= 5


def test_cli_bad_input_is_one_line_exit_1(small_store, tmp_path):
    _, data, _ = small_store
    vcf = tmp_path / "noindex.vcf.gz"
    shutil.copy(data.vcf, vcf)
    genes = tmp_path / "genes.parquet"
    data.genes.to_parquet(genes)
    result = subprocess.run([sys.executable, "-m", "varflow.cli.main", "s2e", "prepare", "--vcf", str(vcf),
                             "--reference", str(data.reference), "--genes", str(genes), "--outdir",
                             str(tmp_path / "store"), "--window", str(WINDOW)], capture_output=True, text=True)
    assert result.returncode == 1
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("varflow: error")]
    assert len(lines) == 1 and "no tabix index" in lines[0]
    assert not (tmp_path / "store" / "chr1.npz").exists()
    bad = data.genes.assign(strand="?")
    bad.to_parquet(genes)
    result = subprocess.run([sys.executable, "-m", "varflow.cli.main", "s2e", "prepare", "--vcf", str(data.vcf),
                             "--reference", str(data.reference), "--genes", str(genes), "--outdir",
                             str(tmp_path / "store")], capture_output=True, text=True)
    assert result.returncode == 1 and "strand must be '+' or '-'" in result.stderr


def test_params_file_names_missing_inputs(tmp_path):
    """``varflow run s2e --params``: a cohort.yaml without genes/expression stops before any work."""
    import yaml

    from varflow.errors import VarflowError
    from varflow.pipelines import run_workflow

    for name in ("a.vcf.gz", "a.vcf.gz.tbi", "r.fa"):
        (tmp_path / name).write_text("")
    (tmp_path / "cohort.yaml").write_text(yaml.safe_dump({"files": {"vcf": "a.vcf.gz", "reference": "r.fa"},
                                                          "info": {"chromosomes": ["chr1"]}}))
    (tmp_path / "p.yaml").write_text(yaml.safe_dump({"cohort": str(tmp_path), "s2e_window": 2000}))
    with pytest.raises(VarflowError, match=r"cohort.yaml: no 'genes' \(the s2e workflow needs it\)"):
        run_workflow("s2e", tmp_path / "out", params=tmp_path / "p.yaml")
    assert not (tmp_path / "out").exists()


def test_gene_split_figures_match_an_independent_computation():
    """Medians per split over the same genes with an undefined r as 0, ratio, across-gene r of means."""
    from varflow.s2e.evaluate import _split_figures

    rng = np.random.default_rng(3)
    n = 30
    metrics = pd.DataFrame({
        "gene_split": np.repeat(["train", "val", "test"], 10),
        "pearson_model": rng.uniform(-0.2, 0.8, n),
        "pearson_enet": np.where(rng.random(n) < 0.3, np.nan, rng.uniform(0.0, 0.9, n)),
        "mean_observed": rng.normal(7, 1.5, n),
    })
    metrics["mean_predicted"] = metrics["mean_observed"] + rng.normal(0, 1, n)
    metrics["mean_predicted_reference"] = metrics["mean_observed"] + rng.normal(0, 2, n)
    figures = _split_figures(metrics, with_enet=True)
    assert set(figures) == {"train", "val", "test", "all"}
    for split, rows in (("train", slice(0, 10)), ("val", slice(10, 20)), ("test", slice(20, 30)),
                        ("all", slice(0, 30))):
        part = metrics.iloc[rows]
        model = float(np.median(part["pearson_model"]))
        enet = float(np.median(np.nan_to_num(part["pearson_enet"].to_numpy(), nan=0.0)))
        fig = figures[split]
        assert fig["n_genes"] == len(part)
        assert fig["median_pearson_model"] == pytest.approx(model)
        assert fig["median_pearson_enet"] == pytest.approx(enet)
        assert fig["model_over_enet"] == pytest.approx(model / enet)
        assert fig["mean_pearson_personal"] == pytest.approx(
            np.corrcoef(part["mean_observed"], part["mean_predicted"])[0, 1])
        assert fig["mean_pearson_reference"] == pytest.approx(
            np.corrcoef(part["mean_observed"], part["mean_predicted_reference"])[0, 1])
