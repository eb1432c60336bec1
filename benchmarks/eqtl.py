"""eqtl benchmark: one LOCO fold of the published CatBoost recipe, naive vs varflow's fast path.

Synthesises a training set shaped like the published toy (3,056 variant-gene pairs x 4,839 features,
9% positives, 22 chromosomes; mostly deep-learning-like continuous scores, some 0/1 annotations, a few
informative columns) and times, for the same held-out chromosomes:

  naive      DataFrame (float64) -> CatBoostClassifier.fit per fold (CatBoost builds and quantises a
             Pool from the frame inside every fit), published recipe, 254 borders
  pool_reuse float32 Pool quantised once (254 borders) and sliced per fold: the exact recipe
  border<N>[_rsm<D>][_it<T>][_lr<D>][_es<R>]   as pool_reuse with N borders per feature (changes the
             model), optionally rsm 0.D (fraction of features per split), T trees at learning rate 0.D,
             early stopping after R rounds without improvement on an inner validation chromosome (the
             one varflow uses: the next training chromosome). E.g. border64, border64_it500_lr06, border64_es50
  varflow_border<N>...  the same settings through varflow's own LOCO trainer (LocoTrainer.fit_fold: each fold
             quantises its own training rows, sample weights re-balanced per fold, config catboost
             {border_count, rsm, iterations, learning_rate, early_stopping_rounds}); a varflow fold fits the
             weighted AND the unweighted model, so its speed-up is against 2 x the naive (weighted) fit:
             feature weights do not change what a fit costs

Every variant fits a fold with the same sample weights, re-balanced on the fold's training rows as
varflow's trainer does (positives pip-proportional, both classes of equal total weight), so that the
variants differ only in how they fit.

Reports seconds per fold and per tree, speed-up ratios against naive, pooled LOCO held-out AUPRC
with a paired bootstrap CI of the difference to naive, and each fold model's AUPRC on a large
independent test set from the same generator (precise enough to resolve differences of ~0.01).
Usage (prints one JSON line):

    python benchmarks/eqtl.py --iterations 1000          # the published recipe (naive ~10+ min a fold)
    python benchmarks/eqtl.py --iterations 200 --folds 2 # quicker look on a shared machine
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import time

import numpy as np
import pandas as pd

from varflow.eqtl.config import DEFAULT_CATBOOST
from varflow.eqtl.evaluate import average_precision, paired_bootstrap
from varflow.eqtl.labels import balanced_weights
from varflow.eqtl.train import inner_validation_chrom


def synthesise(n: int = 3056, p: int = 4839, pos_rate: float = 0.09, n_chrom: int = 22, seed: int = 0):
    """X (n, p) float32, y (n,), weight (n,), chrom (n,) str, dl_mask (p,) bool (deep-learning columns)."""
    rng = np.random.default_rng(seed)
    n_bin, n_inf = min(300, p // 4), 24
    X = rng.normal(size=(n, p)).astype(np.float32)
    X[:, 1:n_bin + 1] = rng.random((n, n_bin)) < 0.08                      # 0/1 annotations
    X[:, 0] = np.log(rng.integers(1, 100_000, n))                          # ln distance to TSS
    informative = np.r_[1:9, n_bin + 1:n_bin + 1 + n_inf - 8]
    beta = rng.normal(0, 0.8, informative.size)
    logit = X[:, informative] @ beta - 0.35 * (X[:, 0] - 8)
    # choose the intercept that gives the wanted positive rate
    order = np.sort(logit)[::-1]
    y = (logit >= order[int(pos_rate * n)]).astype(np.int64)
    flip = rng.random(n)
    y = np.where(y == 1, flip > 0.15, flip < 0.015).astype(np.int64)       # label noise, keeps ~9% positives
    pip = np.where(y == 1, rng.uniform(0.5, 1.0, n), 0.0)
    weight = np.where(y == 1, pip * (y == 0).sum() / pip[y == 1].sum(), 1.0)
    chrom = np.array([f"chr{i}" for i in rng.integers(1, n_chrom + 1, n)])
    dl_mask = np.zeros(p, dtype=bool)
    dl_mask[n_bin + 1:] = True
    return X, y, weight, chrom, dl_mask


def recipe(iterations: int, threads: int, seed: int) -> dict:
    params = {k: v for k, v in DEFAULT_CATBOOST.items() if k != "border_count"}
    params.update(iterations=iterations, thread_count=threads, random_seed=seed, verbose=0,
                  allow_writing_files=False)
    return params


def _parse_variant(name: str) -> tuple[int, dict, int]:
    """'naive' | 'pool_reuse' | '[varflow_]border<N>[_rsm<D>][_it<T>][_lr<D>][_es<R>]' ->
    (borders, CatBoost overrides, early-stopping rounds or 0)."""
    if name in ("naive", "pool_reuse"):
        return 254, {}, 0
    m = re.fullmatch(r"(?:varflow_)?border(\d+)(?:_rsm(\d+))?(?:_it(\d+))?(?:_lr(\d+))?(?:_es(\d+))?", name)
    if m is None:
        raise SystemExit(f"unknown variant {name!r}")
    borders, rsm, trees, lr, es = m.groups()
    extra = {}
    if rsm:
        extra["rsm"] = float("0." + rsm)
    if trees:
        extra["iterations"] = int(trees)
    if lr:
        extra["learning_rate"] = float("0." + lr)
    return int(borders), extra, int(es or 0)


def run_varflow(name, X, y, w, chrom, folds, dl_mask, args, X_ind):
    """varflow's LocoTrainer on the same rows: every row is a train row; the held-out chromosomes' rows
    are added again as test rows. Returns the weighted models' predictions, as run_variant does."""
    from varflow.eqtl.config import parse_config
    from varflow.eqtl.contract import FeatureContract
    from varflow.eqtl.train import LocoTrainer, TrainingData

    borders, extra, early = _parse_variant(name)
    overrides = {"border_count": borders, "iterations": args.iterations, "thread_count": args.threads, **extra}
    if early:
        overrides["early_stopping_rounds"] = early
    config = parse_config({"seed": args.seed, "categories": {"deep_learning": 10}, "catboost": overrides},
                          resolve_files=False)
    columns = [f"f{i}" for i in range(X.shape[1])]
    contract = FeatureContract(columns, {c: "deep_learning" if dl else "annotation" for c, dl in zip(columns, dl_mask)},
                               {c: "none" for c in columns})
    held = np.isin(chrom, folds)
    data = TrainingData(X=np.vstack([X, X[held]]), y=np.r_[y, y[held]], pip=np.r_[w, w[held]] * np.r_[y, y[held]],
                        chrom=np.r_[chrom, chrom[held]], is_train=np.r_[np.ones(len(y), bool), np.zeros(held.sum(), bool)],
                        keys=pd.DataFrame({"row": np.r_[np.arange(len(y)), np.flatnonzero(held)]}))
    trainer = LocoTrainer(config, contract)
    probs = np.full(len(y), np.nan)
    fold_seconds, trees, ind_probs = [], [], []
    for c in folds:
        t = time.perf_counter()
        res = trainer.fit_fold(data, c)
        fold_seconds.append(time.perf_counter() - t)
        heldout = res["heldout"]
        probs[heldout["row"].to_numpy()] = heldout["prob_weighted"].to_numpy()
        trees.append(res["info"]["trees"]["weighted"])
        ind_probs.append(res["models"]["weighted"].predict_proba(X_ind)[:, 1])
    return {"fold_s": [round(s, 2) for s in fold_seconds],
            "mean_fold_s": round(float(np.mean(fold_seconds)), 2), "models_per_fold": 2,
            "trees": trees, "probs": probs, "ind_probs": ind_probs}


def run_variant(name, X, y, w, chrom, folds, fw, args, X_ind):
    from catboost import CatBoostClassifier, Pool

    probs = np.full(len(y), np.nan)
    ind_probs = []
    fold_seconds, setup = [], 0.0
    border, extra, early = _parse_variant(name)
    if name != "naive":
        t = time.perf_counter()
        pool = Pool(X, label=y, weight=w)                    # float32 array, no DataFrame
        pool.quantize(border_count=border)
        setup = time.perf_counter() - t
    else:
        frame = pd.DataFrame(X.astype(np.float64))
    trees = []

    def fold_weights(rows):
        return balanced_weights(y[rows], w[rows] * y[rows])

    def weighted_slice(rows):
        part = pool.slice(rows)
        part.set_weight(fold_weights(rows))
        return part

    for c in folds:
        train = np.flatnonzero(chrom != c)
        test = np.flatnonzero(chrom == c)
        params = {**recipe(args.iterations, args.threads, args.seed), **extra}
        params["feature_weights"] = fw
        t = time.perf_counter()
        if name == "naive":
            model = CatBoostClassifier(**params, border_count=254)
            model.fit(frame.iloc[train], y[train], sample_weight=fold_weights(train))
            probs[test] = model.predict_proba(frame.iloc[test])[:, 1]
        else:
            model = CatBoostClassifier(**params)
            if early:
                # inner validation: the chromosome varflow would use, taken out of this fold's training rows
                inner = inner_validation_chrom(chrom[train], c)
                fit_rows = np.flatnonzero((chrom != c) & (chrom != inner))
                val_rows = np.flatnonzero(chrom == inner)
                model.fit(weighted_slice(fit_rows), eval_set=weighted_slice(val_rows), early_stopping_rounds=early)
            else:
                model.fit(weighted_slice(train))
            probs[test] = model.predict_proba(X[test])[:, 1]
        fold_seconds.append(time.perf_counter() - t)
        trees.append(int(model.tree_count_))
        ind_probs.append(model.predict_proba(X_ind)[:, 1])
    return {"setup_s": round(setup, 2), "fold_s": [round(s, 2) for s in fold_seconds],
            "mean_fold_s": round(float(np.mean(fold_seconds)) + setup / len(folds), 2),
            "s_per_tree": round(float(np.sum(fold_seconds)) / max(1, sum(trees)), 4),
            "trees": trees, "probs": probs, "ind_probs": ind_probs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--folds", type=int, default=3, help="held-out chromosomes timed (chr1..chrN)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rows", type=int, default=3056)
    ap.add_argument("--features", type=int, default=4839)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variants", default="naive,border64,border64_it500_lr06,varflow_border64_it500_lr06")
    ap.add_argument("--independent", type=int, default=10000,
                    help="rows of an independent test set drawn from the same generator: the LOCO held-out "
                         "chromosome has too few positives to resolve AUPRC differences of 0.01")
    args = ap.parse_args()
    X, y, w, chrom, dl_mask = synthesise(args.rows + args.independent, args.features, seed=args.seed)
    X_ind, y_ind = X[args.rows:], y[args.rows:]
    X, y, w, chrom = X[:args.rows], y[:args.rows], w[:args.rows], chrom[:args.rows]
    fw = np.where(dl_mask, 10.0, 1.0).tolist()          # deep-learning category x10, as the default config
    folds = [f"chr{i}" for i in range(1, args.folds + 1)]
    held = np.isin(chrom, folds)
    out = {"benchmark": "eqtl", "rows": int(len(y)), "features": int(X.shape[1]), "positive_rate": round(float(y.mean()), 3),
           "iterations": args.iterations, "threads": args.threads, "folds": folds,
           "heldout_rows": int(held.sum()), "heldout_positives": int(y[held].sum()),
           "independent_rows": int(len(y_ind)), "independent_positives": int(y_ind.sum()), "machine": platform.node()}
    results = {}
    for name in args.variants.split(","):
        results[name] = (run_varflow(name, X, y, w, chrom, folds, dl_mask, args, X_ind) if name.startswith("varflow")
                         else run_variant(name, X, y, w, chrom, folds, fw, args, X_ind))
        print(f"# {name}: {results[name]['mean_fold_s']} s per fold", flush=True)
    base = results.get("naive")
    base_ind = base["ind_probs"] if base is not None else None
    base_p = base["probs"][held] if base is not None else None
    for name, r in results.items():
        p = r.pop("probs")
        ind = r.pop("ind_probs")
        r["heldout_auprc"] = round(average_precision(y[held], p[held]), 4)
        r["independent_auprc"] = [round(average_precision(y_ind, q), 4) for q in ind]
        if base is None:
            continue
        r["speedup_vs_naive"] = round(r.get("models_per_fold", 1) * base["mean_fold_s"] / r["mean_fold_s"], 2)
        if name != "naive":
            r["independent_auprc_minus_naive"] = [round(average_precision(y_ind, q) - average_precision(y_ind, b), 4)
                                                  for q, b in zip(ind, base_ind)]
            boot = paired_bootstrap(y[held], p[held], base_p, 1000, args.seed)
            r["auprc_minus_naive"] = round(boot["diff"], 4)
            r["auprc_diff_ci95"] = [round(boot["ci_low"], 4), round(boot["ci_high"], 4)]
    out["variants"] = results
    print(json.dumps(out))


if __name__ == "__main__":
    main()
