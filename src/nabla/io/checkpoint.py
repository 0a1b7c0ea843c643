"""Training checkpoints: nested dicts and lists of arrays and scalars in one safetensors file.

Every array leaf becomes a tensor named by its path ("optimizer/state/0/exp_avg"); the rest of
the structure is JSON in the header's metadata, with ``{"tensor": name}`` placeholders. Every
container is a one-key JSON object, so plain JSON values are always leaves:

================================  ==============================================
Python                            JSON
================================  ==============================================
None, bool, int, float, str       themselves (big ints and NaN/inf included)
ndarray                           ``{"tensor": name}``
NumPy scalar (np.float32(1.5))    ``{"scalar": name}`` (stored as a 0-d tensor)
dict                              ``{"dict": [[key, value], ...]}``
list / tuple                      ``{"list": [...]}`` / ``{"tuple": [...]}``
================================  ==============================================

Pairs keep dict keys typed: an optimizer's ``{0: ...}`` comes back with the int key 0, not "0".
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.errors import ModelFileError
from nabla.io.model_file import (
    CHECKPOINT,
    PathLike,
    as_storable,
    json_field,
    read_container,
    write_container,
)

__all__ = ["load_checkpoint", "save_checkpoint"]

_KEY_TYPES = (str, int, float, bool, type(None))


def save_checkpoint(path: PathLike, state: Any) -> None:
    """Save a training state atomically: a crash mid-save leaves the previous file intact.

    Parameters
    ----------
    path : str or path-like
        The checkpoint file (conventionally ``*.safetensors``).
    state : dict
        Nested dicts (str, int, float, bool or None keys), lists and tuples whose leaves are
        arrays, NumPy scalars, int, float, bool, None or str; e.g. ``{"model":
        model.state_dict(), "optimizer": optimizer.state_dict(), "rng": nb.get_rng_state(),
        "epoch": 5}``. Dict subclasses (OrderedDict) come back as plain dicts.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from nabla.io import load_checkpoint, save_checkpoint
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ckpt.safetensors"
    >>> save_checkpoint(path, {"epoch": 3, "state": {0: {"step": 3, "m": np.zeros(2)}}})
    >>> load_checkpoint(path)
    {'epoch': 3, 'state': {0: {'step': 3, 'm': array([0., 0.])}}}
    """
    tensors: dict[str, Array] = {}
    structure = _encode(state, "", tensors)
    write_container(path, tensors, {"structure": json.dumps(structure)}, CHECKPOINT)


def load_checkpoint(path: PathLike) -> Any:
    """Load a checkpoint saved by :func:`save_checkpoint`, arrays and types exactly as saved.

    Raises
    ------
    ModelFileError
        If the file is missing, truncated, corrupted (checksum mismatch) or not a checkpoint.
    """
    tensors, metadata = read_container(path, (CHECKPOINT,))
    used: set[str] = set()
    try:
        state = _decode(json_field(path, metadata, "structure"), tensors, used)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: invalid checkpoint structure: {exc}") from None
    except RecursionError:
        raise ModelFileError(f"{path}: invalid checkpoint structure: nested too deeply") from None
    if used != set(tensors):
        raise ModelFileError(
            f"{path}: tensors the structure does not use: {sorted(set(tensors) - used)}"
        )
    return state


def _encode(obj: Any, where: str, tensors: dict[str, Array]) -> Any:
    """The JSON form of ``obj``; arrays are moved into ``tensors`` under unique path names."""
    if isinstance(obj, (np.ndarray, np.generic)):  # before float: np.float64 is a float
        tag = "tensor" if isinstance(obj, np.ndarray) else "scalar"
        name = next(n for n in _candidates(where or tag) if n not in tensors)
        tensors[name] = as_storable(name, obj)
        return {tag: name}
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):  # IntEnum and other subclasses store as plain ints
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    if isinstance(obj, Mapping):
        return {"dict": [_encode_pair(key, value, where, tensors) for key, value in obj.items()]}
    if isinstance(obj, (list, tuple)):
        tag = "list" if isinstance(obj, list) else "tuple"
        return {tag: [_encode(v, _child(where, i), tensors) for i, v in enumerate(obj)]}
    raise TypeError(
        f"save_checkpoint: cannot store a {type(obj).__name__} at {where or 'the top level'}; "
        "leaves must be arrays, NumPy scalars, int, float, bool, None or str "
        "(use .data for a Tensor, .state_dict() for a module or optimizer)"
    )


def _encode_pair(key: Any, value: Any, where: str, tensors: dict[str, Array]) -> list[Any]:
    """A dict entry as ``[key, encoded value]``; the key keeps its JSON type."""
    if isinstance(key, np.generic) or not isinstance(key, _KEY_TYPES):
        raise TypeError(
            f"save_checkpoint: dict key {key!r} at {where or 'the top level'} is a "
            f"{type(key).__name__}; keys must be str, int, float, bool or None"
        )
    return [key, _encode(value, _child(where, key), tensors)]


def _child(where: str, key: Any) -> str:
    """The tensor-name path of entry ``key`` under ``where`` ("optimizer/state/0")."""
    return f"{where}/{key}" if where else str(key)


def _candidates(name: str) -> Iterator[str]:
    yield name
    i = 1
    while True:  # a key containing "/" can collide with a nested path
        yield f"{name}#{i}"
        i += 1


def _decode(node: Any, tensors: Mapping[str, Array], used: set[str]) -> Any:
    if not isinstance(node, (dict, list)):
        return node
    if not isinstance(node, dict) or len(node) != 1:
        raise ValueError(f"unexpected node {str(node)[:80]}")
    ((tag, body),) = node.items()
    if tag in ("tensor", "scalar"):
        if body not in tensors:
            raise KeyError(f"no tensor named {body!r}")
        used.add(body)
        array = tensors[body]
        if tag == "scalar":
            return array[()]
        return array
    if tag == "dict":
        return {key: _decode(value, tensors, used) for key, value in body}
    if tag == "list":
        return [_decode(v, tensors, used) for v in body]
    if tag == "tuple":
        return tuple(_decode(v, tensors, used) for v in body)
    raise ValueError(f"unknown node type {tag!r}")
