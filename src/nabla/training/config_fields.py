"""The machinery of a settings dataclass: a field with its help, flags, choices and resume rule.

:func:`setting` declares a field of :class:`~nabla.training.config.TrainConfig` (or of a
subclass that adds settings); the rest reads those fields back: their command-line flags,
value types and choices, the check a constructed config runs on each value, and whether a
field belongs to the resume fingerprint.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
import types
import typing
from collections.abc import Callable
from typing import Any

from nabla.errors import NablaError

__all__ = [
    "ConfigError",
    "Fingerprint",
    "check_field",
    "choices_of",
    "field_type",
    "fingerprint_changes",
    "flags_of",
    "in_fingerprint",
    "optional",
    "require",
    "setting",
]


class ConfigError(NablaError, ValueError):
    """A training setting with a bad value; the message names the setting.

    A value out of range names its command-line flag (``--epochs must be positive``), as both
    the CLI and Python reach that check; a wrong type or choice names the field
    (``TrainConfig.epochs``), as only Python can pass one.
    """


class Fingerprint(dict[str, Any]):
    """The settings a resumed run must share, by name, with each one's default in
    ``defaults``: a checkpoint written before a setting existed ran with its default."""

    def __init__(self, values: dict[str, Any], defaults: dict[str, Any]) -> None:
        super().__init__(values)
        self.defaults = defaults


def fingerprint_changes(saved: dict[str, Any], current: dict[str, Any]) -> str | None:
    """The settings of ``current`` that differ from a checkpoint's ``saved`` fingerprint, as
    ``"name: old → new"`` (None when none do). A setting the checkpoint lacks is newer than
    it, and ran with its default (``current.defaults``, a :class:`Fingerprint`'s)."""
    defaults = getattr(current, "defaults", {})
    changed = {
        key: (saved.get(key, defaults.get(key)), value)
        for key, value in current.items()
        if saved.get(key, defaults.get(key)) != value
    }
    if not changed:
        return None
    return ", ".join(f"{k}: {_shown(a)} → {_shown(b)}" for k, (a, b) in changed.items())


def _shown(value: Any) -> str:
    """A setting's value in a message (None is the optimizer's or the run's default)."""
    return "the default" if value is None else repr(value)


def setting(
    default: Any,
    help: str,
    *,
    group: str | None = None,
    flags: tuple[str, ...] | None = None,
    choices: tuple[Any, ...] | Callable[[], tuple[Any, ...]] | None = None,
    resume: str | Callable[[Any], bool] = "fingerprint",
) -> Any:
    """A :class:`TrainConfig` field: its default and what the CLI and resume check need.

    Parameters
    ----------
    default : value
        The field's default (immutable: the config is frozen and hashable).
    help : str
        The ``--help`` text.
    group : str, optional
        The ``--help`` section ("data", "model", "optimisation", "output").
    flags : tuple of str, optional
        Command-line spellings; default ``--name-with-dashes`` (``--no-name`` for a boolean
        that defaults to True).
    choices : tuple or callable, optional
        The only values allowed, or a function returning them when asked (for a registry that
        grows at run time, such as the activations).
    resume : "fingerprint", "free" or callable
        "fingerprint": a resumed run must keep the value (the checkpoint records it); "free":
        it may change (output paths, verbosity); a callable ``f(config) -> bool`` says whether
        it belongs to this config's fingerprint.
    """
    if resume not in ("fingerprint", "free") and not callable(resume):
        raise ValueError(f"setting: resume must be 'fingerprint', 'free' or callable: {resume!r}")
    metadata = {"help": help, "group": group, "flags": flags, "choices": choices}
    return dataclasses.field(default=default, metadata={**metadata, "resume": resume})


def choices_of(field: dataclasses.Field[Any]) -> tuple[Any, ...] | None:
    """The values ``field`` allows now (its metadata's tuple, or what its function returns)."""
    choices = field.metadata.get("choices")
    return tuple(choices()) if callable(choices) else choices


def flags_of(field: dataclasses.Field[Any], cls: type) -> tuple[str, ...]:
    """The command-line spellings of ``field``: its metadata's, else derived from its name."""
    given: tuple[str, ...] | None = field.metadata.get("flags")
    if given:
        return given
    dashed = field.name.replace("_", "-")
    if field_type(cls, field.name) is bool and field.default is True:
        return (f"--no-{dashed}",)
    return (f"--{dashed}",)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def field_type(cls: type, name: str) -> type:
    """The value type of field ``name`` (``float`` for ``float | None``)."""
    hint = _hints(cls)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if _is_union(hint) and len(args) == 1:
        hint = args[0]
    if hint not in (bool, int, float, str):
        raise TypeError(f"{cls.__name__}.{name}: settings are bool, int, float or str: {hint}")
    return typing.cast(type, hint)


def optional(cls: type, name: str) -> bool:
    """Whether field ``name`` may be None."""
    hint = _hints(cls)[name]
    return _is_union(hint) and type(None) in typing.get_args(hint)


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


#: what each field type accepts (then converts): NumPy integers for int, any real for float
_ACCEPTS: dict[type, type | tuple[type, ...]] = {
    bool: bool,
    int: numbers.Integral,
    float: numbers.Real,
    str: str,
}


def check_field(config: Any, field: dataclasses.Field[Any]) -> None:
    """Refuse a value of the wrong type or outside the field's choices, naming the field.

    The command line cannot produce either (argparse converts and checks choices), so these
    errors name the field as Python spells it: ``TrainConfig.epochs``.
    """
    cls, value = type(config), getattr(config, field.name)
    if value is None and optional(cls, field.name):
        return
    kind, name = field_type(cls, field.name), f"{cls.__name__}.{field.name}"
    if not isinstance(value, _ACCEPTS[kind]) or (kind is not bool and isinstance(value, bool)):
        raise ConfigError(f"{name} must be {kind.__name__}, got {value!r}")
    if type(value) is not kind:
        object.__setattr__(config, field.name, kind(value))  # np.int64(5) → 5, 1 → 1.0
    choices = choices_of(field)
    if choices is not None and value not in choices:
        raise ConfigError(
            f"{name}: invalid choice {value!r} (choose from {', '.join(map(str, choices))})"
        )


def in_fingerprint(field: dataclasses.Field[Any], config: Any) -> bool:
    rule = field.metadata.get("resume", "fingerprint")
    if callable(rule):
        return bool(rule(config))
    return bool(rule == "fingerprint")


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)
