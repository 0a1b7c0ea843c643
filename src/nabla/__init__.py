"""nabla: backpropagation made real — reverse-mode autodiff over NumPy and neural networks.

>>> import nabla as nb
>>> w = nb.tensor([[1.0, 2.0]], requires_grad=True)
>>> loss = (w @ nb.tensor([[3.0], [4.0]])).sum()
>>> loss.backward()
>>> w.grad
array([[3., 4.]], dtype=float32)

Layers. Imports run one way, each layer importing only those before it:

1. ``_typing``, ``errors``, ``generator`` (the global random generator), ``tensor_base``
   (the slots every tensor has, for ``isinstance`` and typing anywhere), ``device`` (the CPU,
   and the refusal of any other device);
2. ``autograd``: ``mode`` (grad mode), ``hooks`` (what a step recorder sees), ``function``
   (the ``Function`` base class), ``engine`` (backward);
3. ``ops``: the primitives, one ``Function`` per op, on ndarrays;
4. ``tensor``: ``Tensor`` and the mixins it inherits (``tensor_math``, ``tensor_reduce``,
   ``tensor_shape``, ``tensor_inplace``, ``tensor_select``), whose methods call the ops;
5. ``creation`` (factories), ``functional`` (the ops as functions; its shape functions in
   ``functional_shape``, gather/sort/cumsum/norm… in ``functional_select``),
   ``tensor_namespace`` (the functions a recorded backward rule uses);
6. ``gradcheck``, ``profiler``, ``nn``, ``optim``, ``data``, ``io``, ``viz``, ``training``,
   ``compiler``, ``deploy``/``onnx``, ``cli``.

Where a lower layer needs something above it, a documented hook hands it down instead of an
import: ``Function.apply`` makes its results with the class that ``nabla.tensor`` registers
(:func:`nabla.autograd.function.register_tensor_class`), and a step recorder such as
``nb.compile`` sees the core through :mod:`nabla.autograd.hooks`. The few imports written
inside a function to reach upwards are listed, each with its reason, in
``tests/test_imports.py``, which also checks the layers above.
"""

import numpy as _np

from nabla import _heap, cuda, data, nn, optim, viz
from nabla.autograd import (
    detect_anomaly,
    enable_grad,
    grad,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from nabla.autograd.function import Function
from nabla.autograd.mode import inference_mode, is_inference_mode_enabled
from nabla.compiler import compile
from nabla.creation import (
    arange,
    as_tensor,
    default_generator,
    eye,
    from_numpy,
    full,
    full_like,
    get_rng_state,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    set_rng_state,
    tensor,
    zeros,
    zeros_like,
)
from nabla.device import DeviceError, device
from nabla.errors import (
    AnomalyError,
    DataError,
    DTypeError,
    GraphError,
    ModelFileError,
    NablaError,
    ShapeError,
)
from nabla.functional import (
    abs,
    add,
    amax,
    amin,
    argmax,
    argmin,
    broadcast_to,
    cast,
    cat,
    clamp,
    clip,
    clone,
    concatenate,
    detach,
    div,
    exp,
    expand_dims,
    flatten,
    getitem,
    leaky_relu,
    linear,
    log,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    permute,
    pow,
    reciprocal,
    relu,
    reshape,
    sigmoid,
    sign,
    softmax,
    split,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    sub,
    sum,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from nabla.functional_select import (
    argsort,
    chunk,
    cumsum,
    gather,
    index_select,
    masked_fill,
    norm,
    sort,
    t,
    topk,
)
from nabla.gradcheck import GradcheckError, gradcheck, gradgradcheck
from nabla.io import load, load_state_dict, save, save_state_dict
from nabla.profiler import profile
from nabla.tensor import Tensor
from nabla.tensor_base import Size
from nabla.viz import explain

float16, float32, float64 = _np.float16, _np.float32, _np.float64
int8, int16, int32, int64, uint8 = _np.int8, _np.int16, _np.int32, _np.int64, _np.uint8
bool_ = _np.bool_
# PyTorch's dtype aliases. bfloat16 is left out: NumPy has no such dtype. These shadow the
# builtins float, int and bool in this module from here on, where nothing uses them
half, float, double = float16, float32, float64
short, int, long = int16, int32, int64
bool = bool_

__version__ = "0.1.0"

# the public names (static, so type checkers see what `import nabla` exports)
__all__ = [
    "AnomalyError",
    "DTypeError",
    "DataError",
    "DeviceError",
    "Function",
    "GradcheckError",
    "GraphError",
    "ModelFileError",
    "NablaError",
    "ShapeError",
    "Size",
    "Tensor",
    "abs",
    "add",
    "amax",
    "amin",
    "arange",
    "argmax",
    "argmin",
    "argsort",
    "as_tensor",
    "autograd",
    "bool",
    "bool_",
    "broadcast_to",
    "cast",
    "cat",
    "chunk",
    "clamp",
    "clip",
    "clone",
    "compile",
    "concatenate",
    "cuda",
    "cumsum",
    "data",
    "default_generator",
    "detach",
    "detect_anomaly",
    "device",
    "div",
    "double",
    "enable_grad",
    "exp",
    "expand_dims",
    "explain",
    "eye",
    "flatten",
    "float",
    "float16",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "full_like",
    "functional",
    "gather",
    "get_rng_state",
    "getitem",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "half",
    "index_select",
    "inference_mode",
    "int",
    "int8",
    "int16",
    "int32",
    "int64",
    "io",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "leaky_relu",
    "linear",
    "linspace",
    "load",
    "load_state_dict",
    "log",
    "log_softmax",
    "logsumexp",
    "long",
    "manual_seed",
    "masked_fill",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mul",
    "neg",
    "nn",
    "no_grad",
    "norm",
    "ones",
    "ones_like",
    "optim",
    "permute",
    "pow",
    "profile",
    "rand",
    "randint",
    "randn",
    "reciprocal",
    "relu",
    "reshape",
    "save",
    "save_state_dict",
    "set_grad_enabled",
    "set_rng_state",
    "short",
    "sigmoid",
    "sign",
    "softmax",
    "sort",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "sub",
    "sum",
    "t",
    "tanh",
    "tensor",
    "topk",
    "transpose",
    "uint8",
    "unsqueeze",
    "var",
    "viz",
    "where",
    "zeros",
    "zeros_like",
]


def __getattr__(name: str) -> object:
    # nb.onnx is imported on first use, so `import nabla` stays light (nabla.sklearn is never
    # imported here: `from nabla.sklearn import MLPClassifier`)
    if name == "onnx":
        import importlib

        return importlib.import_module("nabla.onnx")
    raise AttributeError(f"module 'nabla' has no attribute {name!r}")


_heap.prime()  # glibc's heap thresholds, before the first training step: see nabla._heap
