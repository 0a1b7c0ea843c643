"""``nabla predict``: class and class probabilities for every row of a CSV file."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

from nabla.cli.evaluate import (
    input_width,
    load_model_and_metadata,
    model_probabilities,
    prepare_features,
)
from nabla.cli.output import check_destinations
from nabla.data import load_csv_features
from nabla.errors import DataError
from nabla.io.atomic import atomic_write_text


def run_predict(args: argparse.Namespace) -> int:
    check_destinations(args.output)
    model, metadata = load_model_and_metadata(args.model)
    feature_names = metadata.get("feature_names")
    if not feature_names:
        n_in = input_width(model)
        if n_in is None:
            raise DataError(
                f"{args.model}: cannot tell how many features the model takes (it stores no "
                "feature names and does not start with a Linear or BatchNorm1d layer)"
            )
        feature_names = [f"col{j}" for j in range(n_in)]
    X = load_csv_features(args.input, feature_names)
    X = prepare_features(X, metadata, args.input)
    proba = model_probabilities(model, X, args.model)
    class_names = metadata.get("class_names") or [str(i) for i in range(proba.shape[1])]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["row", "predicted", *[f"p_{name}" for name in class_names]])
    for i, p in enumerate(proba):
        writer.writerow([i + 1, class_names[int(p.argmax())], *[f"{v:.6g}" for v in p]])
    if args.output:
        atomic_write_text(Path(args.output), buffer.getvalue())
        print(f"wrote {len(proba)} predictions to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(buffer.getvalue())
    return 0
