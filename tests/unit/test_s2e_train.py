"""s2e models + training: shapes, reference-branch sharing, and resume reaching identical weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from varflow.errors import VarflowError
from varflow.s2e.dataset import GeneStepDataset, PersonalDataset, align_expression, compute_labels
from varflow.s2e.models import ModelConfig, PersonalModel, ReferenceModel, paired
from varflow.s2e.splits import split_genes, split_individuals
from varflow.s2e.store import HaplotypeStore, prepare_chromosome
from varflow.s2e.toydata import write_toy_data
from varflow.s2e.train import TrainConfig, TrainingData, load_bundle, train_models

WINDOW = 160


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    out = tmp_path_factory.mktemp("s2e_train")
    data = write_toy_data(out, seed=5, n_samples=30, chrom_lengths=(1500, 1200, 1000), genes_per_chrom=4,
                          variant_rate=0.04, window=WINDOW)
    for c in ("chr1", "chr2", "chr3"):
        prepare_chromosome(data.vcf, data.reference, data.genes, c, out / "store" / f"{c}.npz", window=WINDOW)
    store = HaplotypeStore.load(out / "store")
    expr, shared = align_expression(data.expression, store)
    splits = {"individuals": split_individuals(shared, seed=1), "genes": split_genes(store.genes)}
    train_idx = np.array([store.samples.index(s) for s in splits["individuals"]["train"]])
    tdata = TrainingData.build(store, compute_labels(expr, train_idx), splits)
    data.expression.to_parquet(out / "expression.parquet")
    return store, tdata, out


def test_trunk_reduces_published_window_to_one_position():
    cfg = ModelConfig(window=40_000, conv1_channels=8, channels=8)
    model = ReferenceModel(cfg)
    x = torch.zeros(1, 40_000, 4)
    z = model.trunk.conv1(torch.nn.functional.pad(x.transpose(1, 2), (4, 5)))
    z = model.trunk.pool(torch.relu(model.trunk.bn2(model.trunk.conv2(z))))
    for block in model.trunk.blocks:
        z = model.trunk.pool(block(z))
    assert z.shape == (1, 8, 1)  # 40,000 -> 4,000 -> 400 -> 40 -> 4 -> 1
    assert model(x).shape == (1,)


def test_personal_model_shares_reference_embedding(setup):
    store, tdata, _ = setup
    torch.manual_seed(0)
    ref_model = ReferenceModel(ModelConfig.tiny(WINDOW))
    model = PersonalModel.from_reference(ref_model).eval()
    pairs = np.array([[0, 0], [0, 1], [1, 2], [0, 3]])
    batch = PersonalDataset(store, pairs).__getitems__([0, 1, 2, 3])
    mean, dev = model(batch["ref"], batch["ref_index"], *paired(batch["hap1"], batch["hap2"]))
    # the same predictions with the reference repeated per item (no sharing)
    full_ref = batch["ref"][batch["ref_index"]]
    mean2, dev2 = model(full_ref, torch.arange(4), *paired(batch["hap1"], batch["hap2"]))
    torch.testing.assert_close(mean, mean2)
    torch.testing.assert_close(dev, dev2)
    # mean head starts as the reference model's prediction; a reference genome has deviation head(0)
    torch.testing.assert_close(mean, ref_model.eval()(full_ref))
    m3, d3 = model(batch["ref"], batch["ref_index"], *paired(full_ref, full_ref))
    assert torch.allclose(d3, d3[:1].expand_as(d3))


def test_resume_reaches_the_same_weights(setup, tmp_path):
    store, tdata, _ = setup
    cfg = TrainConfig(model=ModelConfig.tiny(WINDOW), batch_size=16, ref_epochs=1, epochs=2, seed=3,
                      max_batches_per_epoch=3)
    full = train_models(store, tdata, tmp_path / "full", cfg)
    assert full["finished"]
    part = train_models(store, tdata, tmp_path / "part", cfg, stop_after_epochs=2)  # after personal epoch 1
    assert not part["finished"] and part["phase"] == "personal"
    assert not (tmp_path / "part" / "model.pt").exists()
    resumed = train_models(store, tdata, tmp_path / "part", cfg, resume=True)
    assert resumed == full and np.isfinite(full["best_val_median_pearson"])
    a, b = load_bundle(tmp_path / "full" / "model.pt"), load_bundle(tmp_path / "part" / "model.pt")
    for key in a["personal_state"]:
        assert torch.equal(a["personal_state"][key], b["personal_state"][key]), key
    # training changed the weights away from the reference initialisation
    ref_init = PersonalModel(ModelConfig.tiny(WINDOW)).state_dict()
    assert not torch.equal(a["personal_state"]["dev_head.3.weight"], ref_init["dev_head.3.weight"])


def test_a_checkpoint_of_other_data_is_not_resumed(setup, tmp_path, caplog):
    """Resuming into a folder whose checkpoints were trained on other labels (a regenerated cohort)
    starts afresh, with a warning, and reaches what a fresh run on the new data reaches."""
    import logging
    from dataclasses import replace

    store, tdata, _ = setup
    cfg = TrainConfig(model=ModelConfig.tiny(WINDOW), batch_size=16, ref_epochs=1, epochs=2, seed=3,
                      max_batches_per_epoch=3)
    train_models(store, tdata, tmp_path / "old", cfg, stop_after_epochs=2)
    other = replace(tdata, labels=replace(tdata.labels, dev=tdata.labels.dev[:, ::-1].copy()))
    with caplog.at_level(logging.WARNING, logger="varflow"):
        resumed = train_models(store, other, tmp_path / "old", cfg, resume=True)
    assert "trained on other data" in caplog.text
    assert resumed == train_models(store, other, tmp_path / "fresh", cfg)


def test_gene_step_batch_holds_every_items_haplotypes(setup):
    """A gene-step batch's distinct haplotypes, indexed per item, are the windows PersonalDataset
    builds for the same (gene, sample) items, and each distinct haplotype appears once per gene."""
    store, tdata, _ = setup
    genes = tdata.genes["train"][:3]
    samples = tdata.samples["train"]
    batch = GeneStepDataset(store, genes, samples, tdata.labels).__getitems__([0, 1, 2])
    pairs = np.stack((np.repeat(genes, samples.shape[0]), np.tile(samples, genes.shape[0])), axis=1)
    items = PersonalDataset(store, pairs, tdata.labels).__getitems__(list(range(len(pairs))))
    for key in ("mean", "dev", "gene", "sample"):
        torch.testing.assert_close(batch[key], items[key])
    torch.testing.assert_close(batch["ref"][batch["ref_index"]], items["ref"][items["ref_index"]])
    torch.testing.assert_close(batch["haps"][batch["hap_index"][:, 0]], items["hap1"])
    torch.testing.assert_close(batch["haps"][batch["hap_index"][:, 1]], items["hap2"])
    assert batch["haps"].shape[0] < 2 * len(pairs)  # shared haplotypes are built once
    for g in range(len(genes)):
        rows = np.unique(batch["hap_index"][batch["ref_index"] == g].numpy())
        assert len({batch["haps"][r].numpy().tobytes() for r in rows}) == rows.size


def test_scan_model_reads_both_strands_and_a_reference_genome_deviates_by_zero(setup):
    store, _, _ = setup
    torch.manual_seed(0)
    model = PersonalModel(ModelConfig.scan(WINDOW)).eval()
    torch.nn.init.normal_(model.dev_head.weight)
    ref = PersonalDataset(store, np.array([[0, 0], [1, 1]])).__getitems__([0, 1])["ref"]
    complement = torch.tensor([3, 2, 1, 0, 4], dtype=torch.uint8)
    reverse_complement = complement[ref.long()].flip(1)
    with torch.no_grad():
        torch.testing.assert_close(model.trunk(ref), model.trunk(reverse_complement))
        mean, dev = model(ref, torch.arange(2), *paired(ref, ref))
    assert torch.equal(dev, torch.zeros(2))
    with pytest.raises(VarflowError, match="unknown s2e architecture"):
        ModelConfig(arch="transformer")


def test_gene_steps_train_and_resume_to_the_same_weights(setup, tmp_path):
    store, tdata, _ = setup
    cfg = TrainConfig(model=ModelConfig.scan(WINDOW), ref_epochs=1, epochs=3, genes_per_step=2, lr=5e-3, seed=2)
    full = train_models(store, tdata, tmp_path / "full", cfg)
    assert full["finished"] and full["epochs"] == 3 and np.isfinite(full["best_val_median_pearson"])
    part = train_models(store, tdata, tmp_path / "part", cfg, stop_after_epochs=2)
    assert not part["finished"]
    assert train_models(store, tdata, tmp_path / "part", cfg, resume=True) == full
    a, b = (load_bundle(tmp_path / d / "model.pt")["personal_state"] for d in ("full", "part"))
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert a["dev_head.weight"].abs().max() > 0  # the deviation head left its zero initialisation


def test_cli_trains_the_scan_model_on_whole_gene_steps(setup, tmp_path):
    from typer.testing import CliRunner

    from varflow.cli.main import app

    _, _, out = setup
    expression = out / "expression.parquet"
    base = ["s2e", "train", str(out / "store"), "--expression", str(expression), "--ref-epochs", "1", "--epochs", "1",
            "--device", "cpu"]
    result = CliRunner().invoke(app, base + ["--outdir", str(tmp_path / "m"), "--arch", "scan", "--conv1-channels", "8",
                                             "--motif-width", "9", "--genes-per-step", "2"])
    assert result.exit_code == 0, result.output
    bundle = load_bundle(tmp_path / "m" / "model.pt")
    assert {k: bundle["model_config"][k] for k in ("arch", "conv1_channels", "motif_width")} == {
        "arch": "scan", "conv1_channels": 8, "motif_width": 9}
    assert bundle["train_config"]["genes_per_step"] == 2
    bad = CliRunner().invoke(app, base + ["--outdir", str(tmp_path / "bad"), "--arch", "transformer"])
    assert bad.exit_code == 1 and "unknown s2e architecture 'transformer'" in bad.output
    assert len(bad.output.strip().splitlines()) == 1
