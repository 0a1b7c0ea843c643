"""Weights in PyTorch's layout: plain safetensors files that ``torch`` and nabla both read.

nabla's ``Sequential``, ``MLP`` and ``LogisticRegression`` name their weights as
``torch.nn.Sequential`` does ("0.weight", "0.bias", "1.running_mean", ...), with the same
shapes (Linear weights are (out_features, in_features)). So a model moves between the two as a
safetensors file, without pickle:

* PyTorch → nabla: ``safetensors.torch.save_file(torch_model.state_dict(), "w.safetensors")``,
  then :func:`load_pytorch_weights` into the equivalent nabla model (or :func:`mlp_from_pytorch`
  to build it from the file);
* nabla → PyTorch: :func:`save_pytorch_weights`, then
  ``torch_model.load_state_dict(safetensors.torch.load_file("w.safetensors"))``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.errors import StateDictError
from nabla.io.atomic import atomic_write_bytes
from nabla.io.model_file import _safetensors_numpy, as_storable, load_state_dict
from nabla.nn.models import MLP
from nabla.nn.module import Module
from nabla.tensor import Tensor

__all__ = ["load_pytorch_weights", "mlp_from_pytorch", "save_pytorch_weights"]

PathLike = str | os.PathLike[str]


def _read(source: PathLike | Mapping[str, Any]) -> dict[str, Array]:
    if isinstance(source, Mapping):
        return {
            str(k): np.asarray(v.data if isinstance(v, Tensor) else v) for k, v in source.items()
        }
    return load_state_dict(source)


def load_pytorch_weights(
    model: Module, source: PathLike | Mapping[str, Any], strict: bool = True
) -> Module:
    """Copy a PyTorch-layout state dict into ``model``; return the model.

    Parameters
    ----------
    model : Module
        The nabla model whose layers match the PyTorch model's, index for index (a
        ``torch.nn.Sequential(Linear, ReLU, Linear)`` ↔ ``nb.nn.Sequential(Linear, ReLU,
        Linear)`` or ``nb.nn.MLP([in, hidden, out], activation="relu")``).
    source : path or mapping
        A safetensors file (``safetensors.torch.save_file`` output, metadata or not) or a
        dict of name → array.
    strict : bool
        Every key must match (see :meth:`Module.load_state_dict`).

    Floating-point values are cast to the dtype of the parameter they fill (a float64 file
    loads into a float32 model); integer buffers such as ``num_batches_tracked`` load as is.

    Raises
    ------
    StateDictError
        For missing or unexpected keys and shape mismatches, naming each.
    """
    state = _read(source)
    targets = model.state_dict()
    cast = {}
    for key, value in state.items():
        current = targets.get(key)
        if current is not None and value.dtype.kind == "f" and current.dtype.kind == "f":
            value = value.astype(current.dtype, copy=False)
        cast[key] = value
    model.load_state_dict(cast, strict=strict)
    return model


def save_pytorch_weights(
    model: Module | Mapping[str, Any], path: PathLike, dtype: Any = None
) -> None:
    """Write a model's state dict as a plain safetensors file in PyTorch's layout.

    The file carries only ``{"format": "pt"}`` as metadata (what Hugging Face writes), so
    ``safetensors.torch.load_file`` returns exactly the tensors ``torch_model.load_state_dict``
    expects. ``dtype`` (e.g. ``"float32"``) converts the floating-point tensors first.
    """
    state = model.state_dict() if isinstance(model, Module) else dict(model)
    arrays = {}
    for key, value in state.items():
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
        if dtype is not None and array.dtype.kind == "f":
            array = array.astype(dtype)
        arrays[str(key)] = as_storable(str(key), array)
    atomic_write_bytes(path, _safetensors_numpy().save(arrays, metadata={"format": "pt"}))


def mlp_from_pytorch(
    source: PathLike | Mapping[str, Any],
    activation: str = "relu",
    dropout: float = 0.0,
    negative_slope: float = 0.01,
) -> MLP:
    """Build the nabla ``MLP`` of a PyTorch ``Sequential`` MLP's weights and load them.

    The widths and BatchNorm1d layers are read from the state dict; the activation is not
    stored in it, so name it. The PyTorch model must have MLP's layout: Linear, [BatchNorm1d],
    activation, [Dropout], ..., Linear. Dropout holds no weights, but its layers shift the
    indices, so pass ``dropout > 0`` if the PyTorch model had them (the rate only matters in
    training).

    Raises
    ------
    StateDictError
        If the layer indices or shapes do not fit such an MLP (the message shows both).
    """
    state = _read(source)
    linear = sorted(
        int(m.group(1))
        for key, value in state.items()
        if (m := re.fullmatch(r"(\d+)\.weight", key)) and value.ndim == 2
    )
    if not linear:
        raise StateDictError("mlp_from_pytorch: no '<index>.weight' matrices in the state dict")
    sizes = [int(state[f"{linear[0]}.weight"].shape[1])]
    sizes += [int(state[f"{i}.weight"].shape[0]) for i in linear]
    batch_norm = any(key.endswith(".running_mean") for key in state)
    floats = [v.dtype for v in state.values() if v.dtype.kind == "f"]
    model = MLP(
        sizes,
        activation=activation,
        dropout=dropout,
        batch_norm=batch_norm,
        negative_slope=negative_slope,
        dtype=floats[0] if floats else np.float32,
    )
    expected = [i for i, layer in enumerate(model) if type(layer).__name__ == "Linear"]
    if expected != linear:
        raise StateDictError(
            f"mlp_from_pytorch: the file's Linear layers sit at indices {linear}, but "
            f"MLP(sizes={sizes}, batch_norm={batch_norm}, dropout={dropout}) puts them at "
            f"{expected}; pass dropout > 0 if the PyTorch model has Dropout layers"
        )
    load_pytorch_weights(model, state)
    return model.eval()
