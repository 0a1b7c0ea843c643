"""The code of the generated NumPy-only predictor that does not depend on the model.

:mod:`nabla.predictor` writes, in this order: a header, :data:`IMPORTS`, the model's constants
(``STEPS``, ``PREPROCESSING``, the weights...), the activations of nabla.nn.registry, nabla's
CSV header rule and column encoding (copied as source from nabla.data), then :data:`RUNTIME`:
the forward pass, ``transform``/``predict_proba``/``predict``, the CSV readers and ``main``.
Text only: nothing here is imported by the predictor itself.
"""

IMPORTS = """
from __future__ import annotations

import base64
import contextlib
import csv
import io
import os
import re
import sys
from pathlib import Path

import numpy as np

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


def transform(rows, strict=None):
    """The network's input for raw rows: a dict (or DataFrame) of column name -> cells
    (numbers, text, None or missing tokens such as "NA"), or, when every input column is
    numeric, a 2-D array of INPUT_COLUMNS (NaN for missing). Without PREPROCESSING, rows as
    they are. ``strict``: an unknown category is an error (default: the training setting)."""
    if PREPROCESSING is None:
        return rows
    if hasattr(rows, "keys"):
        absent = [name for name in INPUT_COLUMNS if name not in rows]
        if absent:
            raise InputError(f"missing column(s) {_listed(absent)}")
        kinds = {c["name"]: c["kind"] == "numeric" for c in PREPROCESSING["columns"]}
        columns = {
            name: parse_cells(list(rows[name]), kinds[name], _fail_at("rows", None), name)
            for name in INPUT_COLUMNS
        }
    else:
        X = np.asarray(rows, dtype=np.float64)
        if any(c["kind"] != "numeric" for c in PREPROCESSING["columns"]):
            raise InputError("the model reads text columns: pass a dict of column -> values")
        if X.ndim != 2 or X.shape[1] != len(INPUT_COLUMNS):
            raise InputError(f"expected rows of {len(INPUT_COLUMNS)} columns, got shape {X.shape}")
        columns = {name: X[:, j] for j, name in enumerate(INPUT_COLUMNS)}
    spec = _spec(strict)
    return standardize(encode_columns(columns, spec, _fail_at("rows", None)), spec)


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
    """A CSV file this predictor cannot read; the message names the file, row and column."""


_PLACEHOLDER = re.compile(r"(col|x)[0-9]+")  # the names nabla gives columns that have none


def _number(cell):
    try:
        return float(cell)
    except ValueError:
        return None


def _quote(value, limit=40):
    return repr(value) if len(value) <= limit else f"{value[:limit]!r}... ({len(value)} chars)"


def _listed(names, limit=5):
    shown = ", ".join(repr(name) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _columns(path, names, n_features):
    """Positions of the model's features in a header: by name, as ``nabla predict`` does."""
    expected = FEATURE_NAMES or [f"col{j}" for j in range(n_features)]
    repeated = sorted({name for name in expected if names.count(name) > 1})
    if repeated:
        raise InputError(f"{path}: column(s) {_listed(repeated)} appear more than once")
    missing = [name for name in expected if name not in names]
    if not missing:
        return [names.index(name) for name in expected]
    counts = f"has {len(names)} features, but the model was trained on {len(expected)}"
    placeholders = all(_PLACEHOLDER.fullmatch(name) for name in expected)
    if placeholders or all(_PLACEHOLDER.fullmatch(name) for name in names):
        if len(names) == len(expected):
            return list(range(len(names)))
        raise InputError(f"{path}: {counts}")
    unknown = [name for name in names if name not in expected]
    problem = counts if len(names) < len(expected) else "its columns do not match the model's"
    detail = f"missing column(s) {_listed(missing)}"
    if unknown:
        detail += f"; unknown column(s) {_listed(unknown)}"
    raise InputError(f"{path}: {problem}: {detail}")


def _fail_at(path, lines):
    def fail(row, name, message):
        line = row + 1 if lines is None else lines[row]
        raise InputError(f"{path}: row {line}, column {name!r}: {message}")

    return fail


def _read_table(path, strict=None):
    """The model's input columns of a CSV file (by header name), its ID column if present."""
    rows, lines = _read_csv(path, sniff=True)
    names = [cell.strip() for cell in rows[0]]
    if all(name in names for name in INPUT_COLUMNS):
        rows, lines = rows[1:], lines[1:]
        if not rows:
            raise InputError(f"{path}: has a header row but no data rows")
    elif all(_PLACEHOLDER.fullmatch(n) for n in INPUT_COLUMNS) and not _detect_header(rows):
        names = [f"col{j}" for j in range(len(rows[0]))]
    else:
        missing = [name for name in INPUT_COLUMNS if name not in names]
        raise InputError(f"{path}: missing column(s) {_listed(missing)}")
    repeated = sorted({name for name in INPUT_COLUMNS if names.count(name) > 1})
    if repeated:
        raise InputError(f"{path}: column(s) {_listed(repeated)} appear more than once")
    fail = _fail_at(path, lines)
    columns = {}
    for column in PREPROCESSING["columns"]:
        j = names.index(column["name"])
        cells = [row[j] for row in rows]
        columns[column["name"]] = parse_cells(cells, column["kind"] == "numeric", fail,
                                              column["name"])
    ids = None
    if ID_COLUMN is not None and ID_COLUMN in names:
        ids = [row[names.index(ID_COLUMN)].strip() for row in rows]
    spec = _spec(strict)
    return standardize(encode_columns(columns, spec, fail), spec), ids


def _read_csv(path, sniff=False):
    """The non-blank rows of a CSV file and the line each starts on; all rows equally long."""
    try:
        with open(path, newline="", encoding=ENCODING) as f:
            first = f.readline()
            f.seek(0)
            delimiter = ","
            if sniff and "," not in first:
                delimiter = next((d for d in ";\t|" if d in first), ",")
            reader = csv.reader(f, delimiter=delimiter, skipinitialspace=True)
            rows, lines, start = [], [], 1
            for row in reader:
                if row and not (len(row) == 1 and not row[0].strip()):
                    rows.append(row)
                    lines.append(start)
                start = reader.line_num + 1
    except OSError as error:
        raise InputError(f"{path}: cannot read the file ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        shown = "UTF-8" if ENCODING == "utf-8-sig" else ENCODING
        raise InputError(f"{path}: not {shown} text ({error.reason})") from None
    except csv.Error as error:
        raise InputError(f"{path}: malformed CSV near row {start}: {error}") from None
    if not rows:
        raise InputError(f"{path}: file is empty")
    width = len(rows[0])
    for row, line in zip(rows, lines):
        if len(row) != width:
            raise InputError(
                f"{path}: row {line} has {len(row)} cells, but row {lines[0]} has {width}"
            )
    return rows, lines


def _read_rows(path):
    """The model's feature columns of a CSV file as an array, checked as ``nabla predict`` does.

    A header row is matched by name (other columns are ignored); without one the file must have
    exactly the model's number of columns. Empty, non-numeric and non-finite cells are errors.
    """
    rows, lines = _read_csv(path)
    width, n_features = len(rows[0]), int(np.prod(INPUT_SHAPE))
    names = None
    if _detect_header(rows):  # nabla's own rule, copied from nabla.data.csv_loader
        names = [cell.strip() for cell in rows[0]]
        rows, lines = rows[1:], lines[1:]
        if not rows:
            raise InputError(f"{path}: has a header row but no data rows")
        columns = _columns(path, names, n_features)
    elif width != n_features:
        raise InputError(
            f"{path}: has {width} columns, but the model expects {n_features} features"
        )
    else:
        columns = list(range(width))
    X = np.empty((len(rows), len(columns)))
    for i, (row, line) in enumerate(zip(rows, lines)):
        for k, j in enumerate(columns):
            where = f"{path}: row {line}, column " + (repr(names[j]) if names else str(j))
            cell = row[j].strip()
            value = _number(cell)
            if not cell:
                raise InputError(f"{where}: empty cell (missing values are not supported)")
            if value is None:
                raise InputError(f"{where}: non-numeric value {_quote(cell)}")
            if not np.isfinite(value):
                raise InputError(f"{where}: value {_quote(cell)} is not finite (NaN and inf "
                                 "are not supported)")
            if abs(value) > float(np.finfo(DTYPE).max):  # compared as Python floats: no warning
                raise InputError(f"{where}: value {_quote(cell)} overflows {DTYPE}")
            X[i, k] = value
    return X.astype(DTYPE).reshape((len(X),) + tuple(INPUT_SHAPE))


def main(argv=None):
    args = sys.argv[1:] if argv is None else list(argv)
    strict = "--strict" in args
    args = [arg for arg in args if arg != "--strict"]
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print("usage: python predictor.py ROWS.csv [--strict]  (a header row with the "
              "feature names; --strict: an unknown category is an error)")
        return 2
    try:
        if PREPROCESSING is None:
            out, ids = forward(_read_rows(args[0])), None
        else:
            X, ids = _read_table(args[0], strict or None)
            out = forward(X)
    except InputError as error:
        print(f"{Path(__file__).name}: error: {error}", file=sys.stderr)
        return 1
    writer = csv.writer(sys.stdout, lineterminator="\\n")
    first = "row" if ids is None else ID_COLUMN
    ids = ids or list(range(1, len(out) + 1))
    try:
        if CLASS_NAMES is not None:
            writer.writerow([first, "predicted", *[f"p_{name}" for name in CLASS_NAMES]])
            for i, p in zip(ids, out):
                best = CLASS_NAMES[int(np.argmax(p))]
                writer.writerow([i, best, *[f"{v:.6g}" for v in p]])
        elif TARGET is not None and out.shape[1:] == (1,):
            writer.writerow([first, "predicted"])
            for i, v in zip(ids, out[:, 0]):
                writer.writerow([i, f"{v:.8g}"])
        else:
            flat = out.reshape(len(out), -1)
            writer.writerow(["row", *[f"output{j}" for j in range(flat.shape[1])]])
            for i, v in enumerate(flat):
                writer.writerow([i + 1, *[f"{x:.8g}" for x in v]])
        sys.stdout.flush()
    except BrokenPipeError:  # `python predictor.py rows.csv | head`: the reader left, fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


_W = _load_weights()

if __name__ == "__main__":
    sys.exit(main())
'''
