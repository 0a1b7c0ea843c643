"""The optimizer base class: parameter groups, per-parameter state and checkpoints.

An optimizer holds ``param_groups``, a list of dicts, each with its ``"params"`` and the
hyperparameters that apply to them, and ``state``, which maps each parameter to what it keeps
between steps (momentum buffers, moment estimates, a step count). :meth:`Optimizer.state_dict`
writes both in PyTorch's layout, each parameter replaced by its position across the groups, so a
checkpoint loads into an optimizer built over a fresh copy of the model.

A parameter is anything with ``data`` (a floating-point ndarray, updated in place) and ``grad``
(an ndarray of the same shape, or None to skip the parameter): a ``nabla`` Parameter, or a
stand-in such as ``types.SimpleNamespace(data=..., grad=None)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import Any, Protocol, TypeAlias

import numpy as np

from nabla._typing import Array
from nabla.autograd.hooks import note_unreplayable, replayable
from nabla.errors import DTypeError, ShapeError
from nabla.optim.checks import OptimizerError, as_real, check_fraction, check_nonnegative
from nabla.optim.flat import FlatGroup, FlatState
from nabla.optim.state import ParameterState, loaded_value
from nabla.tensor_inplace import bump_versions


class ParameterLike(Protocol):
    """What an optimizer needs of a parameter: its values and their gradient (or None)."""

    data: Array
    grad: Array | None


ParamsArg: TypeAlias = "Iterable[ParameterLike] | Iterable[dict[str, Any]]"

#: besides the base class: names its subclasses (and the scikit-learn rules) import from here
__all__ = [
    "Optimizer",
    "OptimizerError",
    "ParameterLike",
    "ParameterState",
    "ParamsArg",
    "as_real",
    "check_fraction",
    "check_nonnegative",
    "effective_gradient",
]


def effective_gradient(
    data: Array, grad: Array, weight_decay: float, maximize: bool
) -> tuple[Array, bool]:
    """The gradient after ``maximize`` and coupled (L2) weight decay: ``±grad + wd·θ``.

    Returns the array and whether it is a fresh one the caller may overwrite; ``grad`` itself is
    never modified, so the caller must not write into it when the flag is False.
    """
    if weight_decay != 0:
        g = np.multiply(data, weight_decay)
        if maximize:
            g -= grad
        else:
            g += grad
        return g, True
    if maximize:
        return np.negative(grad), True
    return grad, False


class Optimizer:
    """Base class of the optimizers.

    Subclasses pass their hyperparameter ``defaults``, check a group's values in
    :meth:`_check_hyperparameters` and write their update rule once, in :meth:`_update`, which
    :meth:`_update_group` runs per parameter or on a whole group's flat buffers.

    Parameters
    ----------
    params : iterable of parameters, or iterable of dicts
        The parameters to optimize, or parameter groups: dicts with a ``"params"`` entry and any
        hyperparameters that override ``defaults`` for that group.
    defaults : dict
        Hyperparameters for groups that do not set them.

    Attributes
    ----------
    param_groups : list of dict
        One dict per group: ``"params"`` (a list) and every hyperparameter.
    state : ParameterState
        What each parameter keeps between steps, keyed by the parameter.
    defaults : dict
        The hyperparameters given at construction.
    """

    def __init__(self, params: ParamsArg, defaults: dict[str, Any]) -> None:
        self._check_hyperparameters(defaults)
        self.defaults = defaults
        self.state = ParameterState()
        self.param_groups: list[dict[str, Any]] = []
        self._flat: dict[int, FlatGroup] = {}  # id(group) → FlatGroup: a cache, never pickled
        if _is_parameter(params):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of parameters or of dicts, "
                f"got a single {type(params).__name__}; wrap it in a list"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MESSAGE.format(name=type(self).__name__))
        groups: list[Any] = list(params)
        if not groups:
            raise OptimizerError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ----- hooks for subclasses -----------------------------------------------------------------
    def _check_hyperparameters(self, group: Mapping[str, Any]) -> None:
        """Raise :class:`OptimizerError` for a value no update rule accepts."""
        check_nonnegative(self, group, "lr")

    def _hyperparameters(self, group: dict[str, Any]) -> Any:
        """The group's hyperparameters as :meth:`_update` reads them, converted once per step."""
        return group

    def _update(self, data: Any, grad: Array, state: MutableMapping[str, Any], hp: Any) -> None:
        """The update rule, written once: update ``data`` in place from ``grad``.

        ``data`` is one parameter's array and ``state`` its entry in :attr:`state`, or, in the
        flat layout, a :class:`~nabla.optim.flat.FlatParams` (write into it with ``*=`` and
        ``-=`` only) and a :class:`~nabla.optim.flat.FlatState` of flat buffers. ``grad`` must
        not be written into. ``hp`` is what :meth:`_hyperparameters` returned.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement _update")

    # ----- the layout: the one place that chooses it --------------------------------------------
    def _update_group(self, group: dict[str, Any]) -> None:
        """Run :meth:`_update` on the parameters of ``group`` that have a gradient.

        As PyTorch picks its multi-tensor (foreach) or single-tensor implementation, this picks
        the layout: the whole group at once on flat buffers when :meth:`FlatGroup.eligible`
        (small parameters, all with gradients of one dtype) and their states have the same keys
        and step counts; otherwise one parameter at a time. Both give bitwise equal results.
        """
        hp = self._hyperparameters(group)
        flat = self._flat_state(group)
        if flat is not None:
            self._update(flat.group.data, flat.group.gradient(), flat, hp)
            return
        states, update = self.state, self._update
        for param, data, grad in self._params_with_grad(group):
            state = states.get(param)
            if state is not None:
                update(data, grad, state, hp)
                continue
            # as PyTorch's defaultdict: a parameter has state once its rule stores some
            state = {}
            update(data, grad, state, hp)
            if state:
                states[param] = state

    def _flat_state(self, group: dict[str, Any]) -> FlatState | None:
        """The state of the whole group on flat buffers when this step can run so, else None."""
        params = group["params"]
        flat = self._flat.get(id(group))
        if flat is None or not flat.fits(params):
            if not FlatGroup.eligible(params):
                return None
            flat = self._flat[id(group)] = FlatGroup(params)
        return flat.state(self.state)

    # ----- public API ---------------------------------------------------------------------------
    @replayable
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update the parameters once from their gradients.

        Parameters
        ----------
        closure : callable, optional
            Called first (it usually recomputes the loss and its gradients); its result is
            returned.
        """
        loss = None if closure is None else closure()
        for group in self.param_groups:
            self._update_group(group)
            # updated in place: a graph that saved the old values refuses to backward
            bump_versions([p for p in group["params"] if p.grad is not None])
        return loss

    @replayable
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: set it to None, or fill it with zeros in place."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    param.grad.fill(0)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters, filling the hyperparameters it omits from ``defaults``.

        Raises
        ------
        OptimizerError
            If a parameter is already in a group or a hyperparameter is out of range.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict, got {type(param_group)}")
        params = param_group["params"]
        if _is_parameter(params):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MESSAGE.format(name=name))
        params = list(params)
        for position, param in enumerate(params):
            _check_parameter(name, position, param)
        group = ParamGroup({"params": params})
        group.update((key, value) for key, value in param_group.items() if key != "params")
        for key, value in self.defaults.items():
            group.setdefault(key, value)

        seen = {id(p) for existing in self.param_groups for p in existing["params"]}
        new_ids = [id(p) for p in params]
        if len(set(new_ids)) != len(new_ids):
            raise OptimizerError(f"{name}: a parameter group lists the same parameter twice")
        if seen.intersection(new_ids):
            raise OptimizerError(f"{name}: some parameters appear in more than one group")
        self._check_hyperparameters(group)
        self.param_groups.append(group)

    def state_dict(self) -> dict[str, Any]:
        """A snapshot of the optimizer, in PyTorch's layout.

        Returns
        -------
        dict
            ``{"state": {index: {name: array or int}}, "param_groups": [{hyperparameters...,
            "params": [indices]}]}``, parameters numbered in order across the groups. Arrays are
            copies: later steps do not change the snapshot.
        """
        index_of: dict[int, int] = {}
        packed_groups = []
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            packed["params"] = [index_of.setdefault(id(p), len(index_of)) for p in group["params"]]
            packed_groups.append(packed)
        packed_state = {}
        for group in self.param_groups:
            for param in group["params"]:
                state = self.state.get(param)
                if state:
                    packed_state[index_of[id(param)]] = {
                        key: value.copy() if isinstance(value, np.ndarray) else value
                        for key, value in state.items()
                    }
        return {"state": packed_state, "param_groups": packed_groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` snapshot into this optimizer's parameters.

        Groups are matched by position and must hold as many parameters as when saved. Arrays are
        copied and cast to their parameter's dtype; hyperparameters come from the snapshot, with
        any it lacks taken from ``defaults``.

        Raises
        ------
        OptimizerError
            If the groups do not match or the state names a parameter index that does not exist.
        ShapeError
            If a saved array does not have its parameter's shape.
        """
        name = type(self).__name__
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise OptimizerError(
                f"{name}.load_state_dict: the state dict has {len(saved_groups)} parameter "
                f"groups but the optimizer has {len(self.param_groups)}"
            )
        param_at: dict[int, Any] = {}
        new_groups = []
        for position, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise OptimizerError(
                    f"{name}.load_state_dict: parameter group {position} has "
                    f"{len(saved['params'])} parameters in the state dict but "
                    f"{len(group['params'])} in the optimizer"
                )
            param_at.update(zip((int(i) for i in saved["params"]), group["params"]))
            new_group = ParamGroup({"params": group["params"]})
            new_group.update((key, value) for key, value in saved.items() if key != "params")
            for key, value in self.defaults.items():
                new_group.setdefault(key, value)
            self._check_hyperparameters(new_group)
            new_groups.append(new_group)

        new_state = ParameterState()
        for index, saved_state in state_dict["state"].items():
            param = param_at.get(int(index))
            if param is None:
                raise OptimizerError(
                    f"{name}.load_state_dict: the state dict has state for parameter {index}, "
                    f"but the optimizer has {len(param_at)} parameters"
                )
            new_state[param] = {
                key: loaded_value(name, int(index), key, value, param.data)
                for key, value in saved_state.items()
            }
        self.state = new_state
        self.param_groups[:] = new_groups
        self._flat.clear()

    def __getstate__(self) -> dict[str, Any]:
        # the flat-layout cache is keyed by the groups' ids, which a copy does not keep
        return {**vars(self), "_flat": {}}

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for position, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {position}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        lines.append(")")
        return "\n".join(lines)

    def _params_with_grad(self, group: dict[str, Any]) -> Iterator[tuple[Any, Array, Array]]:
        """Yield ``(param, data, grad)`` for the parameters of ``group`` that have a gradient."""
        for param in group["params"]:
            grad = param.grad
            if grad is None:
                continue
            data = param.data
            if grad.shape != data.shape:
                raise ShapeError(
                    f"{type(self).__name__}.step: a parameter of shape {data.shape} has a "
                    f"gradient of shape {grad.shape}"
                )
            yield param, data, grad


_SET_MESSAGE = (
    "{name}: parameters must be given in an ordered collection (a list), not a set: the order "
    "of a set changes between runs and state_dict numbers parameters by position"
)


class ParamGroup(dict[str, Any]):
    """One parameter group (a dict, as PyTorch's): its parameters and hyperparameters.

    Setting a hyperparameter inside a step being compiled (``group["lr"] *= 0.5``) keeps the
    step eager: a replay would not repeat the change. Schedulers set them inside their own
    replayed ``step``."""

    def __setitem__(self, key: Any, value: Any) -> None:
        note_unreplayable(f"an optimizer's {key!r} is changed inside the step")
        super().__setitem__(key, value)


def _is_parameter(value: Any) -> bool:
    return hasattr(value, "data") and hasattr(value, "grad")


def _check_parameter(name: str, position: int, param: Any) -> None:
    if not _is_parameter(param):
        raise TypeError(
            f"{name}: parameter {position} is a {type(param).__name__}; an optimizer needs "
            "objects with .data and .grad"
        )
    data = param.data
    if not isinstance(data, np.ndarray) or data.dtype.kind != "f":
        dtype = getattr(data, "dtype", type(data).__name__)
        raise DTypeError(
            f"{name}: parameter {position} has dtype {dtype}; only floating-point arrays can be "
            "optimized"
        )
