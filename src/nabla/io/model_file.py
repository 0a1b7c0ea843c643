"""Model and state-dict files: safetensors tensors plus JSON metadata, never pickle.

A nabla file is a plain safetensors file. Its tensors are the weights; its header's string
metadata holds ``format`` ("nabla-model", "nabla-state-dict" or "nabla-checkpoint"),
``format_version``, ``nabla_version``, JSON documents (the architecture, user metadata, a
checkpoint's structure) and ``sha256``, a checksum of everything else. Loading a file therefore
never runs code: the architecture is rebuilt with :func:`nabla.nn.from_spec` from registered
module classes. safetensors detects a truncated or malformed file; the checksum catches flipped
bits that leave the layout intact.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.errors import DTypeError, ModelFileError, NablaError, StateDictError
from nabla.io.architecture import check_architecture
from nabla.io.atomic import atomic_write_bytes
from nabla.nn.container import from_spec
from nabla.nn.module import Module
from nabla.tensor import Tensor

__all__ = ["load", "load_metadata", "load_state_dict", "save", "save_state_dict"]

PathLike = str | os.PathLike[str]

FORMAT_VERSION = 1
MODEL = "nabla-model"
STATE_DICT = "nabla-state-dict"
CHECKPOINT = "nabla-checkpoint"
#: what each format is called in messages, and the function that reads it
_FORMATS = {
    MODEL: ("nabla model file", "nabla.load"),
    STATE_DICT: ("nabla state-dict file", "nabla.io.load_state_dict"),
    CHECKPOINT: ("nabla checkpoint", "nabla.io.load_checkpoint"),
}
#: the dtypes that both NumPy and safetensors represent exactly
SUPPORTED_DTYPES = tuple(
    np.dtype(t)
    for t in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
    + ("float16", "float32", "float64")
)


def _safetensors_numpy() -> Any:
    """Import ``safetensors.numpy`` on first use: it is the optional ``io`` extra."""
    try:
        import safetensors.numpy
    except ImportError:
        raise NablaError(
            "saving and loading nabla files needs the optional 'safetensors' package; "
            "install it with: pip install 'nabla[io]'  (or: pip install safetensors)"
        ) from None
    return safetensors.numpy


# ----- the container: tensors + metadata + checksum -------------------------------------------
def as_storable(name: str, value: Any) -> Array:
    """``value`` as a C-contiguous little-endian array of a supported dtype (no copy if it is)."""
    array = np.asarray(value.data if isinstance(value, Tensor) else value)
    if array.dtype.newbyteorder("=") not in SUPPORTED_DTYPES:  # any byte order is fine
        names = ", ".join(d.name for d in SUPPORTED_DTYPES)
        raise DTypeError(f"cannot save {name!r}: dtype {array.dtype} is not one of {names}")
    # safetensors reads the raw buffer, so a strided view would be written wrongly
    return np.asarray(array, dtype=array.dtype.newbyteorder("<"), order="C")


def checksum(tensors: Mapping[str, Array], metadata: Mapping[str, str]) -> str:
    """SHA-256 of the metadata (without ``sha256``) and every tensor in sorted key order.

    Each tensor contributes its name, dtype and shape (as JSON) then its bytes, so renaming,
    reshaping or retyping a tensor changes the digest as well as flipping one of its bits.
    """
    digest = hashlib.sha256()
    meta = {k: v for k, v in metadata.items() if k != "sha256"}
    digest.update(json.dumps(meta, sort_keys=True).encode())
    for key in sorted(tensors):
        array = np.asarray(tensors[key], order="C")
        digest.update(json.dumps([key, array.dtype.name, list(array.shape)]).encode())
        digest.update(array.reshape(-1).view(np.uint8).tobytes())
    return digest.hexdigest()


def write_container(
    path: PathLike, tensors: Mapping[str, Any], metadata: Mapping[str, str], fmt: str
) -> None:
    """Serialize ``tensors`` with ``metadata`` (plus format, versions, checksum); write atomically."""
    import nabla

    st = _safetensors_numpy()
    arrays = {str(k): as_storable(str(k), v) for k, v in tensors.items()}
    header = {
        "format": fmt,
        "format_version": str(FORMAT_VERSION),
        "nabla_version": nabla.__version__,
        **metadata,
    }
    header["sha256"] = checksum(arrays, header)
    atomic_write_bytes(path, st.save(arrays, metadata=header))


def read_container(
    path: PathLike, formats: tuple[str, ...], allow_plain: bool = False
) -> tuple[dict[str, Array], dict[str, str]]:
    """Read and validate a file written by :func:`write_container` in one of ``formats``.

    With ``allow_plain``, a safetensors file without nabla metadata (saved by another library)
    is accepted as it is and its metadata returned as ``{}``.
    """
    file = Path(path)
    what = _FORMATS[formats[0]][0]
    if not file.is_file():
        reason = "no such file" if not file.exists() else "not a file"
        raise ModelFileError(f"cannot read {what} {file}: {reason}")
    data = file.read_bytes()
    bad = f"{file} is not a valid {what} (truncated or corrupted)"
    if len(data) < 8:
        raise ModelFileError(f"{bad}: it has {len(data)} bytes, fewer than the 8-byte header size")
    st = _safetensors_numpy()
    try:
        tensors = st.load(data)
        header_size = int.from_bytes(data[:8], "little")
        metadata = json.loads(data[8 : 8 + header_size]).get("__metadata__") or {}
    except Exception as exc:  # the parser's own errors (SafetensorError, KeyError for dtypes...)
        raise ModelFileError(f"{bad}: {exc}") from exc
    # another library's file may carry metadata too (Hugging Face writes {"format": "pt"})
    ours = metadata.get("format") in _FORMATS or "format_version" in metadata
    if allow_plain and not ours and "sha256" not in metadata:
        return {k: _writable(v) for k, v in tensors.items()}, {}
    # checksum first: a flipped bit in "format" is corruption, not a foreign file
    if "sha256" in metadata and checksum(tensors, metadata) != metadata["sha256"]:
        raise ModelFileError(f"{bad}: checksum mismatch (the stored SHA-256 does not match)")
    if metadata.get("format") not in formats:
        raise ModelFileError(_wrong_format(file, metadata.get("format"), what))
    if "sha256" not in metadata:
        raise ModelFileError(f"{bad}: its metadata has no sha256 checksum")
    version = metadata.get("format_version", "")
    if not version.isdigit():
        raise ModelFileError(f"{bad}: invalid format_version {version!r}")
    if int(version) > FORMAT_VERSION:
        raise ModelFileError(
            f"{file} was written by nabla {metadata.get('nabla_version', '?')} in format "
            f"version {version}; this nabla reads version {FORMAT_VERSION} at most: upgrade nabla"
        )
    return {k: _writable(v) for k, v in tensors.items()}, metadata


def _wrong_format(file: Path, fmt: Any, what: str) -> str:
    if fmt is None:
        return (
            f"{file} is a safetensors file without nabla metadata, not a {what} "
            "(read plain weights with nabla.io.load_state_dict)"
        )
    if fmt in _FORMATS:
        name, reader = _FORMATS[fmt]
        return f"{file} is a {name}, not a {what}; read it with {reader}"
    return f"{file} has the unknown format {fmt!r}, not a {what}"


def _writable(array: Array) -> Array:
    return array if array.flags.writeable else array.copy()


def json_field(file: PathLike, metadata: Mapping[str, str], key: str) -> Any:
    """Decode the JSON document stored under ``key``; a missing or broken one is an error."""
    try:
        return json.loads(metadata[key])
    except (KeyError, ValueError) as exc:
        raise ModelFileError(f"{file}: invalid or missing {key!r} metadata: {exc}") from None
    except RecursionError:  # JSON nested deeper than the interpreter's stack allows
        raise ModelFileError(f"{file}: the {key!r} metadata is nested too deeply") from None


def _dump_user(metadata: Mapping[str, Any] | None, caller: str) -> str:
    if metadata is not None and not isinstance(metadata, Mapping):
        raise TypeError(f"{caller}: metadata must be a dict, got {type(metadata).__name__}")
    try:
        return json.dumps(dict(metadata or {}))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{caller}: metadata must hold JSON values only: {exc}") from None


# ----- whole models ------------------------------------------------------------------------------
def save(model: Module, path: PathLike, metadata: Mapping[str, Any] | None = None) -> None:
    """Save a model's architecture and weights to a safetensors file (no pickle).

    Parameters
    ----------
    model : Module
        A module whose :meth:`~nabla.nn.Module.spec` works: built-in layers and models, and
        ``Sequential`` stacks of them (a custom module needs ``get_config``).
    path : str or path-like
        The file to write (conventionally ``*.safetensors``); replaced atomically.
    metadata : dict, optional
        JSON data stored beside the weights (feature names, class names, scaler state...),
        returned by :func:`load_metadata`.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import nabla as nb
    >>> from nabla.io import load, save
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "mlp.safetensors"
    >>> model = nb.nn.MLP([4, 8, 3])
    >>> save(model, path, metadata={"classes": ["a", "b", "c"]})
    >>> x = nb.randn(2, 4)
    >>> bool((load(path)(x).data == model.eval()(x).data).all())
    True
    """
    if not isinstance(model, Module):
        raise TypeError(f"save: expected a nabla Module, got {type(model).__name__}")
    spec = model.spec()  # a module without get_config raises here, before anything is written
    try:
        architecture = json.dumps(spec)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(
            f"cannot save {type(model).__name__}: its architecture is not JSON data: {exc}"
        ) from None
    user = _dump_user(metadata, "save")
    write_container(path, model.state_dict(), {"architecture": architecture, "user": user}, MODEL)


def load(path: PathLike) -> Module:
    """Load a model saved by :func:`save`, in eval mode.

    The architecture is checked against the stored tensors' shapes before anything is built
    (see :mod:`nabla.io.architecture`), so a small file cannot ask for huge or deeply nested
    modules.

    Raises
    ------
    ModelFileError
        If the file is missing, truncated, corrupted (checksum mismatch), not a nabla model,
        its architecture is nested too deeply or has too many modules, or its weights do not
        fit its architecture (the message names the key and shapes).
    """
    tensors, metadata = read_container(path, (MODEL,))
    spec = json_field(path, metadata, "architecture")
    check_architecture(path, spec, {key: value.shape for key, value in tensors.items()})
    model = from_spec_in(path, spec)
    _match_dtypes(path, model, tensors)
    try:
        model.load_state_dict(tensors, strict=True)
    except StateDictError as exc:
        raise ModelFileError(f"{path}: the weights do not match the architecture: {exc}") from None
    model.eval()
    return model


def from_spec_in(path: PathLike, spec: Any) -> Module:
    """:func:`nabla.nn.from_spec`, with the file named in its errors."""
    try:
        return from_spec(spec)
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {_middle(str(exc))}") from None


def _middle(text: str, keep: int = 200) -> str:
    """`text` with its middle cut out when long: a config quoted in full can run to megabytes."""
    if len(text) <= 2 * keep + 40:
        return text
    return f"{text[:keep]} ...({len(text) - 2 * keep} characters)... {text[-keep:]}"


def _match_dtypes(path: PathLike, model: Module, tensors: Mapping[str, Array]) -> None:
    """Give the model the file's float dtype, then require every shared key's dtype to match.

    Configs may not record a dtype (or record the construction one before ``model.double()``),
    so a file whose floating tensors all share one dtype converts the rebuilt model to it.
    """
    floats = {a.dtype for a in tensors.values() if a.dtype.kind == "f"}
    state = model.state_dict()
    if len(floats) == 1 and any(
        a.dtype.kind == "f" and a.dtype not in floats for a in state.values()
    ):
        model.to(floats.pop())
        state = model.state_dict()
    for key, current in state.items():
        if key in tensors and tensors[key].dtype != current.dtype:
            raise ModelFileError(
                f"{path}: dtype mismatch for {key}: the file has {tensors[key].dtype}, "
                f"the model has {current.dtype}"
            )


def load_metadata(path: PathLike) -> dict[str, Any]:
    """The metadata of a model (or state-dict) file, without building the model.

    Returns
    -------
    dict
        ``{"user": the metadata passed to save, "architecture": the spec (None for a
        state-dict file), "format": ..., "format_version": ..., "nabla_version": ...}``.
    """
    _, metadata = read_container(path, (MODEL, STATE_DICT))
    architecture = metadata["format"] == MODEL
    return {
        "user": json_field(path, metadata, "user"),
        "architecture": json_field(path, metadata, "architecture") if architecture else None,
        "format": metadata["format"],
        "format_version": metadata["format_version"],
        "nabla_version": metadata.get("nabla_version"),
    }


# ----- raw state dicts ---------------------------------------------------------------------------
def save_state_dict(
    state_dict: Mapping[str, Any], path: PathLike, metadata: Mapping[str, Any] | None = None
) -> None:
    """Save name → array weights (``module.state_dict()``, PyTorch-style names) to safetensors.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import nabla as nb
    >>> from nabla.io import load_state_dict, save_state_dict
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "weights.safetensors"
    >>> save_state_dict(nb.nn.Linear(2, 3).state_dict(), path)
    >>> {k: v.shape for k, v in load_state_dict(path).items()}
    {'weight': (3, 2), 'bias': (3,)}
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"save_state_dict: expected a dict, got {type(state_dict).__name__}")
    bad_keys = [k for k in state_dict if not isinstance(k, str)]
    if bad_keys:
        raise TypeError(f"save_state_dict: keys must be strings, got {bad_keys[0]!r}")
    user = _dump_user(metadata, "save_state_dict")
    order = json.dumps(list(state_dict))
    write_container(path, state_dict, {"keys": order, "user": user}, STATE_DICT)


def load_state_dict(path: PathLike) -> dict[str, Array]:
    """Load the weights of a state-dict or model file, in their saved order.

    A plain safetensors file from another library (no nabla metadata, so no checksum) is
    read as well, in sorted key order.
    """
    tensors, metadata = read_container(path, (STATE_DICT, MODEL), allow_plain=True)
    order = json_field(path, metadata, "keys") if "keys" in metadata else sorted(tensors)
    if sorted(order) != sorted(tensors):
        raise ModelFileError(f"{path}: the stored key order does not list the file's tensors")
    return {key: tensors[key] for key in order}
