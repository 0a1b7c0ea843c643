"""A trained network as a flat list of inference steps, for the ONNX and pure-NumPy exporters.

:func:`lower` walks a ``Sequential`` (or ``MLP``, ``LogisticRegression``, a fitted
``nabla.sklearn`` estimator) in eval mode and returns :class:`Step` objects holding copies of
the weights: ``standardize``, ``linear``, ``batchnorm``, ``softmax``, ``log_softmax``,
``flatten``, ``exp``, ``binary`` (one sigmoid column p → the two columns [1 − p, p]),
``target`` (a regressor's outputs back in the target's units, ``target_values``), the image
layers' ``conv``, ``max_pool``, ``avg_pool``, ``adaptive_avg_pool`` (:mod:`nabla.deploy_conv`),
and one step per activation layer, named as in :data:`nabla.nn.registry.ACTIVATIONS` with its
params as attributes (the exporters read the entry's ONNX op and NumPy source). Dropout (and
Dropout1d/2d) and Identity vanish. It runs the example input through the layers as it goes, so
every step knows its input and output shapes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nabla.autograd.mode import no_grad
from nabla.data.columns import Preprocessing, is_regression, target_arrays
from nabla.errors import NablaError
from nabla.nn import (
    ACTIVATIONS,
    Dropout,
    Flatten,
    Identity,
    Linear,
    LogSoftmax,
    Module,
    Sequential,
    Softmax,
    activation_of,
)
from nabla.nn.layers import BatchNormBase
from nabla.tensor import Tensor


def supported() -> str:
    """The layers the exporters translate, for error messages."""
    activations = [entry.module.__name__ for entry in ACTIVATIONS.values()]
    from nabla.deploy_conv import IMAGE_LAYERS

    others = ["Softmax", "LogSoftmax", "Dropout", "BatchNorm1d", "Flatten", "Identity"]
    layers = ", ".join(dict.fromkeys(["Linear", *activations, *others, *IMAGE_LAYERS]))
    return f"{layers}, and Sequential/MLP/LogisticRegression built from them"


class ExportError(NablaError, TypeError):
    """A model that cannot be exported; the message names the layer path and type."""


@dataclass
class Step:
    """One inference operation: ``op``, its weights (``arrays``) and settings (``attrs``)."""

    op: str
    path: str
    arrays: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    in_shape: tuple[int, ...] = ()
    out_shape: tuple[int, ...] = ()


@dataclass
class Lowered:
    """The steps of a model plus what the exporters need to know about its input."""

    steps: list[Step]
    dtype: np.dtype[Any]
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    #: the validated preprocessing document that encodes raw columns into the input, if any
    preprocessing: dict[str, Any] | None = None


def _leaves(module: Module, path: str) -> list[tuple[str, Module]]:
    if isinstance(module, Sequential) and type(module).forward is Sequential.forward:
        out: list[tuple[str, Module]] = []
        for name, child in module.named_children():
            out.extend(_leaves(child, f"{path}.{name}" if path else name))
        return out
    return [(path or "<model>", module)]


def _unsupported(path: str, module: Module, why: str = "") -> ExportError:
    reason = why or f"it is not supported; supported layers: {supported()}"
    return ExportError(f"cannot export layer {path!r} ({type(module).__name__}): {reason}")


def _linear_step(path: str, module: Linear, rank: int) -> Step:
    arrays = {"weight": module.weight.data.copy()}
    if module.bias is not None:
        arrays["bias"] = module.bias.data.copy()
    return Step("linear", path, arrays)


def _batchnorm_step(path: str, module: BatchNormBase, rank: int) -> Step:
    if not module.track_running_stats:
        raise _unsupported(
            path, module, "without running statistics it normalises with batch statistics"
        )
    n, dtype = module.num_features, module.running_mean.dtype
    weight = module.weight.data if module.affine else np.ones(n, dtype)
    bias = module.bias.data if module.affine else np.zeros(n, dtype)
    arrays = {
        "weight": np.array(weight),
        "bias": np.array(bias),
        "mean": np.array(module.running_mean),
        "var": np.array(module.running_var),
    }
    return Step("batchnorm", path, arrays, {"eps": module.eps})


def _softmax_step(path: str, module: Softmax, rank: int) -> Step:
    op = "log_softmax" if isinstance(module, LogSoftmax) else "softmax"
    return Step(op, path, attrs={"axis": module.dim % rank})


def _flatten_step(path: str, module: Flatten, rank: int) -> Step:
    attrs = {"start": module.start_dim % rank, "end": module.end_dim % rank}
    return Step("flatten", path, attrs=attrs)


#: the layers other than activations (LogSoftmax is a Softmax)
_STEPS: dict[type, Any] = {
    Linear: _linear_step,
    BatchNormBase: _batchnorm_step,  # BatchNorm1d and BatchNorm2d
    Softmax: _softmax_step,
    Flatten: _flatten_step,
}


def _step(path: str, module: Module, rank: int) -> Step | None:
    """The step for one leaf module, None for layers that do nothing at inference."""
    if isinstance(module, (Dropout, Identity)):
        return None
    for cls, make in _STEPS.items():
        if isinstance(module, cls):
            step: Step = make(path, module, rank)
            return step
    entry = activation_of(module)
    if entry is not None:
        return Step(entry.name, path, attrs=entry.settings_of(module))
    from nabla.deploy_conv import image_step

    return image_step(path, module, rank)  # or an error naming the layer


def head_for(model: Any, probabilities: bool | None) -> tuple[Module, str | None]:
    """The network to export and the output head that turns its outputs into predictions.

    A fitted ``nabla.sklearn`` estimator exports what ``predict_proba`` (classifiers) or
    ``predict`` (regressors) return unless ``probabilities=False``; a module exports its
    forward pass, plus softmax (or [1 − p, p] for one logit) when ``probabilities=True``. A
    module that already ends in ``Softmax``/``LogSoftmax`` over its last axis (or ``Sigmoid``
    on one output) gets the head in that layer's place, so probabilities are never squashed
    twice.
    """
    network = getattr(model, "model_", None)
    if isinstance(network, Module) and hasattr(model, "out_activation_"):
        if probabilities is False:
            return network, None
        kind = model.out_activation_
        if kind == "softmax":
            return network, "softmax"
        if kind == "logistic":
            last: Any = list(network.children())[-1]
            return network, "binary" if last.out_features == 1 else "sigmoid"
        return network, "exp" if kind == "exp" else None
    if not isinstance(model, Module):
        raise ExportError(
            f"cannot export a {type(model).__name__}: expected a nabla Module or a fitted "
            "nabla.sklearn estimator"
        )
    if not probabilities:
        return model, None
    return model, "classifier"


def lower(
    model: Any,
    example_input: Any = None,
    *,
    probabilities: bool | None = None,
    scaler: Any = None,
    fold_batchnorm: bool = False,
    target: dict[str, Any] | None = None,
    preprocessing: Any = None,
) -> Lowered:
    """The inference steps of ``model`` (see the module docstring).

    Parameters
    ----------
    model : Module or fitted nabla.sklearn estimator
    example_input : array-like of shape (n, ...), optional
        A batch of inputs; by default one row of zeros with the first Linear's width, or one
        image of the shape a CNN records (SmallCNN's ``in_channels`` and ``image_size``).
    probabilities : bool, optional
        Append the head that turns logits into probabilities (see :func:`head_for`).
    scaler : StandardScaler (nabla's or scikit-learn's) or dict, optional
        Standardisation applied to the raw input first (a dict in ``to_dict()`` form).
    fold_batchnorm : bool
        Merge each BatchNorm1d that directly follows a Linear (on 2-D data) into its weights.
    target : dict, optional
        The model file's ``target``; for ``{"task": "regression", "mean": m, "scale": s}`` a
        last step maps outputs to ``out * s + m`` in float64 (``nabla.data.columns.target_values``).
    preprocessing : Preprocessing or its ``to_dict()``, optional
        The encoding of raw columns in front of the network (instead of ``scaler``); the
        exporters apply it first. Its number of features must be the network's input width.
    """
    if preprocessing is not None and scaler is not None:
        raise ExportError("pass the preprocessing or a scaler, not both")
    spec = None if preprocessing is None else Preprocessing.coerce(preprocessing).spec
    network, head = head_for(model, probabilities)
    dtype = network.dtype
    x = _example(network, example_input, dtype)
    in_shape = tuple(x.shape)
    if spec is not None and math.prod(in_shape[1:]) != (n := len(spec["feature_names"])):
        raise ExportError(
            f"the preprocessing makes {n} features, but the model takes {in_shape[1:]}"
        )
    steps: list[Step] = []
    if scaler is not None:
        mean, scale = _scaler_arrays(scaler, np.dtype(dtype))
        arrays = {"mean": mean, "scale": scale}
        steps.append(Step("standardize", "scaler", arrays, in_shape=in_shape, out_shape=in_shape))
    out_shape = _network_steps(network, x, steps, fold_batchnorm)
    if head is not None:
        out_shape = _append_head(steps, head, out_shape)
    if is_regression(target):
        if head is not None:
            raise ExportError("a regression has no class probabilities: pass probabilities=False")
        arrays = target_arrays(target)
        steps.append(Step("target", "<target>", arrays, in_shape=out_shape, out_shape=out_shape))
    return Lowered(steps, np.dtype(dtype), in_shape, out_shape, spec)


def _network_steps(
    network: Module, x: np.ndarray[Any, Any], steps: list[Step], fold_batchnorm: bool
) -> tuple[int, ...]:
    """Append the steps of `network`'s layers, run in eval mode on `x`; return the out shape."""
    was_training = network.training
    network.eval()
    try:
        with no_grad():
            t = Tensor(x)
            for path, module in _leaves(network, ""):
                step = _step(path, module, t.ndim)
                shape = tuple(t.shape)
                t = module(t)
                if step is None:
                    continue
                step.in_shape, step.out_shape = shape, tuple(t.shape)
                if fold_batchnorm and step.op == "batchnorm" and _foldable(steps, step):
                    _fold(steps[-1], step)
                    continue
                steps.append(step)
    finally:
        network.train(was_training)
    return tuple(t.shape)


def _append_head(steps: list[Step], head: str, out_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Append the output head (see :func:`head_for`); return the model's output shape."""
    head_in = out_shape
    if head == "classifier":
        head, replaces = classifier_head(steps[-1] if steps else None, out_shape)
        if replaces:
            # the model already ends in softmax/log-softmax over the classes (or a sigmoid on
            # its one logit): the head takes that layer's place instead of being applied twice
            head_in = steps.pop().in_shape
    attrs = {"axis": len(out_shape) - 1} if head == "softmax" else {}
    if head == "binary":
        out_shape = (*out_shape[:-1], 2)
    steps.append(Step(head, "<output>", attrs=attrs, in_shape=head_in, out_shape=out_shape))
    return out_shape


def classifier_head(last: Step | None, out_shape: tuple[int, ...]) -> tuple[str, bool]:
    """The probability head of a module read as a classifier, and whether it replaces `last`.

    The one rule shared by the exporters, ``nabla predict`` and ``nabla evaluate``: one output
    column is a logit ("binary": [1 − p, p]), more are scores ("softmax" over the last axis).
    A final ``Softmax``/``LogSoftmax`` over the last axis (or ``Sigmoid`` on one column) is
    replaced by the head, so probabilities are never squashed twice. A final softmax over
    another axis (``Softmax(0)``: across the batch) has no reading as class probabilities and
    is refused.
    """
    head = "binary" if out_shape[-1] == 1 else "softmax"
    if last is None or last.path == "scaler":
        return head, False
    if last.op in ("softmax", "log_softmax") and last.attrs["axis"] != len(out_shape) - 1:
        raise ExportError(
            f"layer {last.path!r} applies {last.op} over axis {last.attrs['axis']}, not the "
            f"class axis {len(out_shape) - 1}: the model cannot be read as a classifier"
        )
    if head == "binary":
        return head, last.op == "sigmoid"
    return head, last.op in ("softmax", "log_softmax")


def class_probabilities(model: Any, x: Any) -> np.ndarray[Any, Any]:
    """Class probabilities of `model` for the rows `x`, as its exported predictor computes them.

    A model with ``predict_proba`` (MLP, LogisticRegression, a nabla.sklearn classifier) uses
    it; any other module runs its forward pass in eval mode and gets the head of
    :func:`classifier_head`, in NumPy. Raises ExportError (one line) for a model that cannot be
    read as a classifier.
    """
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(x))
    if not isinstance(model, Module):
        raise ExportError(f"a {type(model).__name__} is not a nabla Module")
    network: Module = model
    last: Step | None = None
    last_in: Any = None
    was_training = network.training
    network.eval()
    try:
        with no_grad():
            t = Tensor(np.asarray(getattr(x, "data", x), dtype=network.dtype))
            for path, module in _leaves(network, ""):
                try:
                    step = _step(path, module, t.ndim)
                except ExportError:  # a layer the exporters lack: it ends nothing they know
                    step = Step("other", path)
                before = t
                t = module(t)
                if step is not None:
                    last, last_in = step, before
    finally:
        network.train(was_training)
    out = np.asarray(t.data)
    if out.ndim != 2:
        raise ExportError(
            f"the model's output has shape {out.shape}, not (n_samples, n_classes): "
            "it cannot be read as a classifier"
        )
    head, replaces = classifier_head(last, tuple(out.shape))
    z = np.asarray(last_in.data) if replaces else out
    if head == "binary":
        p = ACTIVATIONS["sigmoid"].numpy_function()(z)  # the predictor's own sigmoid
        return np.concatenate([1 - p, p], axis=-1)
    shifted = z - z.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return np.asarray(e / e.sum(axis=-1, keepdims=True))


def _scaler_arrays(scaler: Any, dtype: np.dtype[Any]) -> tuple[Any, Any]:
    """(mean, scale) of a nabla StandardScaler, its ``to_dict()``, or scikit-learn's scaler."""
    if hasattr(scaler, "scale_") and not hasattr(scaler, "to_dict"):  # scikit-learn's
        n = int(scaler.n_features_in_)
        mean = np.zeros(n) if scaler.mean_ is None else scaler.mean_
        scale = np.ones(n) if scaler.scale_ is None else scaler.scale_
        return np.asarray(mean, dtype=dtype), np.asarray(scale, dtype=dtype)
    state = scaler if isinstance(scaler, dict) else scaler.to_dict()
    # nabla's scaler keeps float32 statistics: round through float32 as its transform does
    mean = np.asarray(state["mean"], dtype=np.float32).astype(dtype)
    return mean, np.asarray(state["scale"], dtype=np.float32).astype(dtype)


def _example(network: Module, example_input: Any, dtype: Any) -> np.ndarray[Any, Any]:
    if example_input is not None:
        x = np.asarray(getattr(example_input, "data", example_input), dtype=dtype)
        if x.ndim < 1:
            raise ExportError(f"example_input must have a batch axis, got shape {x.shape}")
        return x
    first = None
    for _, first in _leaves(network, ""):
        if isinstance(first, Linear):
            return np.zeros((1, first.in_features), dtype=dtype)
        if not isinstance(first, (Dropout, Identity)):
            break
    from nabla.deploy_conv import image_input_shape

    return np.zeros((1, *image_input_shape(network, first)), dtype=dtype)


def _foldable(steps: list[Step], bn: Step) -> bool:
    return bool(steps) and steps[-1].op == "linear" and len(bn.in_shape) == 2


def _fold(linear: Step, bn: Step) -> None:
    """W' = s ⊙ W, b' = s ⊙ (b − μ) + β with s = γ / √(σ² + eps), computed in float64."""
    a = bn.arrays
    dtype = linear.arrays["weight"].dtype
    scale = a["weight"].astype(np.float64) / np.sqrt(a["var"].astype(np.float64) + bn.attrs["eps"])
    weight = linear.arrays["weight"].astype(np.float64) * scale[:, None]
    bias = linear.arrays.get("bias", np.zeros(weight.shape[0])).astype(np.float64)
    bias = (bias - a["mean"]) * scale + a["bias"]
    linear.arrays = {"weight": weight.astype(dtype), "bias": bias.astype(dtype)}
    linear.path = f"{linear.path}+{bn.path}"
    linear.out_shape = bn.out_shape
