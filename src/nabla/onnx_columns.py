"""The preprocessing of :mod:`nabla.data.columns` as ONNX operators, in front of the network.

The graph takes the raw columns a model was trained on (``metadata_props`` lists them):

- the numeric columns in one tensor ``input`` of shape (batch, n_numeric), in the model's
  float type, NaN for a missing cell (``input_columns`` lists them, in order). The caller
  parses the cells: in a column stored ``"coerced"`` (a text column of mostly numbers;
  ``input_coerced`` lists them) a cell that is not a number is missing, so pass NaN for it,
  as nabla and the NumPy predictor read it; in the other numeric columns nabla refuses such
  a cell with an error;
- the text columns, when there are any, in a string tensor ``text`` of shape (batch, n_text)
  (``text_columns`` lists them); a cell is matched exactly against the training categories,
  so pass it **stripped of surrounding white space** (nabla strips every cell when it reads
  a file: ``" Dream "`` is ``"Dream"`` there, but an unknown category, all zeros, in this
  graph), and "" (or another of nabla's missing tokens, such as "NA") for a missing cell.
  No standard operator strips a string: ``StringNormalizer`` only changes case and removes
  stop words, ``StringSplit`` (opset 20) also collapses inner spaces, and a regex replace is
  only in onnxruntime-extensions; hence the caller strips (``text_cells`` in the metadata).

Steps, as :meth:`Preprocessing.transform` computes them: ``IsNaN``/``Where`` put the training
fill into missing numeric cells, then ``Cast`` to float32; ``Cast(IsNaN)`` gives the numeric
indicator columns; each text column goes through ``ai.onnx.ml.OneHotEncoder`` (``zeros=1``: an
unknown category or a missing cell is all zeros) and ``Reshape``, its indicator through
``ai.onnx.ml.LabelEncoder`` (missing tokens → 1); ``Concat`` and one ``Gather`` put the
columns in feature order; ``Sub``/``Div`` standardise in float32; a final ``Cast`` gives a
float64 network its input. ``strict`` (refuse unknown categories) cannot be expressed in ONNX:
the graph always uses all zeros. With ``impute="drop"`` a NaN cell stays NaN and so does the
output.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabla.data.table import MISSING_TOKENS

__all__ = ["ML_OPSET", "column_metadata", "emit_preprocessing"]

#: the ai.onnx.ml opset (OneHotEncoder 1, LabelEncoder 2)
ML_OPSET = 3


def column_metadata(spec: dict[str, Any], input_name: str, text_name: str) -> dict[str, Any]:
    """The graph's inputs for its users (metadata props): ``<input>_columns`` lists the numeric
    columns of ``input``, ``<text>_columns`` the text columns of ``text``, in order;
    ``<input>_coerced`` the numeric columns whose cells that are not numbers are missing (NaN);
    ``text_cells`` says to strip text cells."""
    columns = spec["columns"]
    numeric = [c for c in columns if c["kind"] == "numeric"]
    return {
        f"{input_name}_columns": [c["name"] for c in numeric],
        f"{input_name}_coerced": [c["name"] for c in numeric if c.get("coerced")],
        f"{text_name}_columns": [c["name"] for c in columns if c["kind"] == "categorical"],
        "missing": (
            f"NaN in {input_name!r} (also for a cell that is not a number in the "
            f"{input_name}_coerced columns); '' or a missing token in {text_name!r}"
        ),
        "text_cells": (
            f"strip surrounding white space from every {text_name!r} cell (as nabla does when "
            "it reads a file); cells are matched exactly against the categories"
        ),
        "missing_tokens": list(MISSING_TOKENS),
        "preprocessing": spec,
    }


def emit_preprocessing(
    g: Any, spec: dict[str, Any], dtype: np.dtype[Any], input_name: str, text_name: str
) -> tuple[list[Any], str]:
    """Append the preprocessing nodes to graph `g`; return (graph inputs, the features' name)."""
    helper, tensor = g.onnx.helper, g.onnx.TensorProto
    elem = helper.np_dtype_to_tensor_dtype(dtype)
    columns = spec["columns"]
    numeric = [c for c in columns if c["kind"] == "numeric"]
    text = [c for c in columns if c["kind"] == "categorical"]
    inputs, blocks = [], []
    # position[name] = the columns of `grouped` (the concatenated blocks) one column encodes to
    position: dict[tuple[str, str], list[int]] = {}
    width = 0

    def add(block: str, n: int, keys: list[tuple[str, str]], sizes: list[int]) -> None:
        nonlocal width
        blocks.append(block)
        for key, size in zip(keys, sizes):
            position[key] = list(range(width, width + size))
            width += size
        assert sum(sizes) == n

    if numeric:
        inputs.append(helper.make_tensor_value_info(input_name, elem, ["batch", len(numeric)]))
        isnan = g.node("IsNaN", [input_name], "isnan")
        fills = np.array([np.nan if c["fill"] is None else c["fill"] for c in numeric], dtype)
        filled = g.node("Where", [isnan, g.const("fills", fills), input_name], "filled")
        if dtype != np.float32:
            filled = g.node("Cast", [filled], "filled32", to=tensor.FLOAT)
        keys = [(c["name"], "value") for c in numeric]
        add(filled, len(numeric), keys, [1] * len(numeric))
        flagged = [k for k, c in enumerate(numeric) if c["indicator"]]
        if flagged:
            picked = g.node("Gather", [isnan, g.const("flagged", np.array(flagged))], "na", axis=1)
            keys = [(numeric[k]["name"], "indicator") for k in flagged]
            add(
                g.node("Cast", [picked], "indicators", to=tensor.FLOAT),
                len(flagged),
                keys,
                [1] * len(flagged),
            )
    if text:
        inputs.append(
            helper.make_tensor_value_info(text_name, tensor.STRING, ["batch", len(text)])
        )
    for j, column in enumerate(text):
        cell = g.node("Gather", [text_name, g.const("j", np.array([j]))], "cell", axis=1)
        n = len(column["categories"])
        if n:
            codes = g.node(
                "OneHotEncoder",
                [cell],
                "onehot3",
                domain="ai.onnx.ml",
                cats_strings=list(column["categories"]),
                zeros=1,
            )
            shape = g.const("shape", np.array([-1, n], np.int64))
            add(g.node("Reshape", [codes, shape], "onehot"), n, [(column["name"], "value")], [n])
        if column["indicator"]:
            flag = g.node(
                "LabelEncoder",
                [cell],
                "missing",
                domain="ai.onnx.ml",
                keys_strings=list(MISSING_TOKENS),
                values_floats=[1.0] * len(MISSING_TOKENS),
                default_float=0.0,
            )
            add(flag, 1, [(column["name"], "indicator")], [1])
    grouped = blocks[0] if len(blocks) == 1 else g.node("Concat", blocks, "grouped", axis=1)
    order: list[int] = []
    for column in columns:
        order += position.get((column["name"], "value"), [])
        order += position.get((column["name"], "indicator"), [])
    x = g.node("Gather", [grouped, g.const("order", np.array(order))], "features", axis=1)
    mean = np.asarray(spec["mean"], np.float32)
    scale = np.asarray(spec["scale"], np.float32)
    x = g.node("Sub", [x, g.const("mean", mean)], "centered")
    x = g.node("Div", [x, g.const("scale", scale)], "standardized")
    if dtype != np.float32:
        x = g.node("Cast", [x], "features64", to=elem)
    return inputs, x
