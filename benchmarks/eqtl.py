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
With ``--seeds 0,1,2 --folds all`` every setting runs over all LOCO folds of three data sets (each
seed draws its own data and CatBoost seed) and ``summary`` gives, per setting, the mean speed-up and
the mean independent-set AUPRC difference to the naive fit with its 95% CI over the seed x fold fits,
and whether the setting meets the target (>= 5x at a mean difference within 0.01).
Usage (prints one JSON line):

    python benchmarks/eqtl.py --iterations 1000          # the published recipe (naive ~10+ min a fold)
    python benchmarks/eqtl.py --iterations 200 --folds 2 # quicker look on a shared machine
    python benchmarks/eqtl.py --seeds 0,1,2 --folds all  # the full comparison (66 naive fits: ~8 h on 2 cores)
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


def run_seed(seed: int, args) -> tuple[dict, dict]:
    """Every variant on the data set and CatBoost seed ``seed``: (data description, per-variant results)."""
    args.seed = seed
    X, y, w, chrom, dl_mask = synthesise(args.rows + args.independent, args.features, seed=seed)
    X_ind, y_ind = X[args.rows:], y[args.rows:]
    X, y, w, chrom = X[:args.rows], y[:args.rows], w[:args.rows], chrom[:args.rows]
    fw = np.where(dl_mask, 10.0, 1.0).tolist()          # deep-learning category x10, as the default config
    n_folds = len(np.unique(chrom)) if args.folds == "all" else int(args.folds)
    folds = [f"chr{i}" for i in range(1, n_folds + 1)]
    held = np.isin(chrom, folds)
    data = {"seed": seed, "folds": folds, "heldout_rows": int(held.sum()), "heldout_positives": int(y[held].sum()),
            "independent_positives": int(y_ind.sum())}
    results = {}
    for name in args.variants.split(","):
        results[name] = (run_varflow(name, X, y, w, chrom, folds, dl_mask, args, X_ind) if name.startswith("varflow")
                         else run_variant(name, X, y, w, chrom, folds, fw, args, X_ind))
        print(f"# seed {seed} {name}: {results[name]['mean_fold_s']} s per fold", flush=True)
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
            boot = paired_bootstrap(y[held], p[held], base_p, 1000, seed)
            r["auprc_minus_naive"] = round(boot["diff"], 4)
            r["auprc_diff_ci95"] = [round(boot["ci_low"], 4), round(boot["ci_high"], 4)]
    return data, results


def summarise(per_seed: list[dict]) -> dict:
    """Per variant over seeds x folds: mean seconds per fold, speed-up, and the mean independent-set
    AUPRC difference to the naive fit of the same fold with a 95% CI (normal approximation over the
    seed x fold fits), and whether it meets the target (>= 5x at a mean difference within 0.01)."""
    out = {}
    for name in per_seed[0]:
        runs = [r[name] for r in per_seed]
        row = {"mean_fold_s": round(float(np.mean([r["mean_fold_s"] for r in runs])), 2)}
        if "speedup_vs_naive" in runs[0]:
            row["speedup_vs_naive"] = round(float(np.mean([r["speedup_vs_naive"] for r in runs])), 2)
        diffs = np.concatenate([r.get("independent_auprc_minus_naive", []) for r in runs])
        if diffs.size:
            half = 1.96 * diffs.std(ddof=1) / np.sqrt(diffs.size) if diffs.size > 1 else float("nan")
            mean = float(diffs.mean())
            row.update(n_fits=int(diffs.size), independent_auprc_minus_naive=round(mean, 4),
                       ci95=[round(mean - half, 4), round(mean + half, 4)],
                       meets_target=bool(row.get("speedup_vs_naive", 0) >= 5 and abs(mean) <= 0.01))
        out[name] = row
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--folds", default="3", help="held-out chromosomes timed: N (chr1..chrN) or 'all' (every LOCO fold)")
    ap.add_argument("--seeds", default="0", help="comma-separated seeds; each draws its own data set and CatBoost seed")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rows", type=int, default=3056)
    ap.add_argument("--features", type=int, default=4839)
    ap.add_argument("--variants", default="naive,border64,border64_it500_lr06,varflow_border64_it500_lr06")
    ap.add_argument("--independent", type=int, default=10000,
                    help="rows of an independent test set drawn from the same generator: the LOCO held-out "
                         "chromosome has too few positives to resolve AUPRC differences of 0.01")
    args = ap.parse_args()
    out = {"benchmark": "eqtl", "rows": args.rows, "features": args.features, "iterations": args.iterations,
           "threads": args.threads, "independent_rows": args.independent, "machine": platform.node(), "seeds": []}
    per_seed = []
    for seed in (int(s) for s in args.seeds.split(",")):
        data, results = run_seed(seed, args)
        out["seeds"].append({**data, "variants": results})
        per_seed.append(results)
    out["summary"] = summarise(per_seed)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
