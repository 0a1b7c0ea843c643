"""Write a trained network as one Python file that needs only NumPy (serverless, tiny images).

The file holds the weights (base64 ``.npz`` bytes, or a sibling ``.npz`` file), the
standardisation of the training run, the class names and the inference steps of
:func:`nabla.deploy.lower`, computed with the same NumPy expressions as nabla's layers, so its
``predict_proba`` equals the model's to float rounding. Use it as a module
(``from predictor import predict_proba``) or a command (``python predictor.py rows.csv``).
"""

from __future__ import annotations

import base64
import io
import os
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nabla.deploy import Lowered, Step, lower
from nabla.nn.registry import ACTIVATIONS

_IMPORTS = """
import base64
import csv
import io
import os
import re
import sys
from pathlib import Path

import numpy as np

"""

_RUNTIME = '''

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
        else:
            raise ValueError(f"unknown step {op!r}")
    return x


def predict_proba(X):
    """Class probabilities, shape (n_samples, n_classes), columns in CLASS_NAMES order."""
    if not PROBABILITIES:
        raise ValueError("this predictor outputs raw values, not probabilities; use forward")
    return forward(X)


def predict(X):
    """The most probable class name of each row (or the raw outputs for a regressor)."""
    out = forward(X)
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


def _read_rows(path):
    """The model's feature columns of a CSV file as an array, checked as ``nabla predict`` does.

    A header row is matched by name (other columns are ignored); without one the file must have
    exactly the model's number of columns. Empty, non-numeric and non-finite cells are errors.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, skipinitialspace=True)
            rows, lines, start = [], [], 1
            for row in reader:
                if row and not (len(row) == 1 and not row[0].strip()):
                    rows.append(row)
                    lines.append(start)
                start = reader.line_num + 1
    except OSError as error:
        raise InputError(f"{path}: cannot read the file ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text ({error.reason})") from None
    except csv.Error as error:
        raise InputError(f"{path}: malformed CSV near row {start}: {error}") from None
    if not rows:
        raise InputError(f"{path}: file is empty")
    width, n_features = len(rows[0]), int(np.prod(INPUT_SHAPE))
    for row, line in zip(rows, lines):
        if len(row) != width:
            raise InputError(
                f"{path}: row {line} has {len(row)} cells, but row {lines[0]} has {width}"
            )
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
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print("usage: python predictor.py ROWS.csv  (a header row with the feature names)")
        return 2
    try:
        out = forward(_read_rows(args[0]))
    except InputError as error:
        print(f"{Path(__file__).name}: error: {error}", file=sys.stderr)
        return 1
    writer = csv.writer(sys.stdout, lineterminator="\\n")
    try:
        if CLASS_NAMES is not None:
            writer.writerow(["row", "predicted", *[f"p_{name}" for name in CLASS_NAMES]])
            for i, p in enumerate(out):
                best = CLASS_NAMES[int(np.argmax(p))]
                writer.writerow([i + 1, best, *[f"{v:.6g}" for v in p]])
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


def predictor_source(
    model: Any,
    *,
    scaler: Any = None,
    class_names: Sequence[str] | None = None,
    feature_names: Sequence[str] | None = None,
    probabilities: bool | None = True,
    example_input: Any = None,
    weights_file: str | None = None,
    source: str = "",
) -> tuple[str, bytes]:
    """The predictor's text and its ``.npz`` weight bytes (embedded unless ``weights_file``)."""
    import nabla

    if probabilities and class_names is None:
        class_names = _estimator_classes(model)
    lowered = lower(model, example_input, probabilities=probabilities, scaler=scaler)
    steps, blob = _steps_and_weights(lowered)
    last = lowered.steps[-1] if lowered.steps else Step("", "")
    is_proba = last.path == "<output>" and last.op in ("softmax", "binary", "sigmoid")
    if is_proba and class_names is None:
        class_names = [str(i) for i in range(lowered.out_shape[-1])]
    header = f'''#!/usr/bin/env python3
"""Predictor for {source or "a nabla model"}, generated by nabla {nabla.__version__}.

Needs only NumPy. As a module: ``from predictor import predict_proba, predict``; as a command:
``python predictor.py rows.csv`` prints the predicted class and class probabilities per row.
"""
'''
    constants = "\n".join(
        [
            f"DTYPE = {lowered.dtype.name!r}",
            f"INPUT_SHAPE = {list(lowered.in_shape[1:])!r}",
            f"PROBABILITIES = {is_proba!r}",
            f"CLASS_NAMES = {_literal(class_names)}",
            f"FEATURE_NAMES = {_literal(feature_names)}",
            f"STEPS = {steps!r}",
            f"WEIGHTS_FILE = {weights_file!r}  # None: the weights are embedded below",
        ]
    )
    if weights_file is None:
        wrapped = "\n".join(textwrap.wrap(base64.b64encode(blob).decode("ascii"), 96))
        constants += (
            f'\n\n# the weights: a base64 .npz archive\n_WEIGHTS_B64 = """\n{wrapped}\n"""'
        )
    code = _activations({op for op, _ in steps}) + _shared_rules() + _RUNTIME
    return header + _IMPORTS + constants + "\n" + code, blob


def _steps_and_weights(lowered: Lowered) -> tuple[list[tuple[str, dict[str, Any]]], bytes]:
    """The (op, attrs) of each step, and the ``.npz`` bytes of their arrays ("i.key")."""
    arrays: dict[str, Any] = {}
    steps = []
    for i, step in enumerate(lowered.steps):
        arrays.update({f"{i}.{key}": value for key, value in step.arrays.items()})
        attrs = dict(step.attrs)
        if step.op == "linear":
            attrs["bias"] = "bias" in step.arrays
        steps.append((step.op, attrs))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return steps, buffer.getvalue()


def _estimator_classes(model: Any) -> list[str] | None:
    """The class names of a fitted single-label classifier estimator, else None."""
    classes_ = getattr(model, "classes_", None)
    single_label = getattr(model, "out_activation_", "") == "softmax" or (
        getattr(model, "n_outputs_", 0) == 1
    )
    return [str(c) for c in classes_] if classes_ is not None and single_label else None


def _activations(ops: set[str]) -> str:
    """The NumPy functions of the activations among `ops` (and sigmoid for the binary head)."""
    if "binary" in ops:
        ops = ops | {"sigmoid"}
    names = [name for name in ACTIVATIONS if name in ops]
    parts = ["\n\n# the activations, from their entries in nabla.nn.registry.ACTIVATIONS\n"]
    parts += ["\n\n" + ACTIVATIONS[name].numpy_source(f"_activation_{name}") for name in names]
    table = ", ".join(f"{name!r}: _activation_{name}" for name in names)
    parts.append(f"\n\n_ACTIVATIONS = {{{table}}}\n")
    return "".join(parts)


def _shared_rules() -> str:
    """nabla's CSV header rule, copied as source so the predictor decides as nabla predict."""
    import inspect

    from nabla.data import csv_loader

    parts = [f"\n\nHEADER_SAMPLE_ROWS = {csv_loader.HEADER_SAMPLE_ROWS}\n"]
    for function in (csv_loader._is_number, csv_loader._detect_header):
        parts.append("\n\n" + inspect.getsource(function))
    return "".join(parts)


def _literal(values: Sequence[Any] | None) -> str:
    return "None" if values is None else repr([str(v) for v in values])


def write_predictor(
    model: Any,
    path: str | os.PathLike[str],
    *,
    scaler: Any = None,
    class_names: Sequence[str] | None = None,
    feature_names: Sequence[str] | None = None,
    probabilities: bool | None = True,
    example_input: Any = None,
    embed: bool = True,
    source: str = "",
) -> Path:
    """Write the NumPy-only predictor of ``model`` to ``path``; return the path.

    Parameters
    ----------
    model : Module or fitted nabla.sklearn estimator
    path : str or path-like
        The ``.py`` file to write.
    scaler : StandardScaler (nabla's or scikit-learn's) or nabla's ``to_dict()``, optional
        Standardisation applied to raw rows first (``nabla train`` stores it in the model file).
    class_names, feature_names : sequence of str, optional
        Names used by ``predict`` and by the command-line CSV reader.
    probabilities : bool, default True
        Output class probabilities (softmax, or [1 − p, p] for one logit); False for the raw
        outputs of the network.
    example_input : array-like, optional
        Fixes the input shape; by default one row with the first Linear's width.
    embed : bool, default True
        Embed the weights in the file; False writes them to ``<stem>.npz`` next to it.
    """
    from nabla.io import atomic_write_bytes

    target = Path(path)
    weights_file = None if embed else target.with_suffix(".npz").name
    text, blob = predictor_source(
        model,
        scaler=scaler,
        class_names=class_names,
        feature_names=feature_names,
        probabilities=probabilities,
        example_input=example_input,
        weights_file=weights_file,
        source=source,
    )
    if weights_file is not None:
        atomic_write_bytes(target.with_name(weights_file), blob)
    atomic_write_bytes(target, text.encode("utf-8"))
    return target
