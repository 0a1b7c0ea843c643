"""The code of the generated NumPy-only predictor that does not depend on the model.

:mod:`nabla.predictor` writes, in this order: a header, :data:`IMPORTS`, the model's constants
(``STEPS``, ``PREPROCESSING``, the weights...), the activations of nabla.nn.registry, how
``nabla predict`` reads and encodes a CSV file (copied as source from nabla), then
the image layers' code when the model has any (:mod:`nabla.predictor_conv`), then
:data:`RUNTIME`: the forward pass, ``transform``/``predict_proba``/``predict``, ``read_rows``
(the copied ``read_table``, ``match_features`` and encoding, as ``nabla predict``) and ``main``.
Text only: nothing here is imported by the predictor itself.
"""

IMPORTS = """
from __future__ import annotations

import base64
import codecs
import contextlib
import csv
import io
import itertools
import math
import os
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

"""

RUNTIME = '''

def _load_weights():
    if WEIGHTS_FILE is None:
        raw = io.BytesIO(base64.b64decode("".join(_WEIGHTS_B64.split())))
    else:
        raw = Path(__file__).with_name(WEIGHTS_FILE)
    with np.load(raw, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def forward(X):
    """The exported network's output for rows X of shape (n_samples, ...)."""
    x = np.asarray(X, dtype=DTYPE)
    if x.ndim < 1 or x.shape[1:] != tuple(INPUT_SHAPE):
        raise ValueError(
            f"expected rows of shape {tuple(INPUT_SHAPE)}, got an array of shape {x.shape}"
        )
    if not np.isfinite(x).all():
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(x))[0])
        raise ValueError(f"X{list(where)} = {x[where]} is not finite (NaN and inf are refused)")
    for i, (op, attrs) in enumerate(STEPS):
        w = lambda key: _W[f"{i}.{key}"]  # noqa: E731
        if op == "standardize":
            x = (x - w("mean")) / w("scale")
        elif op == "linear":
            x = x @ w("weight").T
            if attrs["bias"]:
                x += w("bias")
        elif op == "batchnorm":
            shape = (1, -1) + (1,) * (x.ndim - 2)
            x = (x - w("mean").reshape(shape)) / np.sqrt(w("var").reshape(shape) + attrs["eps"])
            x = x * w("weight").reshape(shape) + w("bias").reshape(shape)
        elif op in _ACTIVATIONS:
            x = _ACTIVATIONS[op](x, **attrs)
        elif op in _IMAGE_STEPS:  # conv, pooling: nabla's NumPy code, copied above
            x = _IMAGE_STEPS[op](x, w, attrs)
        elif op == "exp":
            x = np.exp(x)
        elif op in ("softmax", "log_softmax"):
            shifted = x - np.max(x, axis=attrs["axis"], keepdims=True)
            if op == "softmax":
                x = np.exp(shifted)
                x /= np.sum(x, axis=attrs["axis"], keepdims=True)
            else:
                x = shifted - np.log(np.sum(np.exp(shifted), axis=attrs["axis"], keepdims=True))
        elif op == "flatten":
            start, end = attrs["start"], attrs["end"]
            x = x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1 :])
        elif op == "binary":  # one sigmoid column p -> [1 - p, p]
            p = _activation_sigmoid(x)
            x = np.concatenate([1 - p, p], axis=-1)
        elif op == "target":  # a regressor's outputs in the target's units
            x = np.asarray(x, dtype=np.float64) * w("scale") + w("mean")
        else:
            raise ValueError(f"unknown step {op!r}")
    return x


def _spec(strict):
    return PREPROCESSING if strict is None else {**PREPROCESSING, "strict": bool(strict)}


def _shaped(x):
    """Encoded rows as the network's input: reshaped when it takes more than a row of numbers."""
    return x if len(INPUT_SHAPE) == 1 else x.reshape((len(x),) + tuple(INPUT_SHAPE))


def transform(rows, strict=None):
    """The network's input for raw rows: a dict (or DataFrame) of column name -> cells
    (numbers, text, None or missing tokens such as "NA"), or, when every input column is
    numeric, an array of rows of INPUT_COLUMNS (NaN for missing). ``strict``: an unknown
    category is an error (default: the training setting)."""
    if PREPROCESSING is None:
        return rows
    if hasattr(rows, "keys"):
        absent = [name for name in INPUT_COLUMNS if name not in rows]
        if absent:
            raise InputError(f"missing column(s) {_listed(absent)}")
        kinds = {c["name"]: c["kind"] == "numeric" for c in PREPROCESSING["columns"]}
        coerced = {c["name"]: bool(c.get("coerced")) for c in PREPROCESSING["columns"]}
        columns = {
            name: parse_cells(list(rows[name]), kinds[name], _fail_in_rows, name, coerced[name])
            for name in INPUT_COLUMNS
        }
    else:
        X = np.asarray(rows, dtype=np.float64)
        if any(c["kind"] != "numeric" for c in PREPROCESSING["columns"]):
            raise InputError("the model reads text columns: pass a dict of column -> values")
        if len(INPUT_SHAPE) > 1 and X.shape[1:] == tuple(INPUT_SHAPE):
            X = X.reshape(len(X), -1)
        if X.ndim != 2 or X.shape[1] != len(INPUT_COLUMNS):
            raise InputError(f"expected rows of {len(INPUT_COLUMNS)} columns, got shape {X.shape}")
        columns = {name: X[:, j] for j, name in enumerate(INPUT_COLUMNS)}
    spec = _spec(strict)
    return _shaped(standardize(encode_columns(columns, spec, _fail_in_rows), spec))


def predict_proba(rows, strict=None):
    """Class probabilities, shape (n_samples, n_classes), columns in CLASS_NAMES order."""
    if not PROBABILITIES:
        raise ValueError("this predictor outputs raw values, not probabilities; use forward")
    return forward(transform(rows, strict))


def predict(rows, strict=None):
    """The most probable class name of each row (the values of a regressor)."""
    out = forward(transform(rows, strict))
    if TARGET is not None and out.ndim == 2 and out.shape[1] == 1:
        return out[:, 0]
    if CLASS_NAMES is None:
        return out
    return [CLASS_NAMES[i] for i in np.argmax(out, axis=1)]


class InputError(ValueError):
    """Rows this predictor cannot read; the message names the file, row and column."""


DataError = InputError  # what the functions copied from nabla raise


def _pandas_installed():
    return False  # read_table's NumPy engine: the predictor needs NumPy alone


def _fail_in_rows(row, name, message):
    raise InputError(f"rows: row {row + 1}, column {name!r}: {message}")


def read_rows(path, delimiter=None, encoding=None, strict=None, id_column=None, decimal=None):
    """The network's input for a CSV file, and (name, cells) of its ID column (or None).

    The ID column is ``id_column`` (an error when the file lacks it), else the training run's
    ``ID_COLUMN`` when the file has it. Numbers are read with the decimal mark ``decimal``
    ("." or ","), by default detected in the file (as in training).

    As ``nabla predict``: ``read_table`` (copied above), the model's columns matched by name
    (``match_features``), then the model's encoding; errors are nabla's one-line messages.
    """
    ids, name, inputs = None, id_column or ID_COLUMN, INPUT_COLUMNS or []
    table = read_table(
        path,
        delimiter=delimiter,
        encoding=encoding or ENCODING,
        decimal=decimal,  # None: detected in this file, as nabla predict does
        min_columns=1 if len(inputs) == 1 else 2,  # a one-column model reads one column
        expect=inputs,  # a first row with these names is the header, even when all text
        text=() if name is None or name in inputs else (name,),  # IDs as written (007, 1.50)
    )
    if id_column is not None and id_column not in table.columns:
        raise InputError(f"{table.source}: --id: no column named {id_column!r}")
    if name is not None and name in table.columns:
        missing = table.missing(name)
        values = table.columns[name].tolist()
        ids = (name, ["" if gone else _text(v) for v, gone in zip(values, missing)])
    positions = match_features(table.names, INPUT_COLUMNS, source=table.source)
    columns = {new: table.columns[table.names[j]] for new, j in zip(INPUT_COLUMNS, positions)}
    # nabla's align_columns: the model's names, the file's rows and lines
    aligned = Table(list(INPUT_COLUMNS), columns, table.source, table.has_header, table.lines)

    def fail(row, name, message):
        raise InputError(f"{aligned.where(int(row), name)}: {message}")

    spec = _spec(strict)
    return _shaped(standardize(encode_columns(aligned.columns, spec, fail), spec)), ids


def _text(value):
    """An ID cell as nabla predict prints it: an integral number without ".0"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


USAGE = (
    "usage: python predictor.py ROWS.csv [--strict] [--delimiter D] [--encoding E] [--id COL] "
    "[--decimal . or ,]  (rows as nabla predict reads them; --strict: an unknown category is an "
    "error; --id: a column copied to the output)"
)


def _options(args):
    """(path, strict, delimiter, encoding, id, decimal) from the command line, or None when it is
    wrong."""
    options = {"--delimiter": None, "--encoding": None, "--id": None, "--decimal": None}
    strict, paths, args = False, [], list(args)
    while args:
        arg = args.pop(0)
        if arg == "--strict":
            strict = True
        elif arg in options and args:
            options[arg] = args.pop(0)
        elif arg.startswith("-") and arg != "-":
            return None
        else:
            paths.append(arg)
    if len(paths) != 1 or options["--decimal"] not in (None, ".", ","):
        return None
    delimiter, decimal = parse_delimiter(options["--delimiter"]), options["--decimal"]
    return paths[0], strict, delimiter, options["--encoding"], options["--id"], decimal


def main(argv=None):
    options = _options(sys.argv[1:] if argv is None else argv)
    if options is None:
        print(USAGE)
        return 2
    path, strict, delimiter, encoding, id_column, decimal = options
    try:
        X, ids = read_rows(path, delimiter, encoding, strict or None, id_column, decimal)
        out = forward(X)
    except InputError as error:
        print(f"{Path(__file__).name}: error: {error}", file=sys.stderr)
        return 1
    writer = csv.writer(sys.stdout, lineterminator="\\n")
    first = [] if ids is None else [ids[0]]
    cells = (lambda i: []) if ids is None else (lambda i: [ids[1][i]])  # noqa: E731
    try:
        if CLASS_NAMES is not None:
            writer.writerow([*first, "row", "predicted", *[f"p_{name}" for name in CLASS_NAMES]])
            for i, p in enumerate(out):
                best = CLASS_NAMES[int(np.argmax(p))]
                writer.writerow([*cells(i), i + 1, best, *[f"{v:.8g}" for v in p]])
        elif TARGET is not None and out.shape[1:] == (1,):
            writer.writerow([*first, "row", "predicted"])
            for i, v in enumerate(out[:, 0]):
                writer.writerow([*cells(i), i + 1, f"{v:.8g}"])
        else:
            flat = out.reshape(len(out), -1)
            writer.writerow([*first, "row", *[f"output{j}" for j in range(flat.shape[1])]])
            for i, v in enumerate(flat):
                writer.writerow([*cells(i), i + 1, *[f"{x:.8g}" for x in v]])
        sys.stdout.flush()
    except BrokenPipeError:  # `python predictor.py rows.csv | head`: the reader left, fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


_W = _load_weights()

if __name__ == "__main__":
    sys.exit(main())
'''
