"""Check a stored architecture against a file's tensors before any module is built.

:func:`nabla.load` rebuilds a model from the JSON architecture in the file, and building
allocates and initialises every parameter: an 880-byte file naming ``Linear(12000, 12000)``
would cost seconds and gigabytes before the weights are compared, and a deeply nested
``Sequential`` would overflow the stack. :func:`check_architecture` walks the description
without recursion, bounds its depth and its number of modules, and derives the state-dict shapes
of nabla's own layers from their configs, so a description that does not match the stored tensors
is refused with one line, having allocated nothing. Registered module types without a rule here
(user-defined layers) are built as before and checked by ``load_state_dict``.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Mapping
from typing import Any

from nabla.errors import ModelFileError
from nabla.nn import (
    ACTIVATIONS,
    MLP,
    ActivationError,
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv1d,
    Conv2d,
    Dropout,
    Dropout1d,
    Dropout2d,
    Flatten,
    Identity,
    Linear,
    LogisticRegression,
    LogSoftmax,
    MaxPool1d,
    MaxPool2d,
    Sequential,
    Softmax,
    get_activation,
)
from nabla.nn.cnn_models import SmallCNN
from nabla.nn.module import MODULE_REGISTRY
from nabla.nn.normalization import LayerNorm
from nabla.nn.sparse import Embedding

__all__ = ["MAX_DEPTH", "MAX_MODULES", "check_architecture"]

#: deepest nesting of modules accepted in a file (real networks nest a few levels)
MAX_DEPTH = 64
#: most modules accepted in one file's architecture
MAX_MODULES = 10_000

Shape = tuple[int, ...]
Shapes = dict[str, Shape]
#: layers that hold no parameters or buffers (besides the activations of the registry)
_STATELESS = (Dropout, Flatten, Identity, LogSoftmax, Softmax, Dropout1d, Dropout2d)
#: pooling layers: stateless, their sizes checked as lists of positive integers
_POOLING = (MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool1d, AdaptiveAvgPool2d)


def _size(kind: str, key: str, value: Any) -> int:
    """A positive integer config entry (a width), else a ModelFileError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ModelFileError(f"{kind}: {key} must be a positive integer, got {value!r}")
    return value


def _linear(config: Mapping[str, Any]) -> Shapes:
    n_in = _size("Linear", "in_features", config.get("in_features"))
    n_out = _size("Linear", "out_features", config.get("out_features"))
    shapes: Shapes = {"weight": (n_out, n_in)}
    if config.get("bias", True):
        shapes["bias"] = (n_out,)
    return shapes


def _batch_norm(config: Mapping[str, Any]) -> Shapes:
    n = _size("BatchNorm1d", "num_features", config.get("num_features"))
    shapes: Shapes = {}
    if config.get("affine", True):
        shapes.update(weight=(n,), bias=(n,))
    if config.get("track_running_stats", True):
        shapes.update(running_mean=(n,), running_var=(n,), num_batches_tracked=())
    return shapes


def _conv(kind: str, spatial: int) -> Callable[[Mapping[str, Any]], Shapes]:
    """The shapes of a Conv1d/Conv2d: weight (out, in/groups, *kernel), bias (out,)."""

    def shapes_of(config: Mapping[str, Any]) -> Shapes:
        n_in = _size(kind, "in_channels", config.get("in_channels"))
        n_out = _size(kind, "out_channels", config.get("out_channels"))
        groups = _size(kind, "groups", config.get("groups", 1))
        kernel = config.get("kernel_size")
        if not isinstance(kernel, list) or len(kernel) != spatial:
            raise ModelFileError(
                f"{kind}: kernel_size must be a list of {spatial} integers, got {str(kernel)[:80]}"
            )
        if n_in % groups or n_out % groups:
            raise ModelFileError(f"{kind}: groups={groups} must divide the channel counts")
        sizes = tuple(_size(kind, "kernel_size", k) for k in kernel)
        shapes: Shapes = {"weight": (n_out, n_in // groups, *sizes)}
        if config.get("bias", True):
            shapes["bias"] = (n_out,)
        return shapes

    return shapes_of


def _layer_norm(config: Mapping[str, Any]) -> Shapes:
    given = config.get("normalized_shape")
    if not isinstance(given, list) or not given:
        raise ModelFileError(f"LayerNorm: normalized_shape must be a list, got {str(given)[:80]}")
    shape = tuple(_size("LayerNorm", "normalized_shape", n) for n in given)
    shapes: Shapes = {}
    if config.get("elementwise_affine", True):
        shapes["weight"] = shape
        if config.get("bias", True):
            shapes["bias"] = shape
    return shapes


def _embedding(config: Mapping[str, Any]) -> Shapes:
    rows = _size("Embedding", "num_embeddings", config.get("num_embeddings"))
    return {"weight": (rows, _size("Embedding", "embedding_dim", config.get("embedding_dim")))}


def _mlp_layers(config: Mapping[str, Any]) -> list[tuple[int, Shapes]]:
    """(index, shapes) of the MLP's layers that hold state, as ``MLP.__init__`` lays them out."""
    sizes = config.get("sizes")
    if not isinstance(sizes, list) or len(sizes) < 2:
        raise ModelFileError(f"MLP: sizes must list at least 2 widths, got {str(sizes)[:80]}")
    widths = [_size("MLP", "sizes", s) for s in sizes]
    if "activation" in config:
        try:
            get_activation(config["activation"])
        except ActivationError as exc:
            raise ModelFileError(f"MLP: {str(exc)[:200]}") from None
    layers, index = [], 0
    for i, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
        layers.append((index, _linear({"in_features": n_in, "out_features": n_out})))
        index += 1
        if i == len(widths) - 2:
            break
        if config.get("batch_norm", False):
            layers.append((index, _batch_norm({"num_features": n_out})))
            index += 1
        index += 2 if config.get("dropout", 0.0) else 1  # the activation, then any Dropout
    return layers


def _logistic_layers(config: Mapping[str, Any]) -> list[tuple[int, Shapes]]:
    n_in = _size("LogisticRegression", "in_features", config.get("in_features"))
    n_classes = _size("LogisticRegression", "n_classes", config.get("n_classes", 2))
    return [
        (0, _linear({"in_features": n_in, "out_features": 1 if n_classes == 2 else n_classes}))
    ]


def _small_cnn_layers(config: Mapping[str, Any]) -> list[tuple[int, Shapes]]:
    """(index, shapes) of SmallCNN's layers that hold state, as ``SmallCNN.__init__`` lays
    them out: the widths come from the config, so a file claiming a huge network is refused
    against its stored tensors before anything is built."""
    kind = "SmallCNN"
    size = config.get("image_size", [28, 28])
    if isinstance(size, int) and not isinstance(size, bool):
        size = [size, size]
    if not isinstance(size, list) or len(size) != 2:
        raise ModelFileError(f"{kind}: image_size must be [height, width], got {str(size)[:80]}")
    height, width = (_size(kind, "image_size", n) for n in size)
    n_in = _size(kind, "in_channels", config.get("in_channels", 1))
    widths = config.get("channels", [24, 48])
    if not isinstance(widths, list) or not widths:
        raise ModelFileError(f"{kind}: channels must be a list of widths, got {str(widths)[:80]}")
    hidden = _size(kind, "hidden", config.get("hidden", 128))
    layers, index = [], 0
    for n_out in (_size(kind, "channels", n) for n in widths):
        layers.append((index, {"weight": (n_out, n_in, 3, 3), "bias": (n_out,)}))
        layers.append((index + 1, _batch_norm({"num_features": n_out})))
        index += 3  # Conv2d, BatchNorm2d, ReLU
        if min(height, width) >= 2:
            index += 1  # MaxPool2d(2)
            height, width = height // 2, width // 2
        n_in = n_out
    flat = n_in * height * width
    layers.append((index + 1, _linear({"in_features": flat, "out_features": hidden})))
    index += 3 + (1 if config.get("dropout", 0.0) else 0)  # Flatten, Linear, ReLU, Dropout
    n_out = _size(kind, "num_classes", config.get("num_classes", 10))
    layers.append((index, _linear({"in_features": hidden, "out_features": n_out})))
    return layers


def _integer(kind: str, key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ModelFileError(f"{kind}: {key} must be an integer, got {str(value)[:80]!r}")


def _number(kind: str, key: str, value: Any, low: float, high: float) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not low <= value <= high:
        raise ModelFileError(
            f"{kind}: {key} must be a number in [{low}, {high}], got {str(value)[:80]!r}"
        )


def _check_stateless(cls: type, config: Mapping[str, Any]) -> bool:
    """Refuse config values of nabla's stateless layers that would only fail when run.

    Returns False for a class that is not one of them (nor a registered activation).
    """
    kind = cls.__name__
    entry = next((entry for entry in ACTIVATIONS.values() if entry.module is cls), None)
    if entry is not None:
        for key in (key for key in entry.params if key in config):
            _number(kind, key, config[key], -1e308, 1e308)
        return True
    if cls in _POOLING:
        for key in ("kernel_size", "stride", "output_size"):
            value = config.get(key)
            for v in value if isinstance(value, list) else [value]:
                if v is not None:
                    _size(kind, key, v)
        return True
    if cls not in _STATELESS:
        return False
    if kind in ("Softmax", "LogSoftmax") and "dim" in config:
        _integer(kind, "dim", config["dim"])
    elif kind == "Flatten":
        for key in ("start_dim", "end_dim"):
            if key in config:
                _integer(kind, key, config[key])
    elif kind.startswith("Dropout") and "p" in config:
        _number(kind, "p", config["p"], 0.0, 1.0)
    return True


#: the state-dict shapes of nabla's layers, from their configs: (layer index, shapes) per layer
_RULES: dict[type, Callable[[Mapping[str, Any]], list[tuple[int, Shapes]]]] = {
    Linear: lambda config: [(-1, _linear(config))],
    BatchNorm1d: lambda config: [(-1, _batch_norm(config))],
    BatchNorm2d: lambda config: [(-1, _batch_norm(config))],
    Conv1d: lambda config: [(-1, _conv("Conv1d", 1)(config))],
    Conv2d: lambda config: [(-1, _conv("Conv2d", 2)(config))],
    LayerNorm: lambda config: [(-1, _layer_norm(config))],
    Embedding: lambda config: [(-1, _embedding(config))],
    MLP: _mlp_layers,
    LogisticRegression: _logistic_layers,
    SmallCNN: _small_cnn_layers,
}


def _layers(node: Mapping[str, Any], count: int) -> list[Any]:
    """The layers of a Sequential's description, refused if not a list or too many."""
    layers = node.get("layers", [])
    if not isinstance(layers, list):
        raise ModelFileError(f"Sequential: layers must be a list, got {str(layers)[:80]}")
    if count + len(layers) > MAX_MODULES:
        raise ModelFileError(f"the architecture has more than {MAX_MODULES} modules")
    return layers


def expected_shapes(spec: Any) -> tuple[Shapes, list[str]]:
    """The state-dict shapes an architecture describes, without building it.

    Returns
    -------
    shapes : dict
        ``"0.weight" -> (out, in)``... for every module nabla knows the layout of.
    unchecked : list of str
        Key prefixes of registered modules without a rule (built and checked later).

    Raises
    ------
    ModelFileError
        For a description that is not a module, nested deeper than :data:`MAX_DEPTH`, with
        more than :data:`MAX_MODULES` modules, or with an invalid width.
    """
    shapes: Shapes = {}
    unchecked: list[str] = []
    stack: list[tuple[str, Any, int]] = [("", spec, 1)]
    count = 0
    while stack:
        prefix, node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ModelFileError(f"the architecture nests modules more than {MAX_DEPTH} deep")
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            raise ModelFileError(f"invalid architecture description: {str(node)[:80]!r}")
        cls = MODULE_REGISTRY.get(node["type"])
        config = node.get("config", {})
        sizes = config.get("sizes") if cls is MLP and isinstance(config, dict) else None
        # an MLP holds up to 4 modules per layer (Linear, BatchNorm1d, activation, Dropout)
        count += 1 + (4 * len(sizes) if isinstance(sizes, list) else 0)
        if count > MAX_MODULES:
            raise ModelFileError(f"the architecture has more than {MAX_MODULES} modules")
        if cls is None or not isinstance(config, dict):
            unchecked.append(prefix)  # from_spec names the unknown type or the bad config
            continue
        if cls is Sequential:
            layers = _layers(node, count)
            stack.extend((f"{prefix}{i}.", layer, depth + 1) for i, layer in enumerate(layers))
        elif cls in _RULES:
            for index, layer in _RULES[cls](config):
                where = prefix if index < 0 else f"{prefix}{index}."
                shapes.update({f"{where}{key}": shape for key, shape in layer.items()})
        elif not _check_stateless(cls, config):
            unchecked.append(prefix)
    return shapes, unchecked


def check_architecture(
    path: str | os.PathLike[str], spec: Any, stored: Mapping[str, Shape]
) -> None:
    """Refuse ``spec`` unless the state it describes is exactly the ``stored`` tensor shapes.

    Parameters
    ----------
    path : str or path-like
        The file, named in messages.
    spec : dict
        The decoded architecture (:meth:`nabla.nn.Module.spec` output).
    stored : dict
        Key -> shape of the tensors in the file's safetensors header.

    Raises
    ------
    ModelFileError
        One line naming the limit exceeded, or the first missing, unexpected or misshapen key.
    """
    try:
        shapes, unchecked = expected_shapes(spec)
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    if "" in unchecked:
        return
    free = tuple(unchecked)
    file_keys = {key: tuple(shape) for key, shape in stored.items() if not key.startswith(free)}
    bad = f"{path}: the weights do not match the architecture"
    for key, shape in shapes.items():
        if key not in file_keys:
            raise ModelFileError(f"{bad}: it needs {key} of shape {shape}, the file has no {key}")
        if file_keys[key] != shape:
            raise ModelFileError(
                f"{bad}: {key} has shape {file_keys[key]} in the file, the architecture "
                f"needs {shape}"
            )
    extra = sorted(set(file_keys) - set(shapes))
    if extra:
        raise ModelFileError(f"{bad}: the architecture has no {extra[0]} (stored in the file)")
