"""Windows shipped as uint8 base codes: the model's on-device one-hot equals the loader's float
one-hot, so every consumer (training forward in train and eval mode, prediction, gradient x input)
gives the same numbers through either encoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from varflow.s2e.dataset import PersonalDataset, ReferenceDataset
from varflow.s2e.haplotypes import ONEHOT_LUT
from varflow.s2e.inference import predict_grid, predict_reference
from varflow.s2e.models import ModelConfig, PersonalModel, ReferenceModel, paired
from varflow.s2e.onehot import base_codes, onehot_codes, onehot_codes_torch
from varflow.s2e.store import HaplotypeStore, prepare_chromosome
from varflow.s2e.toydata import write_toy_data

WINDOW = 240


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    out = tmp_path_factory.mktemp("s2e_onehot")
    data = write_toy_data(out, seed=5, n_samples=8, chrom_lengths=(3000,), genes_per_chrom=5,
                          variant_rate=0.05, window=WINDOW)
    prepare_chromosome(data.vcf, data.reference, data.genes, "chr1", out / "store" / "chr1.npz", window=WINDOW)
    return HaplotypeStore.load(out / "store")


@pytest.mark.parametrize("encode", [onehot_codes, onehot_codes_torch])
def test_code_onehot_equals_ascii_onehot_for_every_byte(encode):
    ascii_codes = np.arange(256, dtype=np.uint8)
    codes = torch.from_numpy(base_codes(ascii_codes)).reshape(2, 128)
    np.testing.assert_array_equal(encode(codes).numpy().reshape(256, 4), ONEHOT_LUT)


def _models(window: int, arch: str = "sagenet") -> tuple[ReferenceModel, PersonalModel]:
    torch.manual_seed(0)
    ref_model = ReferenceModel(ModelConfig.scan(window) if arch == "scan" else ModelConfig.tiny(window))
    personal = PersonalModel.from_reference(ref_model)
    with torch.no_grad():  # non-trivial running statistics for the eval-mode BatchNorm
        for bn in (m for m in personal.modules() if isinstance(m, torch.nn.BatchNorm1d)):
            bn.running_mean.uniform_(-0.1, 0.1)
            bn.running_var.uniform_(0.5, 2.0)
        if arch == "scan":  # its deviation head starts at zero
            personal.dev_head.weight.normal_()
    return ref_model.eval(), personal.eval()


def _batches(store: HaplotypeStore) -> dict[str, dict[str, torch.Tensor]]:
    pairs = np.array([[g, i] for g in range(store.n_genes) for i in (0, 3, 5)])
    return {enc: PersonalDataset(store, pairs, encoding=enc).__getitems__(list(range(len(pairs))))
            for enc in ("codes", "onehot")}


@pytest.mark.parametrize("train_mode", [False, True])
def test_personal_model_same_through_codes_and_onehot(store, train_mode):
    _, model = _models(store.window)
    batches = _batches(store)
    assert batches["codes"]["hap1"].dtype == torch.uint8 and batches["onehot"]["hap1"].dtype == torch.float32
    model.train(train_mode)
    out = {enc: model(b["ref"], b["ref_index"], *paired(b["hap1"], b["hap2"])) for enc, b in batches.items()}
    for k in (0, 1):
        torch.testing.assert_close(out["codes"][k], out["onehot"][k], rtol=0, atol=1e-6)


@pytest.mark.parametrize("arch", ["sagenet", "scan"])
def test_predictions_same_through_codes_and_onehot(store, arch):
    """predict_grid / predict_reference (the loader's default, base codes, each gene's distinct
    haplotypes once, in trunk passes of 3 windows) equal the models run item by item on the float
    one-hot of every (gene, sample) (eval mode: an item's output does not depend on its batch)."""
    ref_model, personal = _models(store.window, arch)
    genes = np.arange(store.n_genes)
    samples = np.array([5, 0, 3, 1])
    pairs = np.stack(np.meshgrid(genes, samples, indexing="ij"), axis=-1).reshape(-1, 2)
    mean, dev = predict_grid(personal, store, genes, samples, batch_size=3)
    b = PersonalDataset(store, pairs, encoding="onehot").__getitems__(list(range(len(pairs))))
    ref = ReferenceDataset(store, genes, encoding="onehot").__getitems__(list(genes))["ref"]
    with torch.no_grad():
        m, d = personal(b["ref"], b["ref_index"], *paired(b["hap1"], b["hap2"]))
        ref_mean = ref_model(ref)
    assert np.abs(dev).max() > 0  # the toy cohort's haplotypes differ from the reference
    np.testing.assert_allclose(mean, m.numpy()[::len(samples)], rtol=0, atol=1e-5)
    np.testing.assert_allclose(dev.reshape(-1), d.numpy(), rtol=0, atol=1e-5)
    np.testing.assert_allclose(predict_reference(ref_model, store, genes), ref_mean.numpy(), rtol=0, atol=1e-6)


def test_gradient_x_input_through_codes_equals_float_path(store):
    """Gradient x input needs a float input that requires grad: one-hot the codes first, then take
    the gradient with respect to that one-hot; it equals the gradient at the loader's float one-hot."""
    _, model = _models(store.window)
    model.eval()
    batches = _batches(store)
    grads = []
    for x in (onehot_codes(batches["codes"]["ref"]), batches["onehot"]["ref"].clone()):
        x.requires_grad_(True)
        z = model.shared(model.trunk(x))
        (grad,) = torch.autograd.grad(model.deviation(z, z.detach() * 0.9).sum(), x)
        grads.append((grad * x).sum(-1))
    torch.testing.assert_close(grads[0], grads[1], rtol=0, atol=1e-6)
