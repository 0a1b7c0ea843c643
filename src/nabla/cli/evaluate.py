"""``nabla evaluate``: a saved model on a data set: accuracy, per-class P/R/F1, confusion matrix."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import nabla as nb
from nabla.cli.output import plot_confusion, write_json
from nabla.cli.train import load_classification_data
from nabla.data import StandardScaler, split_dataset
from nabla.errors import DataError
from nabla.training import classification_report


def load_model_and_metadata(path: str) -> tuple[Any, dict[str, Any]]:
    from nabla.io import load, load_metadata

    model = load(path)
    metadata = load_metadata(path).get("user", {})
    return model, metadata


def prepare_features(
    X: np.ndarray[Any, Any], metadata: dict[str, Any], source: str
) -> np.ndarray[Any, Any]:
    """Check the feature count against the model's and apply its training standardisation."""
    expected = len(metadata.get("feature_names", [])) or None
    if expected is not None and X.shape[1] != expected:
        raise DataError(
            f"{source}: has {X.shape[1]} features, but the model was trained on {expected}"
        )
    scaler = metadata.get("scaler")
    return StandardScaler.from_dict(scaler).transform(X) if scaler else X


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
    return lookup[y]


def run_evaluate(args: argparse.Namespace) -> int:
    model, metadata = load_model_and_metadata(args.model)
    data = load_classification_data(args.data, args.target)
    class_names = metadata.get("class_names") or [str(i) for i in range(data.n_classes)]
    split = args.split
    if split == "auto":
        split = "test" if metadata.get("data") == args.data else "all"
    X, y = data.X, data.y
    if split != "all":
        if "seed" not in metadata:
            raise DataError(f"{args.model}: has no record of its training split; use --split all")
        if data.X_test is not None and split == "test":
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
    X = prepare_features(X, metadata, str(data.source))
    y = map_labels(y, data.class_names, class_names, str(data.source))
    proba = model.predict_proba(nb.tensor(X.astype(model.dtype)))
    report = classification_report(y, proba.argmax(axis=1), class_names)
    print(f"nabla evaluate: {args.model} on {args.data} ({split} split, {len(X)} samples)")
    print(f"accuracy: {report.accuracy:.4f}")
    print(report.to_text())
    if args.plot:
        plot_confusion(report.confusion, class_names, Path(args.plot))
        print(f"wrote {args.plot}")
    if args.json:
        write_json(Path(args.json), {"split": split, "samples": len(X), **report.to_dict()})
        print(f"wrote {args.json}")
    return 0
