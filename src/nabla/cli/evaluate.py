"""``nabla evaluate``: a saved model on a data set: accuracy, per-class P/R/F1 and the confusion
matrix, or RMSE, MAE and R² for a regression."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import nabla as nb
from nabla.cli.output import check_destinations, display_names, plot_confusion
from nabla.data.builtin import builtin_key
from nabla.errors import DataError
from nabla.io.atomic import write_json
from nabla.training import classification_report
from nabla.training.config import parse_delimiter


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


def model_outputs(
    model: Any, X: np.ndarray[Any, Any], metadata: dict[str, Any], source: str
) -> Any:
    """Class probabilities (classification) or predicted values in the target's units."""
    from nabla.cli.model_data import model_task

    if model_task(metadata) != "regression":
        return model_probabilities(model, X, source)
    from nabla.data.columns import target_values
    from nabla.training.evaluation import predict_values

    return target_values(predict_values(model, X.astype(model.dtype)), metadata.get("target"))


def run_evaluate(args: argparse.Namespace) -> int:
    from nabla.cli.model_data import model_rows, model_task

    check_destinations(args.plot, args.json)
    model, metadata = load_model_and_metadata(args.model)
    rows = model_rows(
        args.data,
        metadata,
        target=args.target,
        split=args.split,
        same_data=same_data(args.data, metadata),
        delimiter=parse_delimiter(args.delimiter),
        encoding=args.encoding,
        decimal=args.decimal,
        model=model,
    )
    X, y, split = rows.X, rows.y, rows.split
    header = f"nabla evaluate: {args.model} on {args.data} ({split} split, {len(X)} samples)"
    if model_task(metadata) == "regression":
        return _evaluate_regression(args, model, metadata, rows, header)
    class_names = metadata.get("class_names") or [str(i) for i in range(int(y.max()) + 1)]
    proba = model_probabilities(model, X, args.model)
    predicted = proba.argmax(axis=1)
    shown = display_names(class_names)
    report = classification_report(y, predicted, shown)
    print(header)
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


def _evaluate_regression(
    args: argparse.Namespace,
    model: Any,
    metadata: dict[str, Any],
    rows: Any,
    header: str,
) -> int:
    from nabla.training.metrics import regression_report

    X, y = rows.X, rows.y
    predicted = model_outputs(model, X, metadata, args.model)
    report = regression_report(y, predicted)
    print(header)
    print(report.to_text())
    if args.plot:
        from nabla.viz.report_regression import plot_regression

        plot_regression(y, predicted, Path(args.plot))
        print(f"wrote {args.plot}")
    if args.json:
        write_json(Path(args.json), {"split": rows.split, "samples": len(X), **report.to_dict()})
        print(f"wrote {args.json}")
    return 0
