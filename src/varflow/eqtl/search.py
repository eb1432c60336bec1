"""Per-category CatBoost feature-weight search (the scEEMS v2 revision), one search per LOCO fold.

For the fold holding out chromosome c, the search sees only that fold's training rows: the train set of
every other chromosome. Those chromosomes split by number into odd and even halves (chrX and other
non-numeric names go with the even half). A trial proposes one CatBoost feature weight per feature
category (log-uniform in ``[weight_min, weight_max]``) and scores it twice:

    objective 1 = AUPRC on the even half's train-set rows of a model fitted on the odd half,
    objective 2 = AUPRC on the odd half's train-set rows of a model fitted on the even half,

so the study is multi-objective (Optuna ``TPESampler``, seeded by the config's seed). Each half is
quantised once on its own rows (``search.border_count`` borders) and reused by every trial; the search
fits use the config's CatBoost recipe with ``search.iterations`` trees at ``search.learning_rate``. The first two trials are the
unweighted point (all weights 1) and the config's fixed weights (clipped to the range), so the search
never ends below either on its own objectives. Rule for the chosen point: the Pareto-front trial with
the highest mean of the two AUPRCs (the highest-mean trial is always on the front), ties to the earlier
trial.

``compare_weightings`` pairs the held-out predictions of the fixed-weight folds with those of the
searched-weight folds and reports unweighted, fixed and searched side by side with paired bootstrap CIs.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from varflow.eqtl.config import EqtlConfig
from varflow.eqtl.contract import FeatureContract
from varflow.eqtl.evaluate import average_precision, paired_bootstrap
from varflow.eqtl.labels import balanced_weights
from varflow.eqtl.schemas import HELDOUT
from varflow.eqtl.train import TrainingData, catboost_params, chrom_order
from varflow.errors import VarflowError
from varflow.io.tables import read_table

log = logging.getLogger("varflow")

#: written by ``train --weights`` into its folder; marks the folder's "weighted" models as searched ones
SEARCHED_MARKER = "searched_weights.json"
#: model name -> (held-out table, probability column) in ``compare_weightings``
COMPARED = {"unweighted": ("fixed", "prob_unweighted"), "fixed": ("fixed", "prob_weighted"),
            "searched": ("searched", "prob_weighted")}
PAIRS = (("searched", "unweighted"), ("searched", "fixed"), ("fixed", "unweighted"))


@dataclass(frozen=True)
class Halves:
    """The odd and even training chromosomes of one fold and their train-set rows into TrainingData."""

    odd: list[str]
    even: list[str]
    odd_rows: np.ndarray
    even_rows: np.ndarray


def split_halves(data: TrainingData, heldout: str) -> Halves:
    """Odd / even halves of the fold's training chromosomes (train-set rows, ``heldout`` excluded)."""
    train = data.is_train & (data.chrom != heldout)
    chroms = sorted(set(data.chrom[train]), key=chrom_order)
    odd = [c for c in chroms if chrom_order(c)[0] % 2 == 1]   # non-numeric names sort as 10**6: even
    even = [c for c in chroms if c not in odd]
    halves = Halves(odd=odd, even=even, odd_rows=np.flatnonzero(train & np.isin(data.chrom, odd)),
                    even_rows=np.flatnonzero(train & np.isin(data.chrom, even)))
    for name, rows in (("odd", halves.odd_rows), ("even", halves.even_rows)):
        if len(np.unique(data.y[rows])) < 2:
            raise VarflowError(f"search: fold {heldout}: the {name} training chromosomes "
                               f"({', '.join(getattr(halves, name)) or 'none'}) lack positives or negatives; "
                               "the odd/even search needs both classes in both halves")
    return halves


class WeightSearch:
    """Optuna search of one feature weight per category for one LOCO fold (see the module docstring)."""

    def __init__(self, config: EqtlConfig, contract: FeatureContract):
        self.config = config
        self.contract = contract
        self.categories = sorted(set(contract.categories.values()))

    def start_points(self) -> list[dict[str, float]]:
        """The unweighted point and the config's fixed weights, clipped to the searched range."""
        lo, hi = self.config.search.weight_min, self.config.search.weight_max
        fixed = {c: float(np.clip(self.config.weight_of(c), lo, hi)) for c in self.categories}
        unweighted = {c: float(np.clip(1.0, lo, hi)) for c in self.categories}
        return [unweighted] if fixed == unweighted else [unweighted, fixed]

    def half_pool(self, data: TrainingData, rows: np.ndarray):
        """A quantised CatBoost Pool of ``rows`` (``search.border_count`` borders from those rows alone,
        balanced sample weights)."""
        from catboost import Pool

        pool = Pool(data.X[rows], label=data.y[rows], weight=balanced_weights(data.y[rows], data.pip[rows]),
                    feature_names=list(self.contract.columns))
        pool.quantize(border_count=self.config.search.border_count)
        return pool

    def fit_score(self, weights: dict[str, float], pool, X_val: np.ndarray, y_val: np.ndarray) -> float:
        """AUPRC on (X_val, y_val) of a search fit on ``pool`` with per-category ``weights``."""
        from catboost import CatBoostClassifier

        params = catboost_params(self.config, quantised=True)
        params.pop("early_stopping_rounds", None)   # the search fits have no validation set
        params.update(iterations=self.config.search.iterations, learning_rate=self.config.search.learning_rate)
        per_feature = self.contract.category_weights(weights)
        params["feature_weights"] = [per_feature[c] for c in self.contract.columns]
        model = CatBoostClassifier(**params).fit(pool)
        return average_precision(y_val, model.predict_proba(X_val)[:, 1])

    def run(self, data: TrainingData, heldout: str) -> dict[str, Any]:
        """Search the fold holding out ``heldout``; returns the chosen weights, every trial and the front."""
        import optuna

        try:
            halves = split_halves(data, heldout)
        except VarflowError as exc:  # too few labelled chromosomes to search: keep the published weights
            log.warning("%s; fold %s keeps the config's fixed weights", exc, heldout)
            return {"heldout": heldout, "weights": self.start_points()[-1], "chosen_trial": None,
                    "rule": f"not searched: {exc}", "trials": [], "pareto_front": []}
        pools = {"odd": self.half_pool(data, halves.odd_rows), "even": self.half_pool(data, halves.even_rows)}
        lo, hi = self.config.search.weight_min, self.config.search.weight_max

        def objective(trial: "optuna.Trial") -> tuple[float, float]:
            weights = {c: trial.suggest_float(c, lo, hi, log=True) for c in self.categories}
            return (self.fit_score(weights, pools["odd"], data.X[halves.even_rows], data.y[halves.even_rows]),
                    self.fit_score(weights, pools["even"], data.X[halves.odd_rows], data.y[halves.odd_rows]))

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(directions=["maximize", "maximize"],
                                    sampler=optuna.samplers.TPESampler(seed=self.config.seed))
        for point in self.start_points():
            study.enqueue_trial(point)
        study.optimize(objective, n_trials=self.config.search.trials)
        return search_result(study, heldout, halves)


def search_result(study, heldout: str, halves: Halves) -> dict[str, Any]:
    """The JSON document of a finished study: chosen weights by the best-mean rule, trials, Pareto front."""
    trials = [{"number": t.number, "weights": dict(t.params), "auprc_odd_to_even": t.values[0],
               "auprc_even_to_odd": t.values[1], "auprc_mean": float(np.mean(t.values))}
              for t in study.trials]
    best = max(trials, key=lambda t: (t["auprc_mean"], -t["number"]))
    return {"heldout": heldout, "weights": best["weights"], "chosen_trial": best["number"],
            "rule": "Pareto-front trial with the highest mean of the two AUPRCs, ties to the earlier trial",
            "odd_chromosomes": halves.odd, "even_chromosomes": halves.even,
            "pareto_front": sorted(t.number for t in study.best_trials), "trials": trials}


def read_searched_weights(path: Path) -> dict[str, Any]:
    """The ``{"heldout": chrom or None, "weights": {category: weight}}`` of a search result (or of a plain
    ``{category: weight}`` mapping, usable for any fold)."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise VarflowError(f"{path}: not a weights file ({exc})") from None
    weights = doc.get("weights", doc) if isinstance(doc, dict) else None
    if not isinstance(weights, dict) or not all(isinstance(w, (int, float)) and w > 0 for w in weights.values()):
        raise VarflowError(f"{path}: expected {{category: positive weight}} (or a search result's 'weights')")
    return {"heldout": doc.get("heldout"), "weights": {str(c): float(w) for c, w in weights.items()}}


def _heldout_frame(train_dirs: list[Path]) -> pd.DataFrame:
    """Held-out predictions of the folds in ``train_dirs``, in chromosome order."""
    files = [f for d in train_dirs for f in Path(d).glob("heldout_*.parquet")]
    if not files:
        raise VarflowError(f"no held-out predictions (heldout_*.parquet) in {', '.join(map(str, train_dirs))}")
    files.sort(key=lambda f: chrom_order(f.stem.removeprefix("heldout_")))
    return pd.concat([read_table(f, HELDOUT) for f in files], ignore_index=True)


def _verdict(boot: dict[str, float], first: str, second: str) -> str:
    """Which of two models wins by the 95% CI of AUPRC(first) - AUPRC(second); 'neither' when it spans 0."""
    if boot["ci_low"] > 0:
        return first
    if boot["ci_high"] < 0:
        return second
    return "neither"


def compare_weightings(fixed_dirs: list[Path], searched_dirs: list[Path], *, n_boot: int, seed: int
                       ) -> dict[str, Any]:
    """Pooled held-out AUPRC / AUROC of unweighted, fixed and searched weights and paired bootstrap 95%
    CIs of their AUPRC differences (the same resampled rows for every pair).

    fixed_dirs: train folders of the config's weights; searched_dirs: folders trained with ``--weights``.
    Both must hold the same folds, hence the same held-out rows in the same order.
    """
    from sklearn.metrics import roc_auc_score

    frames = {"fixed": _heldout_frame(fixed_dirs), "searched": _heldout_frame(searched_dirs)}
    keys = ["variant_id", "gene_id", "chrom", "label"]
    if not frames["fixed"][keys].equals(frames["searched"][keys]):
        raise VarflowError("compare weightings: the searched folds do not hold the same held-out rows as the "
                           "fixed-weight folds (train both on the same labels and chromosomes)")
    y = frames["fixed"]["label"].to_numpy()
    scores = {m: frames[src][col].to_numpy() for m, (src, col) in COMPARED.items()}
    models = {m: {"auprc": average_precision(y, s), "auroc": float(roc_auc_score(y, s))} for m, s in scores.items()}
    bootstrap = {}
    for first, second in PAIRS:
        boot = paired_bootstrap(y, scores[first], scores[second], n_boot, seed)
        bootstrap[f"{first}_minus_{second}"] = {**boot, "winner": _verdict(boot, first, second)}
    return {"n_heldout": int(len(y)), "n_positive": int(y.sum()), "models": models, "bootstrap": bootstrap}
