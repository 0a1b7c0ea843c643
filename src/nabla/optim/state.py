"""What an optimizer keeps per parameter, and how a checkpoint's saved values are restored."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

import numpy as np

from nabla._typing import Array
from nabla.errors import ShapeError

__all__ = ["ParameterState", "loaded_value"]


class ParameterState(MutableMapping[Any, dict[str, Any]]):
    """Optimizer state per parameter, matched by identity.

    Parameters are compared with ``is``, never ``==``, since array-like parameters compare
    elementwise. As with PyTorch's ``defaultdict(dict)``, ``state[param]`` for a parameter without
    state inserts and returns an empty dict; ``param in state`` and ``state.get`` insert nothing.
    """

    def __init__(self) -> None:
        self._params: dict[int, Any] = {}  # id → the parameter (kept alive, so its id stays)
        self._states: dict[int, dict[str, Any]] = {}  # id → its state

    def __getitem__(self, param: Any) -> dict[str, Any]:
        state = self._states.get(id(param))
        if state is None:
            state = self[param] = {}
        return state

    def __setitem__(self, param: Any, value: dict[str, Any]) -> None:
        self._params[id(param)] = param
        self._states[id(param)] = value

    def __delitem__(self, param: Any) -> None:
        del self._states[id(param)]
        del self._params[id(param)]

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._params.values()))

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, param: object) -> bool:
        return id(param) in self._states

    def get(self, param: Any, default: Any = None) -> Any:
        return self._states.get(id(param), default)

    def lookup(self, params: list[Any]) -> list[dict[str, Any] | None]:
        """Each parameter's state, None where it has none (one call for a whole group)."""
        return list(map(self._states.get, map(id, params)))

    def __repr__(self) -> str:
        return f"ParameterState({len(self)} parameters)"

    def __getstate__(self) -> dict[str, Any]:
        return {"_entries": {key: (self._params[key], s) for key, s in self._states.items()}}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # pickle and deepcopy give the parameters new ids: key the entries by the new ones
        entries = state["_entries"].values()
        self._params = {id(param): param for param, _ in entries}
        self._states = {id(param): s for param, s in entries}


def loaded_value(name: str, index: int, key: str, value: Any, data: Array) -> Any:
    """A saved state value as the parameter needs it: a step count as int, an array copied in
    the parameter's dtype (floats) after checking its shape."""
    if key == "step":
        return int(value)
    if not isinstance(value, np.ndarray):
        return value
    if value.shape != data.shape:
        raise ShapeError(
            f"{name}.load_state_dict: state {key!r} of parameter {index} has shape {value.shape} "
            f"but the parameter has shape {data.shape}"
        )
    dtype = data.dtype if value.dtype.kind == "f" else value.dtype
    return np.array(value, dtype=dtype, copy=True)
