"""The activations a user can name: one entry each, read by every place that takes a name.

``MLP(activation=...)``, ``nn.init.calculate_gain``, the CLI's ``--activation`` choices, the
scikit-learn estimators' ``activation``, the ONNX exporter, the NumPy-only predictor and the
model-file check all read :data:`ACTIVATIONS` (scikit-learn's ``ACTIVATIONS`` dict is the
pattern), so adding an activation is one :func:`register_activation` call plus its op.

The built-in entries (identity, tanh, sigmoid, relu, leaky_relu) are registered in
``nabla.nn.activation``, beside their modules: this module imports no layer, so ``nn.init``
(which ``nn.layers`` imports) can read the gains from it without an import cycle.

Examples
--------
>>> import nabla as nb
>>> from nabla.nn.registry import get_activation
>>> relu = get_activation("relu")
>>> relu.module.__name__, relu.onnx.op_type, round(relu.calculate_gain(), 4)
('ReLU', 'Relu', 1.4142)
>>> print(relu.numpy_source("f"))
def f(x):
    return np.maximum(x, 0)
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from nabla.errors import NablaError
from nabla.nn.module import Module
from nabla.tensor import Tensor

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "ActivationError",
    "OnnxOp",
    "activation_of",
    "get_activation",
    "register_activation",
    "unregister_activation",
]

#: step names that ``nabla.deploy`` gives layers other than activations; an activation named
#: like one would be exported as that step
RESERVED_NAMES = frozenset(
    {"standardize", "linear", "batchnorm", "softmax", "log_softmax", "flatten", "exp", "binary"}
    | {"conv", "max_pool", "avg_pool", "adaptive_avg_pool", "target"}
)


class ActivationError(NablaError, ValueError):
    """An unknown activation name, or a registration that would break the table."""


@dataclass(frozen=True)
class OnnxOp:
    """The ONNX node of an activation: one input, ``op_type``, attributes read from its params.

    ``attributes`` maps each ONNX attribute to the parameter that gives its value
    (``LeakyRelu``'s ``alpha`` is ``negative_slope``). An activation that is no single node of
    the exporter's opset (GELU before opset 20) gives ``compose(graph, x, hint, settings)``,
    which adds its nodes with ``graph.node(op, inputs, hint, **attrs)`` and
    ``graph.const(hint, array)`` (``graph.dtype`` is the model's float type) and returns the
    output's name; ``op_type`` then names its last node.
    """

    op_type: str
    attributes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    compose: Callable[[Any, str, str, Mapping[str, float]], str] | None = None

    def emit(self, graph: Any, x: str, hint: str, settings: Mapping[str, float]) -> str:
        """Add this activation's node(s) to ``graph`` after tensor ``x``; the output's name."""
        if self.compose is not None:
            return self.compose(graph, x, hint, settings)
        attrs = {key: float(settings[param]) for key, param in self.attributes.items()}
        out: str = graph.node(self.op_type, [x], hint, **attrs)
        return out


@dataclass(frozen=True)
class Activation:
    """One activation, with everything the consumers of its name need.

    Attributes
    ----------
    name : str
        What users type; a Python identifier (the predictor names a function after it).
    module : type of Module
        The stateless layer ``MLP`` inserts, built as ``module(**params)``.
    function : callable
        The functional form ``function(x, **params) -> Tensor``.
    gain : float or callable
        ``nn.init.calculate_gain``'s value (PyTorch's where PyTorch has the name); a callable
        takes PyTorch's ``param`` (None for the default).
    onnx : OnnxOp
        The ONNX lowering.
    numpy : str
        The body of the exported predictor's function ``f(x, **params)`` of a NumPy array,
        returning the activation (``np`` is NumPy).
    params : mapping
        The module's hyperparameters (attribute names) and their defaults.
    init : str
        The ``Linear`` weight scheme ``MLP(init="auto")`` uses before this activation.
    sklearn_name : str or None
        scikit-learn MLP's name for it ("logistic" for sigmoid); None where scikit-learn's MLP
        lacks it (the estimators' ``parity=True`` refuses those).
    accepts : callable or None
        For a module with settings beyond ``params`` (``GELU(approximate="tanh")``): whether
        this entry describes a given instance; :func:`activation_of` skips it otherwise.
    """

    name: str
    module: type[Module]
    function: Callable[..., Tensor]
    gain: float | Callable[[float | None], float]
    onnx: OnnxOp
    numpy: str
    params: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    init: str = "xavier_uniform"
    sklearn_name: str | None = None
    accepts: Callable[[Module], bool] | None = None

    def build(self, **settings: Any) -> Module:
        """A new module; ``settings`` may hold any keywords, this entry takes its params."""
        return self.module(**{k: settings.get(k, v) for k, v in self.params.items()})

    def settings_of(self, module: Module) -> dict[str, float]:
        """The params of a built module, as plain floats (for the exporters)."""
        return {k: float(getattr(module, k)) for k in self.params}

    def calculate_gain(self, param: float | None = None) -> float:
        return self.gain(param) if callable(self.gain) else float(self.gain)

    def numpy_source(self, function_name: str) -> str:
        """The predictor's NumPy function: ``def function_name(x, *params): ...``."""
        args = ", ".join(["x", *self.params])
        body = textwrap.indent(textwrap.dedent(self.numpy).strip(), "    ")
        return f"def {function_name}({args}):\n{body}\n"

    def numpy_function(self) -> Callable[..., np.ndarray[Any, Any]]:
        """The predictor's NumPy function, compiled here (for tests and NumPy-side readers)."""
        namespace: dict[str, Any] = {"np": np}
        # the registered source, run as the exported predictor runs it
        exec(self.numpy_source("f"), namespace)  # noqa: S102
        function: Callable[..., np.ndarray[Any, Any]] = namespace["f"]
        return function


#: name → activation, in registration order
ACTIVATIONS: dict[str, Activation] = {}


def register_activation(activation: Activation) -> Activation:
    """Add ``activation`` to :data:`ACTIVATIONS`; refuse a taken or unusable name."""
    name = activation.name
    if not (isinstance(name, str) and name.isidentifier()):
        raise ActivationError(f"register_activation: name must be an identifier, got {name!r}")
    if name in ACTIVATIONS:
        taken = ACTIVATIONS[name].module.__name__
        raise ActivationError(
            f"register_activation: {name!r} is already registered (module {taken})"
        )
    if name in RESERVED_NAMES:
        raise ActivationError(
            f"register_activation: {name!r} names an exporter step; reserved names: "
            f"{', '.join(sorted(RESERVED_NAMES))}"
        )
    if not (isinstance(activation.module, type) and issubclass(activation.module, Module)):
        raise ActivationError(
            f"register_activation: {name!r}: module must be a Module class, "
            f"got {activation.module!r}"
        )
    ACTIVATIONS[name] = activation
    return activation


def unregister_activation(name: str) -> Activation:
    """Remove and return the activation registered as ``name``."""
    entry = get_activation(name)
    del ACTIVATIONS[name]
    return entry


def get_activation(name: str) -> Activation:
    """The activation registered as ``name``; ActivationError (one line) listing the known ones."""
    entry = ACTIVATIONS.get(name) if isinstance(name, str) else None
    if entry is None:
        raise ActivationError(
            f"unknown activation {name!r}; known activations: {', '.join(sorted(ACTIVATIONS))}"
        )
    return entry


def activation_of(module: Module) -> Activation | None:
    """The entry whose module class is exactly ``type(module)``, else None."""
    for entry in ACTIVATIONS.values():
        if type(module) is entry.module and (entry.accepts is None or entry.accepts(module)):
            return entry
    return None
