"""Export trained networks to ONNX, for onnxruntime and every other ONNX runtime.

>>> import nabla as nb
>>> model = nb.nn.MLP([4, 8, 3])
>>> nb.onnx.export(model, "model.onnx", nb.randn(2, 4))  # doctest: +SKIP

Linear becomes ``Gemm`` (``transB=1``: nabla keeps PyTorch's (out, in) weight layout), each
activation the ONNX op of its :data:`nabla.nn.registry.ACTIVATIONS` entry, BatchNorm1d is folded into the Linear before it (or becomes
``BatchNormalization``), Dropout and Identity disappear, Softmax/LogSoftmax keep their axis and
Flatten becomes ``Flatten`` or ``Reshape``; Conv1d/Conv2d, the pooling layers and BatchNorm2d
become ``Conv``, ``MaxPool``, ``AveragePool``, ``GlobalAveragePool`` and
``BatchNormalization`` (:mod:`nabla.onnx_conv`). The batch axis is dynamic. Needs the optional
``onnx`` package (``pip install 'nabla[onnx]'``); ``onnxruntime`` only to run the file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nabla.deploy import ExportError, Lowered, Step, lower
from nabla.errors import NablaError
from nabla.nn.registry import ACTIVATIONS
from nabla.onnx_conv import IMAGE_EMITTERS

__all__ = ["OPSET", "ExportError", "export", "to_model"]

#: the opset written (ONNX 1.12+, onnxruntime 1.12+); IR version 8 keeps old runtimes happy
OPSET = 17
IR_VERSION = 8


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise NablaError(
            "ONNX export needs the optional 'onnx' package: pip install 'nabla[onnx]' "
            "(or: pip install onnx)"
        ) from None
    return onnx


class _Graph:
    """Nodes and initializers, with fresh tensor names."""

    def __init__(self, onnx: Any, dtype: np.dtype[Any]) -> None:
        self.onnx, self.dtype = onnx, dtype
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint: str, value: np.ndarray[Any, Any]) -> str:
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], hint: str, **attrs: Any) -> str:
        out = self.name(hint)
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [out], name=out, **attrs))
        return out


def _standardize(g: _Graph, step: Step, x: str, hint: str) -> str:
    centered = g.node("Sub", [x, g.const("mean", step.arrays["mean"])], "centered")
    return g.node("Div", [centered, g.const("scale", step.arrays["scale"])], "standardized")


def _linear(g: _Graph, step: Step, x: str, hint: str) -> str:
    a = step.arrays
    weight = g.const(f"{hint}_weight", a["weight"])
    if len(step.in_shape) == 2:
        inputs = [x, weight] + ([g.const(f"{hint}_bias", a["bias"])] if "bias" in a else [])
        return g.node("Gemm", inputs, hint, transB=1)
    # batched input (..., in): MatMul with Wᵀ, then add the bias
    out = g.node("MatMul", [x, g.const(f"{hint}_weightT", a["weight"].T.copy())], hint)
    return g.node("Add", [out, g.const(f"{hint}_bias", a["bias"])], hint) if "bias" in a else out


def _batchnorm(g: _Graph, step: Step, x: str, hint: str) -> str:
    inputs = [x] + [
        g.const(f"{hint}_{k}", step.arrays[k]) for k in ("weight", "bias", "mean", "var")
    ]
    return g.node("BatchNormalization", inputs, hint, epsilon=float(step.attrs["eps"]))


def _softmax(g: _Graph, step: Step, x: str, hint: str) -> str:
    op = "Softmax" if step.op == "softmax" else "LogSoftmax"
    return g.node(op, [x], hint, axis=int(step.attrs["axis"]))


def _flatten(g: _Graph, step: Step, x: str, hint: str) -> str:
    start, end, rank = step.attrs["start"], step.attrs["end"], len(step.in_shape)
    if start == 1 and end == rank - 1:
        return g.node("Flatten", [x], hint, axis=1)
    # 0 copies the (dynamic) batch size; the other widths are known from the example
    shape = [0] * start + [-1] + list(step.in_shape[end + 1 :])
    if start == 0:
        shape = [-1, *step.in_shape[end + 1 :]]
    return g.node("Reshape", [x, g.const("shape", np.array(shape, np.int64))], hint)


def _binary(g: _Graph, step: Step, x: str, hint: str) -> str:
    """One sigmoid column p → [1 − p, p]."""
    p = g.node("Sigmoid", [x], "p")
    q = g.node("Sub", [g.const("one", np.ones((), g.dtype)), p], "q")
    return g.node("Concat", [q, p], "probabilities", axis=-1)


def _target(g: _Graph, step: Step, x: str, hint: str) -> str:
    """A regressor's outputs in the target's units: out * scale + mean, in float64."""
    x = g.node("Cast", [x], "output64", to=g.onnx.TensorProto.DOUBLE)
    x = g.node("Mul", [x, g.const("target_scale", step.arrays["scale"])], "scaled")
    return g.node("Add", [x, g.const("target_mean", step.arrays["mean"])], "predicted")


#: the steps other than activations (those come from the registry)
_EMITTERS: dict[str, Callable[[_Graph, Step, str, str], str]] = {
    "standardize": _standardize,
    "linear": _linear,
    "batchnorm": _batchnorm,
    "softmax": _softmax,
    "log_softmax": _softmax,
    "flatten": _flatten,
    "exp": lambda g, step, x, hint: g.node("Exp", [x], hint),
    "binary": _binary,
    "target": _target,
    **IMAGE_EMITTERS,
}


def _emit(g: _Graph, step: Step, x: str) -> str:
    """Append the nodes of one step reading tensor ``x``; return the output tensor's name."""
    hint = step.path.replace(".", "_").strip("<>") or step.op
    emitter = _EMITTERS.get(step.op)
    if emitter is not None:
        return emitter(g, step, x, hint)
    if step.op not in ACTIVATIONS:  # pragma: no cover - lower() makes only the steps above
        raise ExportError(f"internal: no ONNX translation for step {step.op!r}")
    return ACTIVATIONS[step.op].onnx.emit(g, x, hint, step.attrs)


def to_model(
    lowered: Lowered,
    *,
    input_name: str = "input",
    output_name: str = "output",
    metadata: Mapping[str, Any] | None = None,
    doc: str = "",
    preprocessing: dict[str, Any] | None = None,
    text_name: str = "text",
) -> Any:
    """Build the ``onnx.ModelProto`` of lowered steps (see :func:`nabla.deploy.lower`).

    With a ``preprocessing`` document (:meth:`nabla.data.Preprocessing.to_dict`) the graph
    takes raw columns and encodes them first (see :mod:`nabla.onnx_columns`).
    """
    onnx = _onnx()
    helper = onnx.helper
    dtype = lowered.dtype
    elem = helper.np_dtype_to_tensor_dtype(dtype)
    g = _Graph(onnx, dtype)
    x = input_name
    inputs = [helper.make_tensor_value_info(input_name, elem, ["batch", *lowered.in_shape[1:]])]
    opsets = [helper.make_opsetid("", OPSET)]
    if preprocessing is not None:
        from nabla.onnx_columns import ML_OPSET, emit_preprocessing

        inputs, x = emit_preprocessing(g, preprocessing, dtype, input_name, text_name)
        opsets.append(helper.make_opsetid("ai.onnx.ml", ML_OPSET))
        if len(lowered.in_shape) > 2:  # the encoded columns of one input: reshape them
            shape = g.const("input_shape", np.array([-1, *lowered.in_shape[1:]], np.int64))
            x = g.node("Reshape", [x, shape], "shaped")
    for step in lowered.steps:
        x = _emit(g, step, x)
    if x == input_name:  # nothing to compute (an Identity model): still a valid graph
        x = g.node("Identity", [x], "identity")
    g.nodes[-1].output[0] = output_name
    if lowered.steps and lowered.steps[-1].op == "target":
        elem = onnx.TensorProto.DOUBLE
    outputs = [helper.make_tensor_value_info(output_name, elem, ["batch", *lowered.out_shape[1:]])]
    graph = helper.make_graph(g.nodes, "nabla", inputs, outputs, g.initializers)
    import nabla

    model = helper.make_model(
        graph,
        opset_imports=opsets,
        producer_name="nabla",
        producer_version=nabla.__version__,
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    if metadata:
        helper.set_model_props(model, {key: json.dumps(value) for key, value in metadata.items()})
    onnx.checker.check_model(model)
    return model


def export(
    model: Any,
    path: str | os.PathLike[str],
    example_input: Any = None,
    *,
    probabilities: bool | None = None,
    scaler: Any = None,
    fold_batchnorm: bool = True,
    input_name: str = "input",
    output_name: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    preprocessing: Any = None,
    target: dict[str, Any] | None = None,
) -> Any:
    """Write ``model`` as an ONNX file; return the ``onnx.ModelProto``.

    Parameters
    ----------
    model : Module or fitted nabla.sklearn estimator
        A ``Sequential``, ``MLP``, ``LogisticRegression`` or single layer, evaluated in eval
        mode (Dropout off, BatchNorm with its running statistics).
    path : str or path-like
        The ``.onnx`` file to write (atomically).
    example_input : array-like of shape (n, ...), optional
        A batch of inputs: fixes the non-batch input shape (the batch axis stays dynamic),
        (n, C, H, W) for a CNN. Default: one row with the first Linear's width, or one image
        of the shape a CNN records (SmallCNN's ``in_channels`` and ``image_size``).
    probabilities : bool, optional
        Output class probabilities instead of logits: softmax, or [1 − p, p] for one logit.
        Default: False for modules, True for classifier estimators.
    scaler : StandardScaler (nabla's or scikit-learn's) or nabla's ``to_dict()``, optional
        Standardisation built into the graph, so the file takes raw feature rows.
    fold_batchnorm : bool, default True
        Fold each BatchNorm1d that follows a Linear into it; otherwise emit
        ``BatchNormalization``.
    input_name, output_name : str
        Tensor names; the output is "probabilities" with ``probabilities`` else "output".
    metadata : dict, optional
        JSON values stored in the file's ``metadata_props`` (class names, feature names...).
    preprocessing : Preprocessing or its ``to_dict()``, optional
        The encoding of raw columns built into the graph (replaces ``scaler``): inputs
        ``input`` (numeric columns, NaN for missing) and ``text`` (text columns); see
        :mod:`nabla.onnx_columns`. The column lists go into the metadata.
    target : dict, optional
        The model file's target; a regression's outputs are mapped to the target's units
        (float64 output, :func:`nabla.deploy.target_values`).

    Raises
    ------
    ExportError
        For a layer with no ONNX translation; the message names its path and type.
    """
    from nabla.io import atomic_write_bytes

    lowered = lower(
        model,
        example_input,
        probabilities=probabilities,
        scaler=scaler,
        fold_batchnorm=fold_batchnorm,
        target=target,
        preprocessing=preprocessing,
    )
    if lowered.preprocessing is not None:
        from nabla.onnx_columns import column_metadata

        names = column_metadata(lowered.preprocessing, input_name, "text")
        metadata = {**names, **(metadata or {})}
    head = lowered.steps[-1].op if lowered.steps else ""
    default_output = "probabilities" if head in ("softmax", "binary", "sigmoid") else "output"
    if head in ("softmax", "sigmoid") and lowered.steps[-1].path != "<output>":
        default_output = "output"
    if head == "target":
        default_output = "predicted"
    proto = to_model(
        lowered,
        input_name=input_name,
        output_name=output_name or default_output,
        metadata=metadata,
        doc=f"exported by nabla from {type(model).__name__}",
        preprocessing=lowered.preprocessing,
    )
    atomic_write_bytes(path, proto.SerializeToString())
    return proto
