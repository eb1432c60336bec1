"""Training: a reference model (reference sequence -> gene mean), then a personal model initialised
from it (reference + both haplotypes -> gene mean and the individual's z-scored deviation).

Plain PyTorch: Adam (lr 5e-4, weight decay 1e-5), CyclicLR between lr/2 and 2 lr, gradient clipping
at 1.0, bf16 autocast on CUDA, a checkpoint after every epoch (``resume=True`` continues from it and
reaches the same weights as an uninterrupted run: the data order and the random state of every
epoch derive from (seed, phase, epoch)), best personal epoch by the validation median per-gene
Pearson (validation individuals, training genes). Under ``torchrun`` (WORLD_SIZE > 1) each rank
trains on every WORLD_SIZE-th batch inside DistributedDataParallel; rank 0 writes the files.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from varflow.errors import VarflowError
from varflow.io.atomic import atomic_path, ensure_writable_dir
from varflow.s2e.dataset import GeneStepDataset, Labels, PersonalDataset, ReferenceDataset, identity_collate
from varflow.s2e.inference import autocast, predict_grid, predict_reference
from varflow.s2e.metrics import per_gene_pearson
from varflow.s2e.models import ModelConfig, PersonalModel, ReferenceModel, paired
from varflow.s2e.store import HaplotypeStore

log = logging.getLogger("varflow")

PHASES = {"reference": 1, "personal": 2}


@dataclass
class TrainConfig:
    """Optimisation settings; defaults follow the published recipe, sizes shrink for CPU tests."""

    model: ModelConfig = field(default_factory=ModelConfig)
    batch_size: int = 32
    ref_epochs: int = 10
    epochs: int = 10
    lr: float = 5e-4
    weight_decay: float = 1e-5
    clip: float = 1.0
    dev_weight: float = 10.0
    individuals_per_gene: int = 4       # items of one gene kept together so the reference is embedded once
    genes_per_step: int = 0             # > 0: each personal step takes this many genes with all training
                                        # individuals, distinct haplotypes once (GeneStepDataset); 0: batches
                                        # of batch_size items
    max_batches_per_epoch: int | None = None
    num_workers: int = 0
    amp: bool = True
    seed: int = 0
    snvs_only: bool = False             # apply only SNVs in the haplotypes
    min_af: float = 0.0                 # apply only variants with alt frequency (training haplotypes)
    max_af: float = 1.0                 # in [min_af, max_af]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: dict) -> "TrainConfig":
        doc = dict(doc)
        doc["model"] = ModelConfig(**doc["model"])
        return cls(**doc)


@dataclass
class TrainingData:
    """What training needs besides the store: labels and the store indices of each split."""

    labels: Labels
    splits: dict                 # {"individuals": {train,val,test: [names]}, "genes": {...: [ids]}}
    samples: dict[str, np.ndarray] = field(default_factory=dict)  # split -> store sample indices
    genes: dict[str, np.ndarray] = field(default_factory=dict)    # split -> store gene indices (with expression)
    mean_offset: float = 0.0     # the models predict (gene mean - offset) / scale, both from training genes
    mean_scale: float = 1.0

    def scaled_labels(self) -> Labels:
        """Labels whose gene mean is standardised over training genes (the training target)."""
        return Labels((self.labels.mean - self.mean_offset) / self.mean_scale, self.labels.sd, self.labels.dev,
                      self.labels.has_expr)

    @classmethod
    def build(cls, store: HaplotypeStore, labels: Labels, splits: dict) -> "TrainingData":
        sample_pos = {s: i for i, s in enumerate(store.samples)}
        samples = {k: np.array(sorted(sample_pos[s] for s in v if s in sample_pos), dtype=np.int64)
                   for k, v in splits["individuals"].items()}
        genes = {k: np.array(sorted(store.gene_index[g] for g in v if g in store.gene_index
                                    and labels.has_expr[store.gene_index[g]]), dtype=np.int64)
                 for k, v in splits["genes"].items()}
        if samples["train"].size < 2 or genes["train"].size < 1:
            raise VarflowError("training needs at least 2 training individuals and 1 training gene with expression")
        train_means = labels.mean[genes["train"]].astype(np.float64)
        scale = float(train_means.std()) if train_means.size > 1 and train_means.std() > 1e-12 else 1.0
        return cls(labels, splits, samples, genes, float(train_means.mean()), scale)


def prepare_training_data(store: HaplotypeStore, expression, *, seed: int = 0, individual_splits: Path | None = None,
                          val_chroms: list[str] | None = None, test_chroms: list[str] | None = None,
                          source: str = "expression") -> TrainingData:
    """Align expression to the store, split individuals (seeded 80/10/10 or ``individual_splits``)
    and genes (by chromosome), and compute labels from the training individuals only."""
    from varflow.s2e.dataset import align_expression, compute_labels
    from varflow.s2e.splits import read_individual_splits, split_genes, split_individuals

    expr, shared = align_expression(expression, store, source)
    if individual_splits is not None:
        ind = read_individual_splits(Path(individual_splits), shared)
    else:
        ind = split_individuals(shared, seed)
    splits = {"individuals": ind, "genes": split_genes(store.genes, val_chroms, test_chroms)}
    pos = {s: i for i, s in enumerate(store.samples)}
    train = np.array([pos[s] for s in ind["train"]], dtype=np.int64)
    return TrainingData.build(store, compute_labels(expr, train), splits)


def _dist() -> tuple[int, int]:
    """(rank, world size); initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def _epoch_rng(seed: int, phase: str, epoch: int) -> np.random.Generator:
    torch.manual_seed(seed * 100_003 + PHASES[phase] * 10_007 + epoch)
    return np.random.default_rng([seed, PHASES[phase], epoch])


def personal_batches(pairs: np.ndarray, batch_size: int, per_gene: int, rng: np.random.Generator) -> list[list[int]]:
    """Shuffled batches of pair indices in which items come in chunks of ``per_gene`` from one gene."""
    chunks = []
    for g in np.unique(pairs[:, 0]):
        idx = rng.permutation(np.flatnonzero(pairs[:, 0] == g))
        chunks.extend(idx[i:i + per_gene] for i in range(0, idx.shape[0], per_gene))
    order = np.concatenate([chunks[i] for i in rng.permutation(len(chunks))])
    return [order[i:i + batch_size].tolist() for i in range(0, order.shape[0], batch_size)]


def _shard_batches(batches: list[list[int]], rank: int, world: int) -> list[list[int]]:
    """This rank's batches; every rank gets the same number (DDP all-reduces each step), so the
    remainder is dropped, and with fewer batches than ranks the items are dealt out instead."""
    if len(batches) < world:
        items = [i for b in batches for i in b]
        return [items[rank::world]] if len(items) >= world else [items]
    usable = len(batches) // world * world
    return batches[rank:usable:world]


def _haplotype_inputs(batch: dict, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(haps, hap_index) of a personal batch on ``device``: a gene-step batch has them, an item batch
    has each item's two haplotypes."""
    if "haps" in batch:
        return batch["haps"].to(device, non_blocking=True), batch["hap_index"].to(device)
    return paired(batch["hap1"].to(device, non_blocking=True), batch["hap2"].to(device, non_blocking=True))


def _optimiser(model: nn.Module, cfg: TrainConfig, steps_per_epoch: int):
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CyclicLR(opt, base_lr=cfg.lr / 2, max_lr=cfg.lr * 2,
                                              step_size_up=max(1, steps_per_epoch), cycle_momentum=False)
    return opt, sched


def _save(obj: dict, path: Path) -> None:
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(obj, tmp)


def data_fingerprint(data: TrainingData) -> str:
    """The data a checkpoint was trained on: the splits and the labels (gene means, SDs and every
    individual's deviation, float64 bytes). A resume needs the same (the settings are checked by
    ``train_models`` against checkpoints/config.json)."""
    digest = hashlib.sha256(json.dumps(data.splits, sort_keys=True, default=str).encode())
    for values in (data.labels.mean, data.labels.sd, data.labels.dev):
        digest.update(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return digest.hexdigest()


def _load(path: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a truncated or foreign file
        raise VarflowError(f"{path}: cannot read checkpoint ({exc})".replace("\n", " ")) from None


def validation_score(model: PersonalModel, store: HaplotypeStore, data: TrainingData, device: str,
                     cfg: TrainConfig) -> float:
    """Median per-gene Pearson of predicted vs observed deviation over validation individuals."""
    genes, samples = data.genes["train"], data.samples["val"]
    if samples.size < 3:
        return float("nan")
    _, pred = predict_grid(model, store, genes, samples, device=device, batch_size=cfg.batch_size, amp=cfg.amp)
    obs = data.labels.dev[np.ix_(genes, samples)]
    r = per_gene_pearson(np.repeat(genes, samples.shape[0]), obs.reshape(-1), pred.reshape(-1))
    return float(np.nanmedian(r.to_numpy())) if r.notna().any() else float("nan")


def _run_phase(phase: str, model: nn.Module, store: HaplotypeStore, data: TrainingData, cfg: TrainConfig,
               device: str, ckpt_path: Path, n_epochs: int, resume: bool, budget: list[int | None],
               rank: int, world: int) -> tuple[dict, list[dict], bool]:
    """Train one phase; returns (best state dict, history, finished)."""
    labels = data.scaled_labels()
    per_step = cfg.batch_size
    if phase == "reference":
        dataset = ReferenceDataset(store, data.genes["train"], labels)
        n_items = len(dataset)
    elif cfg.genes_per_step:
        dataset = GeneStepDataset(store, data.genes["train"], data.samples["train"], labels)
        n_items, per_step = len(dataset), cfg.genes_per_step
    else:
        train_pairs = np.stack(np.meshgrid(data.genes["train"], data.samples["train"], indexing="ij"),
                               axis=-1).reshape(-1, 2)
        dataset = PersonalDataset(store, train_pairs, labels)
        n_items = train_pairs.shape[0]
    steps = -(-n_items // per_step)
    if cfg.max_batches_per_epoch:
        steps = min(steps, cfg.max_batches_per_epoch)
    steps = max(1, -(-steps // world))
    model.to(device)
    opt, sched = _optimiser(model, cfg, steps)
    start_epoch, history = 0, []
    best_state, best_metric, best_epoch = None, None, -1
    fingerprint = data_fingerprint(data)
    ck = _load(ckpt_path) if resume and ckpt_path.exists() else None
    if ck is not None and ck.get("fingerprint") != fingerprint:
        log.warning("s2e train: %s was trained on other data (splits or labels differ: another cohort?); "
                    "the %s phase starts afresh", ckpt_path, phase)
        ck = None
    if ck is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        start_epoch, history = ck["epoch"], ck["history"]
        best_state, best_metric, best_epoch = ck["best_state"], ck["best_metric"], ck["best_epoch"]
        log.info("s2e train: resumed %s phase after epoch %d from %s", phase, start_epoch, ckpt_path)
    net = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    for epoch in range(start_epoch, n_epochs):
        if budget[0] is not None and budget[0] <= 0:
            return best_state, history, False
        t0 = time.perf_counter()
        rng = _epoch_rng(cfg.seed, phase, epoch)
        if phase == "reference":
            order = rng.permutation(n_items)
            batches = [order[i:i + cfg.batch_size].tolist() for i in range(0, n_items, cfg.batch_size)]
        elif cfg.genes_per_step:
            order = rng.permutation(n_items)
            batches = [order[i:i + per_step].tolist() for i in range(0, n_items, per_step)]
        else:
            batches = personal_batches(train_pairs, cfg.batch_size, cfg.individuals_per_gene, rng)
        if cfg.max_batches_per_epoch:
            batches = batches[:cfg.max_batches_per_epoch]
        if world > 1:
            batches = _shard_batches(batches, rank, world)
        loader = torch.utils.data.DataLoader(dataset, batch_sampler=batches, collate_fn=identity_collate,
                                             num_workers=cfg.num_workers, pin_memory=device.startswith("cuda"),
                                             persistent_workers=False)
        net.train()
        total, count = 0.0, 0
        for batch in loader:
            opt.zero_grad(set_to_none=True)
            with autocast(device, cfg.amp):
                if phase == "reference":
                    pred = net(batch["ref"].to(device, non_blocking=True))
                    loss = nn.functional.mse_loss(pred.float(), batch["mean"].to(device))
                else:
                    mean, devp = net(batch["ref"].to(device, non_blocking=True), batch["ref_index"].to(device),
                                     *_haplotype_inputs(batch, device))
                    loss = (nn.functional.mse_loss(mean.float(), batch["mean"].to(device))
                            + cfg.dev_weight * nn.functional.mse_loss(devp.float(), batch["dev"].to(device)))
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(batch["gene"])
            count += len(batch["gene"])
        record = {"phase": phase, "epoch": epoch + 1, "train_loss": total / max(count, 1),
                  "seconds": round(time.perf_counter() - t0, 3), "items": count * world}
        if phase == "reference":
            val = data.genes["val"]
            if val.size:
                pred = predict_reference(model, store, val, device=device, batch_size=cfg.batch_size, amp=cfg.amp)
                metric = -float(np.mean((pred - labels.mean[val]) ** 2))
                record["val_mse"] = -metric
            else:
                metric = -record["train_loss"]
        else:
            metric = validation_score(model, store, data, device, cfg)
            record["val_median_pearson"] = metric
        history.append(record)
        if best_metric is None or (np.isfinite(metric) and (not np.isfinite(best_metric) or metric > best_metric)):
            best_state = copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
            best_metric, best_epoch = float(metric), epoch + 1
        if rank == 0:
            _save({"phase": phase, "epoch": epoch + 1, "model": model.state_dict(), "optimizer": opt.state_dict(),
                   "scheduler": sched.state_dict(), "history": history, "best_state": best_state,
                   "best_metric": best_metric, "best_epoch": best_epoch, "config": cfg.to_dict(),
                   "fingerprint": fingerprint}, ckpt_path)
        if world > 1:
            dist.barrier()
        log.info("s2e train %s epoch %d/%d: loss %.4f, %s, %.1f s", phase, epoch + 1, n_epochs,
                 record["train_loss"], {k: round(v, 4) for k, v in record.items() if k.startswith("val")},
                 record["seconds"])
        if budget[0] is not None:
            budget[0] -= 1
    return best_state, history, True


def train_models(store: HaplotypeStore, data: TrainingData, outdir: Path, cfg: TrainConfig, *,
                 device: str = "cpu", resume: bool = False, stop_after_epochs: int | None = None,
                 provenance: str | None = None) -> dict:
    """Train the reference then the personal model; write ``model.pt``, ``splits.json``, ``history.json``.

    ``stop_after_epochs`` ends the call after that many epochs (both phases counted), as an
    interruption would; calling again with ``resume=True`` continues from the checkpoints.
    Returns a summary dict (``finished`` False when stopped early). ``provenance`` (JSON text) is
    stored in the bundle.
    """
    if cfg.model.window != store.window:
        raise VarflowError(f"model window {cfg.model.window} differs from the store window {store.window}")
    outdir = ensure_writable_dir(Path(outdir))
    ckpt_dir = ensure_writable_dir(outdir / "checkpoints")
    rank, world = _dist()
    if cfg.snvs_only or cfg.min_af > 0 or cfg.max_af < 1:
        from varflow.s2e.dataset import apply_variant_options

        kept = apply_variant_options(store, data.samples["train"], snvs_only=cfg.snvs_only, min_af=cfg.min_af,
                                     max_af=cfg.max_af)
        log.info("s2e train: %d variants kept by the SNV / allele-frequency options", kept)
    if world > 1 and device.startswith("cuda"):
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        torch.cuda.set_device(device)
    saved_cfg = ckpt_dir / "config.json"
    if resume and saved_cfg.exists() and json.loads(saved_cfg.read_text()) != cfg.to_dict():
        raise VarflowError(f"{saved_cfg}: the checkpoints were made with other settings; resume with the same "
                           "options or start in a new folder")
    if rank == 0:
        saved_cfg.write_text(json.dumps(cfg.to_dict(), indent=1))
    torch.manual_seed(cfg.seed)
    budget = [stop_after_epochs]

    ref_model = ReferenceModel(cfg.model)
    ref_best, ref_hist, done = _run_phase("reference", ref_model, store, data, cfg, device,
                                          ckpt_dir / "reference.pt", cfg.ref_epochs, resume, budget, rank, world)
    if not done:
        return {"finished": False, "phase": "reference", "epochs_done": len(ref_hist)}
    ref_model.load_state_dict(ref_best)
    torch.manual_seed(cfg.seed + 1)
    personal = PersonalModel.from_reference(ref_model.cpu())
    best, hist, done = _run_phase("personal", personal, store, data, cfg, device, ckpt_dir / "personal.pt",
                                  cfg.epochs, resume, budget, rank, world)
    if not done:
        return {"finished": False, "phase": "personal", "epochs_done": len(ref_hist) + len(hist)}
    personal_hist = [h for h in hist if h["phase"] == "personal"]
    scores = [h["val_median_pearson"] for h in personal_hist]
    finite = [i for i, s in enumerate(scores) if np.isfinite(s)]
    best_epoch = (max(finite, key=lambda i: scores[i]) + 1) if finite else len(scores)
    summary = {"finished": True, "best_epoch": best_epoch,
               "best_val_median_pearson": scores[best_epoch - 1] if scores else float("nan"),
               "epochs": len(personal_hist), "ref_epochs": len(ref_hist)}
    if rank == 0:
        bundle = {"model_config": cfg.model.to_dict(), "personal_state": best,
                  "reference_state": ref_best, "train_config": cfg.to_dict(), "splits": data.splits,
                  "mean_offset": data.mean_offset, "mean_scale": data.mean_scale,
                  "provenance": provenance or "",
                  "summary": summary}
        _save(bundle, outdir / "model.pt")
        with atomic_path(outdir / "history.json", suffix=".json") as tmp:
            tmp.write_text(json.dumps(ref_hist + hist, indent=1))
    if world > 1:
        dist.barrier()
    return summary


def load_bundle(path: Path) -> dict:
    """The ``model.pt`` bundle written by ``train_models`` (checked for its keys)."""
    path = Path(path)
    if not path.exists():
        raise VarflowError(f"{path}: model file not found")
    bundle = _load(path)
    for key in ("model_config", "personal_state", "splits", "train_config"):
        if key not in bundle:
            raise VarflowError(f"{path}: not an s2e model bundle (no '{key}')")
    return bundle
