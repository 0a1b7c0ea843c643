"""``nabla evaluate``: a saved model on a data set: accuracy, per-class P/R/F1, confusion matrix."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import nabla as nb
from nabla.cli.output import check_destinations, plot_confusion
from nabla.data import StandardScaler, split_dataset
from nabla.data.builtin import builtin_key
from nabla.data.tabular import match_features
from nabla.errors import DataError
from nabla.io.atomic import write_json
from nabla.training import classification_report
from nabla.training.recipe import load_classification_data


def load_model_and_metadata(path: str) -> tuple[Any, dict[str, Any]]:
    from nabla.io import load, load_metadata

    model = load(path)
    metadata = load_metadata(path).get("user", {})
    return model, metadata


def input_width(model: Any) -> int | None:
    """The number of input features of `model`: its first Linear's or BatchNorm1d's width."""
    from nabla.nn import BatchNorm1d, Linear

    for module in model.modules():
        if isinstance(module, Linear):
            return int(module.in_features)
        if isinstance(module, BatchNorm1d):
            # only a width backed by stored tensors (a config alone could claim 10**10)
            stored = module.affine or module.track_running_stats
            return int(module.num_features) if stored else None
    return None


def model_probabilities(model: Any, X: np.ndarray[Any, Any], source: str) -> np.ndarray[Any, Any]:
    """Class probabilities of `model` for rows `X`, by the exporters' rule (see deploy.py)."""
    from nabla.deploy import ExportError, class_probabilities

    try:
        return class_probabilities(model, nb.tensor(X.astype(model.dtype)))
    except ExportError as exc:
        raise DataError(f"{source}: {exc}") from None


def prepare_features(
    X: np.ndarray[Any, Any],
    metadata: dict[str, Any],
    source: str,
    names: Sequence[str] | None = None,
) -> np.ndarray[Any, Any]:
    """The model's feature columns of `X`, with its training standardisation applied.

    With `names` (the columns of `X`), the model's features are picked by name, in its order
    (:func:`~nabla.data.tabular.match_features`); without, `X` must have the model's columns.
    """
    model_names = metadata.get("feature_names") or []
    if names is not None and model_names:
        X = X[:, match_features(names, model_names, source=source)]
    expected = len(model_names) or None
    if expected is not None and X.shape[1] != expected:
        raise DataError(
            f"{source}: has {X.shape[1]} features, but the model was trained on {expected}"
        )
    scaler = metadata.get("scaler")
    return StandardScaler.from_dict(scaler).transform(X) if scaler else X


def data_target(spec: str, target: str | None, metadata: dict[str, Any]) -> str | None:
    """--target, else the target the model was trained on when `spec` is the same kind of file.

    A CSV or .npz target is a column or array name; the model file stores the one it was
    trained on (``target_name``), which names nothing in a built-in set or another kind of file.
    """
    if target is not None:
        return target
    kind = Path(spec).suffix.lower()
    trained_on = Path(str(metadata.get("data", ""))).suffix.lower()
    stored = metadata.get("target_name")
    return stored if kind in (".csv", ".npz") and kind == trained_on and stored else None


def same_data(spec: str, metadata: dict[str, Any]) -> bool:
    """Whether `spec` is the model's training data: the same file, wherever it is run from."""
    stored = metadata.get("data_path")
    if stored is not None:
        return Path(spec).exists() and Path(spec).resolve() == Path(stored)
    return metadata.get("data") == spec  # a built-in set (or a model file from before data_path)


def training_data(model_path: str, metadata: dict[str, Any]) -> str:
    """The model's training data, found without trusting the folder this command runs in.

    ``nabla train`` stores the path as typed (relative to where training ran) and its absolute
    form (``data_path``); a file moved away, or an older model file whose relative path is not
    beside the model file, is refused with a hint to pass --data.
    """
    data = str(metadata.get("data") or "digits")
    stored = metadata.get("data_path")
    if stored is not None:
        if not Path(stored).exists():
            raise DataError(
                f"{model_path}: its training data {stored} no longer exists; pass --data"
            )
        return str(stored)
    if builtin_key(data) is not None or Path(data).is_absolute():
        return data
    beside = Path(model_path).parent / data
    if beside.exists():
        return str(beside)
    raise DataError(
        f"{model_path}: its training data {data!r} is a path relative to where training ran, "
        f"and {beside} does not exist; pass --data"
    )


def map_labels(
    y: np.ndarray[Any, Any], data_classes: list[str] | None, model_classes: list[str], source: str
) -> np.ndarray[Any, Any]:
    """Class ids of the data → class ids of the model, matched by class name."""
    names = [str(c) for c in (data_classes or range(int(y.max()) + 1))]
    index = {name: i for i, name in enumerate(model_classes)}
    unknown = [n for n in names if n not in index]
    if unknown:
        raise DataError(
            f"{source}: class(es) {', '.join(map(repr, unknown[:5]))} were not seen in training "
            f"(the model knows {', '.join(map(repr, model_classes[:10]))})"
        )
    lookup = np.array([index[n] for n in names], dtype=np.int64)
    codes: np.ndarray[Any, Any] = lookup[y]
    return codes


#: longest class name printed in full in tables and plots
MAX_NAME = 40


def display_names(names: Sequence[str], limit: int = MAX_NAME) -> list[str]:
    """Class names for tables and plots: a long one keeps its start and says how long it was."""
    shown = [
        name if len(name) <= limit else f"{name[: limit - 16]}...({len(name)} chars)"
        for name in map(str, names)
    ]
    repeated = {name for name in shown if shown.count(name) > 1}
    return [f"{name} #{i}" if name in repeated else name for i, name in enumerate(shown)]


def run_evaluate(args: argparse.Namespace) -> int:
    check_destinations(args.plot, args.json)
    model, metadata = load_model_and_metadata(args.model)
    target = data_target(args.data, args.target, metadata)
    data = load_classification_data(args.data, target, by_name=args.target is None)
    class_names = metadata.get("class_names") or [str(i) for i in range(data.n_classes)]
    split = args.split
    if split == "auto":
        split = "test" if same_data(args.data, metadata) else "all"
    X, y = data.X, data.y
    if split != "all":
        if "seed" not in metadata:
            raise DataError(f"{args.model}: has no record of its training split; use --split all")
        if data.X_test is not None and data.y_test is not None and split == "test":
            X, y = data.X_test, data.y_test
        else:
            parts = split_dataset(
                data.X,
                data.y,
                val_split=metadata["val_split"],
                test_split=0.0 if data.X_test is not None else metadata["test_split"],
                seed=metadata["seed"],
            )
            X, y = getattr(parts, f"X_{split}"), getattr(parts, f"y_{split}")
    if len(X) == 0:
        raise DataError(f"{args.data}: the {split} split is empty")
    X = prepare_features(X, metadata, str(data.source), names=data.feature_names)
    y = map_labels(y, data.class_names, class_names, str(data.source))
    proba = model_probabilities(model, X, args.model)
    predicted = proba.argmax(axis=1)
    shown = display_names(class_names)
    report = classification_report(y, predicted, shown)
    print(f"nabla evaluate: {args.model} on {args.data} ({split} split, {len(X)} samples)")
    print(f"accuracy: {report.accuracy:.4f}")
    print(report.to_text())
    if args.plot:
        plot_confusion(report.confusion, shown, Path(args.plot))
        print(f"wrote {args.plot}")
    if args.json:
        full = classification_report(y, predicted, class_names)  # the JSON keeps whole names
        write_json(Path(args.json), {"split": split, "samples": len(X), **full.to_dict()})
        print(f"wrote {args.json}")
    return 0
