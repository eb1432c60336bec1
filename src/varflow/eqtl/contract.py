"""The feature contract: the exact feature columns a model expects, with how each was made.

Written by ``featurize`` next to the features and copied beside every model. ``predict`` refuses
features whose columns differ from the contract, because CatBoost scores columns by position.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from varflow.errors import VarflowError
from varflow.io.atomic import atomic_path


@dataclass
class FeatureContract:
    """Ordered feature columns; ``categories``/``transforms`` per column; ``imputation`` = fill values.

    ``imputation`` maps a column to the median that filled its missing values in the training frame;
    featurizing new data with this contract reuses those values instead of recomputing them.
    """

    columns: list[str]
    categories: dict[str, str]
    transforms: dict[str, str]
    imputation: dict[str, float] = field(default_factory=dict)
    config_name: str = ""

    def category_weights(self, weights: dict[str, float]) -> dict[str, float]:
        """CatBoost ``feature_weights`` {column: weight} from per-category weights (default 1)."""
        return {c: float(weights.get(self.categories[c], 1.0)) for c in self.columns}

    def check(self, df: pd.DataFrame, where: str) -> None:
        """Raise VarflowError unless ``df`` holds exactly the contract's feature columns."""
        from varflow.eqtl.schemas import KEY_COLUMNS

        have = [c for c in df.columns if c not in KEY_COLUMNS]
        missing = [c for c in self.columns if c not in have]
        extra = [c for c in have if c not in self.columns]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing {len(missing)} column(s) e.g. {', '.join(missing[:3])}")
            if extra:
                parts.append(f"{len(extra)} column(s) not in the contract e.g. {', '.join(extra[:3])}")
            raise VarflowError(f"{where}: feature columns differ from the feature contract "
                               f"({'; '.join(parts)}); featurize with the same config/contract as the model")

    def save(self, path: Path | str) -> Path:
        path = Path(path)
        with atomic_path(path, suffix=".json") as tmp:
            tmp.write_text(json.dumps(asdict(self), indent=1))
        return path

    @classmethod
    def load(cls, path: Path | str) -> "FeatureContract":
        path = Path(path)
        if not path.exists():
            raise VarflowError(f"{path}: feature contract not found")
        try:
            doc = json.loads(path.read_text())
            contract = cls(**doc)
        except (json.JSONDecodeError, TypeError) as exc:
            raise VarflowError(f"{path}: not a feature contract ({exc})") from None
        if set(contract.categories) != set(contract.columns):
            raise VarflowError(f"{path}: every contract column needs a category")
        return contract
