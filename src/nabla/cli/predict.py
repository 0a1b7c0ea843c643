"""``nabla predict``: the class and class probabilities, or the predicted value, of every row.

The rows are read the way the model's training run read its data (see
:mod:`nabla.cli.model_data`): columns by name, text one-hot encoded, missing numbers filled,
standardised; a CNN's input is read as images (digits, an IDX folder's training images, an
.npz archive), one row per image. The output starts with the ID column when there is one (``--id``, or the
training run's ``--id`` when the file has that column), then the row number.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path
from typing import Any

from nabla.cli.evaluate import load_model_and_metadata, model_outputs
from nabla.cli.model_data import (
    align_columns,
    model_image_shape,
    model_preprocessing,
    model_task,
    read_images,
    read_new_rows,
)
from nabla.cli.output import check_destinations
from nabla.errors import DataError
from nabla.io.atomic import atomic_write_text
from nabla.training.config import parse_delimiter


def run_predict(args: argparse.Namespace) -> int:
    check_destinations(None if args.output == "-" else args.output)
    model, metadata = load_model_and_metadata(args.model)
    if model_image_shape(metadata) is not None:  # a CNN: the images, one row each
        X, ids = read_images(args.input, metadata).X, None
    else:
        X, ids = _read_rows(args, model, metadata)
    outputs = model_outputs(model, X, metadata, args.model)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    first = [] if ids is None else [ids[0]]
    if model_task(metadata) == "regression":
        writer.writerow([*first, "row", "predicted"])
        for i, value in enumerate(outputs):
            writer.writerow([*_cell(ids, i), i + 1, f"{value:.8g}"])
    else:
        class_names = metadata.get("class_names") or [str(i) for i in range(outputs.shape[1])]
        writer.writerow([*first, "row", "predicted", *[f"p_{name}" for name in class_names]])
        for i, p in enumerate(outputs):
            best = class_names[int(p.argmax())]
            writer.writerow([*_cell(ids, i), i + 1, best, *[f"{v:.8g}" for v in p]])
    if args.output and args.output != "-":
        atomic_write_text(Path(args.output), buffer.getvalue())
        print(f"wrote {len(outputs)} predictions to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(buffer.getvalue())
    return 0


def _read_rows(args: argparse.Namespace, model: Any, metadata: dict[str, Any]) -> Any:
    """The encoded rows of a table model's input, and the ID column to copy (or None)."""
    preprocessing = model_preprocessing(metadata, model)
    id_name = args.id_column or metadata.get("id_column")
    table = read_new_rows(
        args.input,
        metadata,
        preprocessing,
        delimiter=parse_delimiter(args.delimiter),
        encoding=args.encoding,
        decimal=args.decimal,
        id_column=id_name,
    )
    ids = _id_column(table, args.id_column, metadata)
    strict = True if args.strict else None  # None: the model's own policy
    return preprocessing.transform(align_columns(table, preprocessing), strict=strict), ids


def _id_column(table: Any, requested: str | None, metadata: dict[str, Any]) -> Any:
    """(name, values) of the ID column to copy into the output, or None."""
    name = requested or metadata.get("id_column")
    if name is None:
        return None
    if name not in table.columns:
        if requested is None:
            return None  # the training run's ID column: copied when the file has it
        raise DataError(f"{table.source}: --id: no column named {name!r}")
    column = table.columns[name]
    missing = table.missing(name)
    values = ["" if gone else _text(v) for v, gone in zip(column.tolist(), missing)]
    return name, values


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _cell(ids: Any, i: int) -> list[str]:
    return [] if ids is None else [ids[1][i]]
