"""``nb.save(obj, f)`` and ``nb.load(f)`` with PyTorch's calling conventions, without pickle.

``torch.save`` pickles whatever it is given; nabla writes safetensors files, choosing the form
from the object: a ``Module`` becomes a model file (architecture and weights, rebuilt by
``load`` without user code), a flat mapping of names to arrays (``model.state_dict()``,
``optimizer``-free weights) a state-dict file, anything else of dicts, lists, numbers, strings
and arrays (``{"model": ..., "optimizer": ..., "epoch": 3}``) a checkpoint. ``load`` reads the
form from the file's metadata and returns the same kind of object, so a script's
``torch.save(model.state_dict(), path)`` / ``model.load_state_dict(torch.load(path))`` lines
run unchanged once ``torch`` is nabla.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nabla.io.checkpoint import load_checkpoint, save_checkpoint
from nabla.io.model_file import CHECKPOINT, MODEL, PathLike, load_state_dict, save_state_dict
from nabla.io.model_file import load as load_model
from nabla.io.model_file import save as save_model
from nabla.nn.module import Module
from nabla.tensor import Tensor

__all__ = ["load", "save"]

#: PyTorch's keyword arguments about pickling: accepted and unused (nabla never pickles)
_PICKLE_ARGUMENTS = frozenset(
    {"pickle_module", "pickle_protocol", "_use_new_zipfile_serialization", "mmap"}
)
#: the largest safetensors header read to find a file's form (real headers are kilobytes)
_MAX_HEADER = 100_000_000


def _is_weights(obj: Any) -> bool:
    """A flat name → array mapping (a state dict)."""
    return (
        isinstance(obj, Mapping)
        and bool(obj)
        and all(isinstance(k, str) for k in obj)
        and all(isinstance(v, (np.ndarray, np.generic, Tensor)) for v in obj.values())
    )


def _unused(op: str, kwargs: dict[str, Any]) -> None:
    unknown = sorted(set(kwargs) - _PICKLE_ARGUMENTS)
    if unknown:
        raise TypeError(f"{op}() got an unexpected keyword argument {unknown[0]!r}")


def save(obj: Any, f: PathLike, metadata: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
    """Save a module, a state dict or a checkpoint-like structure to the file ``f``.

    Parameters
    ----------
    obj : Module, dict
        A ``Module`` (its architecture and weights: :func:`nabla.io.model_file.save`), a state
        dict (:func:`nabla.io.save_state_dict`) or nested dicts/lists of arrays, numbers and
        strings (:func:`nabla.io.save_checkpoint`).
    f : str or path-like
        The file, replaced atomically.
    metadata : dict, optional
        JSON data stored beside a module's or a state dict's weights.
    """
    _unused("save", kwargs)
    if isinstance(obj, Module):
        save_model(obj, f, metadata)
    elif _is_weights(obj):
        save_state_dict(obj, f, metadata)
    elif metadata is not None:
        raise TypeError(
            "save: metadata= is stored with a Module or a state dict, not a checkpoint"
        )
    else:
        save_checkpoint(f, obj)


def file_form(f: PathLike) -> str | None:
    """The nabla format named in a safetensors file's metadata ("" when it names none: another
    library's file), or None when the header cannot be read (the loader says what is wrong)."""
    try:
        with Path(f).open("rb") as stream:
            size = int.from_bytes(stream.read(8), "little")
            if not 0 < size <= _MAX_HEADER:
                return None
            header = json.loads(stream.read(size))
    except (OSError, ValueError):
        return None
    if not isinstance(header, dict):
        return None
    meta = header.get("__metadata__")
    form = meta.get("format") if isinstance(meta, dict) else None
    return form if isinstance(form, str) else ""


def load(f: PathLike, map_location: Any = None, weights_only: Any = None, **kwargs: Any) -> Any:
    """Load what :func:`save` wrote: a ``Module`` (in eval mode), a state dict of Tensors, or
    a checkpoint's structure. A plain safetensors file of another library reads as a state dict.

    ``map_location`` may name the CPU (nabla's only device); ``weights_only`` is accepted for
    PyTorch's sake: nabla's files hold no code either way.
    """
    _unused("load", kwargs)
    if (
        map_location is not None
        and not callable(map_location)
        and not isinstance(map_location, Mapping)
    ):
        from nabla.device import device

        device(map_location)  # "cpu" passes, anything else is refused in one line
    form = file_form(f)
    if form is None or form == MODEL:  # (an unreadable file: the model reader names the fault)
        return load_model(f)
    if form == CHECKPOINT:
        return load_checkpoint(f)
    return {key: Tensor(value) for key, value in load_state_dict(f).items()}
