"""The eqtl YAML config: annotation sources, feature categories and weights, labels, CatBoost recipe.

A new cell type or tissue needs only a new YAML file; several configs run side by side, one per cell
type. Example (see ``varflow/data/eqtl/default.yaml``)::

    name: my_celltype
    seed: 9448
    finemap: {path: my_celltype.susie.tsv}   # optional: this cell type's fine-mapping (default: the cohort's)
    sources:
      - {name: atac, type: bed, path: atac_peaks.bed, category: regulatory, window: 0, value: binary}
      - {name: dl, type: variant_scores, path: dl.parquet, columns: "dl_*", category: deep_learning, abs: true}
      - {name: loeuf, type: gene_scores, path: constraint.parquet, category: gene_constraint}
    categories: {deep_learning: 10, regulatory: 1, gene_constraint: 1}
    labels: {npr: 10}
    catboost: {iterations: 1000}

A source names its file either by ``path`` (relative to the YAML file's real location, or absolute) or by
``cohort`` (a key of a cohort manifest; a keyed group such as ``regulatory_bed`` expands to one feature
per entry, ``regulatory_bed.hepatocyte`` names one entry). Built-in feature categories (``distance``,
``variant_type``, ``allele_freq``) always exist with weight 1 unless the config sets them.

Extra score files (``--extra-scores`` of ``varflow eqtl featurize``, ``eqtl_extra_scores`` of the
in-process pipeline, the s2e variant-effect table in ``run all``) are appended to any config as
``variant_scores`` sources of category ``deep_learning`` (see ``with_extra_scores``).
"""

from __future__ import annotations

import difflib
import functools
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from varflow.errors import VarflowError

SOURCE_TYPES = ("bed", "variant_scores", "gene_scores")
#: category of extra score files; weighted like the config's other deep-learning sources (1 if undeclared)
EXTRA_CATEGORY = "deep_learning"
BUILTIN_CATEGORIES = ("distance", "variant_type", "allele_freq")

# The published recipe (scEEMS/GEMS description): Logloss, depth 5, 1000 trees, lr 0.03, l2 5,
# 10 Newton leaf-estimation steps. thread_count 2 matches the development machines.
DEFAULT_CATBOOST: dict[str, Any] = {
    "loss_function": "Logloss",
    "depth": 5,
    "iterations": 1000,
    "learning_rate": 0.03,
    "l2_leaf_reg": 5.0,
    "leaf_estimation_iterations": 10,
    "leaf_estimation_method": "Newton",
    "border_count": 254,
    "thread_count": 2,
}

#: the published recipe's CatBoost seed (and negative-sampling seed) when a config sets none
DEFAULT_SEED = 9448

DEFAULT_LABELS: dict[str, Any] = {
    "train_cs_min_pip": 0.05,     # member of a CS with pip > this ...
    "train_cs_top_pip": 0.1,      # ... and the CS's top PIP > this
    "train_single_pip": 0.5,      # or pip > this outside any CS
    "test_pip": 0.9,              # test positives: pip >= this
    "negative_max_pip": 0.01,     # negatives: pip < this
    "npr": 10,                    # negatives per positive
}


@dataclass(frozen=True)
class Source:
    """One annotation source. ``files`` maps a feature-name suffix ('' for a single file) to a path."""

    name: str
    type: str
    category: str
    files: dict[str, Path]
    columns: str | None = None   # glob over score columns (variant/gene scores); None = all numeric
    window: int = 0              # bp either side of the variant for BED overlap
    value: str = "binary"        # BED: binary (0/1) or score (max overlapping score)
    abs: bool = False            # also add |x| columns


@dataclass
class EqtlConfig:
    """Validated eqtl config. ``catboost`` holds the full parameter dict (defaults filled in)."""

    name: str
    seed: int
    sources: list[Source]
    category_weights: dict[str, float]
    labels: dict[str, Any]
    catboost: dict[str, Any]
    allele_freq: Path | None = None
    finemap: Path | None = None   # this cell type's fine-mapping table; None: the run's (the cohort's 'finemap')
    path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    search: SearchConfig = field(default_factory=lambda: SearchConfig())

    def weight_of(self, category: str) -> float:
        return float(self.category_weights.get(category, 1.0))


def _err(where: str, message: str) -> VarflowError:
    return VarflowError(f"{where}: {message}")


def _resolve_files(where: str, spec: dict[str, Any], base: Path, cohort: Any | None) -> dict[str, Path]:
    if ("path" in spec) == ("cohort" in spec):
        raise _err(where, "give exactly one of 'path' or 'cohort'")
    if "path" in spec:
        path = Path(spec["path"])
        path = path if path.is_absolute() else base / path
        files = {"": path}
    else:
        if cohort is None:
            raise _err(where, f"names cohort key {spec['cohort']!r} but no cohort folder was given")
        key = str(spec["cohort"])
        group, _, member = key.partition(".")  # 'regulatory_bed.hepatocyte': one entry of a keyed group
        entry = cohort.files.get(group)
        if entry is None:
            raise _err(where, f"cohort key {group!r} is not in {cohort.root}/cohort.yaml")
        if member:
            members = cohort.group(group) if isinstance(entry, dict) else {}
            if member not in members:
                raise _err(where, f"cohort key {key!r}: {group!r} has no entry {member!r} "
                                  f"(entries: {', '.join(members) or 'none, it names one file'})")
            files = {"": members[member]}
        else:
            files = cohort.group(group) if isinstance(entry, dict) else {"": cohort.path(group)}
    for path in files.values():
        if not path.exists():
            raise _err(where, f"file not found: {path}")
    return files


def _source(where: str, spec: Any, base: Path, cohort: Any | None, categories: dict[str, float],
            resolve: bool = True) -> Source:
    if not isinstance(spec, dict):
        raise _err(where, "each source must be a mapping")
    for key in ("name", "type", "category"):
        if key not in spec:
            raise _err(where, f"missing key '{key}'")
    name, stype, category = str(spec["name"]), str(spec["type"]), str(spec["category"])
    if not name.replace("_", "").isalnum():
        raise _err(where, f"name {name!r} must be letters, digits and underscores")
    if stype not in SOURCE_TYPES:
        raise _err(where, f"type {stype!r} is not one of {', '.join(SOURCE_TYPES)}")
    if category not in categories:
        raise _err(where, f"unknown category {category!r} (declared: {', '.join(sorted(categories))})")
    value = str(spec.get("value", "binary"))
    if value not in ("binary", "score"):
        raise _err(where, f"value {value!r} must be binary or score")
    window = spec.get("window", 0)
    if not isinstance(window, int) or window < 0:
        raise _err(where, f"window must be a non-negative integer, got {window!r}")
    unknown = set(spec) - {"name", "type", "category", "path", "cohort", "columns", "window", "value", "abs"}
    if unknown:
        raise _err(where, f"unknown key(s) {', '.join(sorted(unknown))}")
    files = _resolve_files(where, spec, base, cohort) if resolve else {}
    return Source(name=name, type=stype, category=category, files=files,
                  columns=spec.get("columns"), window=window, value=value, abs=bool(spec.get("abs", False)))


def parse_config(doc: dict[str, Any], *, path: Path | None = None, cohort: Any | None = None,
                 resolve_files: bool = True) -> EqtlConfig:
    """Validate a config mapping; ``path`` (the YAML file) anchors relative paths and error messages.

    ``resolve_files=False`` skips locating source files (steps after featurize need only the
    categories, weights, labels and CatBoost sections).
    """
    where = str(path) if path is not None else "<eqtl config>"
    # a staged config (e.g. a Nextflow symlink) keeps relative paths anchored at the original file
    base = path.resolve().parent if path is not None else Path.cwd()
    if not isinstance(doc, dict):
        raise _err(where, "the config must be a YAML mapping")
    unknown = set(doc) - {"name", "seed", "sources", "categories", "labels", "catboost", "allele_freq", "search",
                          "finemap"}
    if unknown:
        raise _err(where, f"unknown top-level key(s) {', '.join(sorted(unknown))}")
    categories = {c: 1.0 for c in BUILTIN_CATEGORIES}
    for cat, weight in (doc.get("categories") or {}).items():
        if not isinstance(weight, (int, float)) or weight <= 0:
            raise _err(where, f"categories.{cat}: weight must be a positive number, got {weight!r}")
        categories[str(cat)] = float(weight)
    sources = [_source(f"{where}: sources[{i}]", spec, base, cohort, categories, resolve_files)
               for i, spec in enumerate(doc.get("sources") or [])]
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise _err(where, f"source names must be unique, got {names}")
    labels = dict(DEFAULT_LABELS)
    for key, val in (doc.get("labels") or {}).items():
        if key not in DEFAULT_LABELS:
            raise _err(where, f"labels.{key}: unknown (known: {', '.join(DEFAULT_LABELS)})")
        labels[key] = val
    for key in ("train_cs_min_pip", "train_cs_top_pip", "train_single_pip", "test_pip", "negative_max_pip"):
        if not isinstance(labels[key], (int, float)) or not 0 <= labels[key] <= 1:
            raise _err(where, f"labels.{key}: must be a number in [0, 1], got {labels[key]!r}")
    if not isinstance(labels["npr"], int) or labels["npr"] < 1:
        raise _err(where, f"labels.npr: must be a positive integer, got {labels['npr']!r}")
    catboost = {**DEFAULT_CATBOOST, **_catboost_section(where, doc.get("catboost"))}
    name = str(doc.get("name", "eqtl"))
    seed = doc.get("seed", DEFAULT_SEED)
    if not isinstance(seed, int):
        raise _err(where, f"seed must be an integer, got {seed!r}")
    allele_freq = None
    if doc.get("allele_freq") is not None and resolve_files:
        allele_freq = _resolve_files(f"{where}: allele_freq", doc["allele_freq"], base, cohort)[""]
    # the cell type's own fine-mapping (labels come from it); always resolved: the labels step needs it
    finemap = _resolve_files(f"{where}: finemap", doc["finemap"], base, cohort)[""] \
        if doc.get("finemap") is not None else None
    return EqtlConfig(name=name, seed=seed, finemap=finemap, sources=sources,
                      category_weights=categories, labels=labels, catboost=catboost,
                      allele_freq=allele_freq, path=path, raw=doc,
                      search=parse_search(f"{where}: search", doc.get("search")))


@functools.lru_cache(maxsize=1)
def catboost_parameters() -> frozenset[str]:
    """The keyword parameters the installed CatBoostClassifier accepts (from its ``__init__`` signature)."""
    from catboost import CatBoostClassifier

    return frozenset(name for name in inspect.signature(CatBoostClassifier.__init__).parameters if name != "self")


def _catboost_section(where: str, section: Any) -> dict[str, Any]:
    """The config's ``catboost:`` mapping, checked key by key before anything is computed: each must be a
    CatBoostClassifier parameter (a typo names the closest one) other than those varflow sets itself."""
    section = section or {}
    if not isinstance(section, dict):
        raise _err(where, "catboost: must be a mapping of CatBoostClassifier parameters")
    known = catboost_parameters()
    for key in section:
        if key in ("feature_weights", "random_seed", "task_type"):
            raise _err(where, f"catboost.{key}: set through 'categories', 'seed' and --device instead")
        if key not in known:
            closest = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0)[0]
            raise _err(where, f"catboost.{key}: not a CatBoostClassifier parameter (did you mean '{closest}'?)")
    return dict(section)


def parse_extra_scores(items: list[Any] | None) -> list[tuple[str, Path]]:
    """``[(source name, path)]`` from extra score files given as ``FILE``, ``NAME=FILE`` or
    ``{name:, path:}``; unnamed files are called ``extra1``, ``extra2``, ... in the order given."""
    out: list[tuple[str, Path]] = []
    for i, item in enumerate(items or [], start=1):
        if isinstance(item, dict):
            if "path" not in item:
                raise VarflowError(f"extra scores #{i}: a mapping needs 'path' (and optionally 'name')")
            name, path = str(item.get("name") or f"extra{i}"), Path(item["path"])
        else:
            text = str(item)
            head, sep, tail = text.partition("=")
            # NAME=FILE only when the part before '=' is a plain name: a path may itself contain '='
            if sep and head and "/" not in head and head.replace("_", "").isalnum():
                name, path = head, Path(tail)
            else:
                name, path = f"extra{i}", Path(text)
        out.append((name, path))
    return out


def with_extra_scores(doc: dict[str, Any], extra_scores: list[Any] | None) -> dict[str, Any]:
    """A copy of config mapping ``doc`` with each extra score file appended as a source.

    Each file is a ``variant_scores`` Parquet keyed by variant_id (and gene_id when it has one); every
    other column becomes a feature ``<name>__<column>`` of category ``EXTRA_CATEGORY``, which keeps the
    config's weight for it (CatBoost feature_weights) or gets weight 1 when the config declares none.
    """
    extras = parse_extra_scores(extra_scores)
    if not extras:
        return doc
    if not isinstance(doc, dict):
        return doc  # parse_config reports the bad document
    merged = dict(doc)
    merged["categories"] = {EXTRA_CATEGORY: 1.0, **(doc.get("categories") or {})}
    merged["sources"] = [*(doc.get("sources") or []),
                         *({"name": name, "type": "variant_scores", "path": str(Path(path).absolute()),
                            "category": EXTRA_CATEGORY} for name, path in extras)]
    return merged


def load_config(path: Path | str | None = None, *, cohort: Any | None = None,
                resolve_files: bool = True, extra_scores: list[Any] | None = None) -> EqtlConfig:
    """Read and validate a YAML config; ``None`` loads the packaged default (for simulated cohorts).

    ``extra_scores``: variant-score files added as deep-learning sources (see ``with_extra_scores``).
    """
    if path is None:
        path = default_config_path()
    path = Path(path)
    if not path.exists():
        raise VarflowError(f"{path}: config file not found")
    if not path.is_file():
        raise VarflowError(f"{path}: the eqtl config is not a file")
    try:
        with open(path) as handle:
            doc = yaml.safe_load(handle) or {}
    except yaml.YAMLError as exc:
        raise VarflowError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return parse_config(with_extra_scores(doc, extra_scores), path=path, cohort=cohort,
                        resolve_files=resolve_files)


def config_paths(value: Any) -> list[Path | None]:
    """The eqtl config file(s) a param names: unset -> ``[None]`` (the packaged default); one path; a list of
    paths; or a comma-separated string of them (the form a Nextflow ``--eqtl_config a.yaml,b.yaml`` takes).
    Several configs are several cell types, each run on its own (``varflow.eqtl.pipeline``)."""
    if value is None or value == "" or value == []:
        return [None]
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    paths = [Path(str(item).strip()) for item in items if str(item).strip()]
    return paths or [None]


def default_config_path() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "eqtl" / "default.yaml"


@dataclass(frozen=True)
class SearchConfig:
    """The per-category weight search (``varflow eqtl search``; the YAML ``search:`` section).

    trials: Optuna trials per LOCO fold (two fits each); iterations / learning_rate / border_count: the
    CatBoost trees, step and borders per feature of each search fit (the rest of the recipe is the
    config's ``catboost``; 32 borders make a fit ~6x cheaper than 254 on the demo cohort); weight_min /
    weight_max: the log-uniform range searched for each category's feature weight. The search is seeded
    by the config's ``seed``.
    """

    trials: int = 16
    iterations: int = 100
    learning_rate: float = 0.1
    border_count: int = 32
    weight_min: float = 1.0
    weight_max: float = 10.0


def parse_search(where: str, doc: Any) -> SearchConfig:
    """Validate the ``search:`` mapping (unset keys keep the SearchConfig defaults)."""
    doc = doc or {}
    if not isinstance(doc, dict):
        raise _err(where, "must be a mapping")
    known = SearchConfig.__dataclass_fields__
    unknown = set(doc) - set(known)
    if unknown:
        raise _err(where, f"unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(known)})")
    for key in ("trials", "iterations", "border_count"):
        if key in doc and (not isinstance(doc[key], int) or doc[key] < 1):
            raise _err(where, f"{key} must be a positive integer, got {doc[key]!r}")
    for key in ("learning_rate", "weight_min", "weight_max"):
        if key in doc and (not isinstance(doc[key], (int, float)) or doc[key] <= 0):
            raise _err(where, f"{key} must be a positive number, got {doc[key]!r}")
    search = SearchConfig(**doc)
    if search.weight_min > search.weight_max:
        raise _err(where, f"weight_min {search.weight_min} is above weight_max {search.weight_max}")
    return search
