"""How nabla's modules import each other: one way, in the layers ``nabla/__init__.py`` lists.

The import graph is read from the source (module-level ``import`` statements outside
``if TYPE_CHECKING:``), and Tensor's methods are checked against the class bodies that define
them, so a method attached from outside (``setattr(Tensor, ...)``) or an import moved to the
bottom of a module to dodge a cycle fails here.
"""

from __future__ import annotations

import ast
import graphlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import nabla
from nabla.tensor import Tensor

SRC = Path(nabla.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in SRC.rglob("*.py")}

#: the core, lowest layer first: a core module imports (at module level) only from its own
#: layer or the ones before it. Everything else (nn, optim, io, viz, cli...) sits above.
LAYERS = [
    {"nabla._typing", "nabla.errors", "nabla.generator", "nabla._heap", "nabla.tensor_base"}
    | {"nabla.device"},
    {"nabla.autograd"},
    {"nabla.ops"},
    {"nabla.tensor", "nabla.tensor_math", "nabla.tensor_reduce", "nabla.tensor_shape"}
    | {"nabla.tensor_inplace", "nabla.tensor_select"}
    | {"nabla.tensor_algebra", "nabla.tensor_layout", "nabla.tensor_logic"}
    | {"nabla.tensor_pointwise", "nabla.tensor_memory", "nabla.tensor_numeric"}
    | {"nabla.tensor_random", "nabla.tensor_inplace_math"},
    {"nabla.creation", "nabla.functional", "nabla.functional_shape", "nabla.tensor_namespace"}
    | {"nabla.functional_select", "nabla.functional_algebra", "nabla.functional_layout"}
    | {"nabla.functional_logic", "nabla.functional_pointwise", "nabla.functional_random"}
    | {"nabla.functional_numeric"},
]

#: imports written inside a function in the core, each breaking a cycle that an import at the
#: top would make (the importer sits below what it imports); any other one fails the test
FUNCTION_LEVEL_IMPORTS = {
    # Jupyter's SVG display of a tensor draws its graph: nabla.viz draws Tensors
    ("nabla.tensor", "nabla.viz"),
    # the engine, in autograd below the tensor layer, makes and recognises Tensors and runs
    # recorded backward rules with the tensor functions
    ("nabla.autograd.engine", "nabla.tensor"),
    ("nabla.autograd.engine", "nabla.ops.namespace"),
    ("nabla.autograd.engine", "nabla.tensor_namespace"),
    # dropout's forward draws from the global generator, read through nabla.creation
    ("nabla.ops.random", "nabla.creation"),
    # a user's PyTorch-style custom Function (static forward(ctx, ...)) gets its apply when its
    # class is made; ctx_function builds on Function, and wraps and makes Tensors
    ("nabla.autograd.function", "nabla.autograd.ctx_function"),
    ("nabla.autograd.ctx_function", "nabla.tensor"),
}


def _unit(module: str) -> str:
    """The layer unit of a module: its top-level module or subpackage under nabla."""
    return ".".join(module.split(".")[:2])


def _layer(module: str) -> int | None:
    unit = _unit(module)
    return next((i for i, layer in enumerate(LAYERS) if unit in layer), None)


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _targets(node: ast.Import | ast.ImportFrom, module: str) -> list[str]:
    """The nabla modules an import statement loads (nabla imports absolutely)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        assert node.level == 0, f"{module}:{node.lineno}: a relative import"
        base = node.module or ""
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    resolved = (_resolve(n) for n in names if n.split(".")[0] == "nabla")
    return sorted({r for r in resolved if r is not None and r != module})


def _is_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _module_level_imports(module: str) -> list[tuple[int, str, bool]]:
    """(line, imported module, comes after a def or class) for each top-level import."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    out = []
    defined = False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined = True
        if _is_type_checking(node):
            continue
        for stmt in ast.walk(node) if isinstance(node, (ast.If, ast.Try)) else [node]:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                out.extend((stmt.lineno, t, defined) for t in _targets(stmt, module))
    return out


def _function_level_imports(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for stmt in ast.walk(node):
                if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                    out.update(_targets(stmt, module))
    return out


def test_module_level_imports_form_no_cycle() -> None:
    graph = {m: {t for _, t, _ in _module_level_imports(m)} for m in MODULES}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle
    units: dict[str, set[str]] = {}
    for m, targets in graph.items():
        units.setdefault(_unit(m), set()).update(_unit(t) for t in targets if _unit(t) != _unit(m))
    graphlib.TopologicalSorter(units).prepare()  # no cycle between subpackages either


def test_the_core_imports_only_downwards() -> None:
    upward = []
    for m in MODULES:
        here = _layer(m)
        if here is None:
            continue
        for line, target, _ in _module_level_imports(m):
            there = _layer(target)
            if there is None or there > here:
                upward.append(f"{m}:{line} imports {target}")
    assert upward == []


def test_no_import_below_a_definition() -> None:
    late = [
        f"{m}:{line} imports {target} after a def or class"
        for m in MODULES
        for line, target, defined in _module_level_imports(m)
        if defined
    ]
    assert late == []


def test_function_level_imports_in_the_core_are_the_listed_ones() -> None:
    found = {
        (m, target)
        for m in MODULES
        if _layer(m) is not None
        for target in _function_level_imports(m)
    }
    assert found - FUNCTION_LEVEL_IMPORTS == set(), "a new import inside a function"
    assert FUNCTION_LEVEL_IMPORTS - found == set(), "no longer there: remove it from the list"


@pytest.mark.parametrize(
    ("appended", "check", "error"),
    [
        # importing back from a module that imports this one, at the bottom, after a class
        ("from nabla.tensor import Tensor", "test_module_level_imports_form_no_cycle", "cycle"),
        ("from nabla.tensor import Tensor", "test_no_import_below_a_definition", "assert"),
        ("from nabla.tensor import Tensor", "test_the_core_imports_only_downwards", "assert"),
        (
            "def _f():\n    from nabla.creation import zeros",
            "test_function_level_imports_in_the_core_are_the_listed_ones",
            "assert",
        ),
    ],
)
def test_the_import_checks_can_fail(
    appended: str, check: str, error: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = "nabla.ops.arithmetic"
    fake = tmp_path / "arithmetic.py"
    fake.write_text(MODULES[module].read_text(encoding="utf-8") + f"\n{appended}\n", "utf-8")
    monkeypatch.setitem(MODULES, module, fake)
    expected = graphlib.CycleError if error == "cycle" else AssertionError
    with pytest.raises(expected):
        globals()[check]()


def test_the_class_body_check_sees_an_attached_method(monkeypatch: pytest.MonkeyPatch) -> None:
    from nabla.tensor_math import TensorMath

    monkeypatch.setattr(TensorMath, "frobnicate", lambda self: self, raising=False)
    with pytest.raises(AssertionError):
        test_every_tensor_attribute_is_written_in_its_class_body(TensorMath)


def test_no_setattr_on_tensor_in_the_source() -> None:
    pattern = re.compile(r"setattr\(\s*(Tensor|nabla\.Tensor|nb\.Tensor)\b")
    hits = [
        f"{m}: {line.strip()}"
        for m, path in MODULES.items()
        for line in path.read_text(encoding="utf-8").splitlines()
        if pattern.search(line)
    ]
    assert hits == []


def _names_bound_in_class_body(cls: type) -> set[str]:
    tree = ast.parse(Path(sys.modules[cls.__module__].__file__ or "").read_text(encoding="utf-8"))
    (node,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls.__name__]
    names: set[str] = set()
    for stmt in node.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(stmt.name)
        elif isinstance(stmt, ast.Assign):
            names.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            names.add(stmt.target.id)
    return names


#: what Python itself puts in a class's namespace
_IMPLICIT = {"__module__", "__qualname__", "__doc__", "__dict__", "__weakref__", "__annotations__"}
_IMPLICIT |= {"__firstlineno__", "__static_attributes__", "__parameters__", "__orig_bases__"}


@pytest.mark.parametrize("cls", Tensor.__mro__[:-1], ids=lambda c: c.__name__)
def test_every_tensor_attribute_is_written_in_its_class_body(cls: type) -> None:
    assert cls.__module__ == "nabla.tensor" or cls.__module__.startswith("nabla.tensor_")
    slots = set(getattr(cls, "__slots__", ()))
    attached = set(cls.__dict__) - _IMPLICIT - slots - _names_bound_in_class_body(cls)
    if "__eq__" in cls.__dict__:
        attached.discard("__hash__")  # None when a class defines __eq__ and not __hash__
    assert attached == set()


#: methods of PyTorch's Tensor that nabla's Tensor offers (a sample across every mixin)
TORCH_METHODS = [
    *("sum", "mean", "max", "min", "amax", "amin", "var", "std", "logsumexp", "argmax"),
    *("argmin", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "clip", "clamp"),
    *("softmax", "log_softmax", "matmul", "pow", "square", "reciprocal", "maximum", "minimum"),
    *("sign", "reshape", "view", "flatten", "transpose", "permute", "squeeze", "unsqueeze"),
    *("expand", "split", "clone", "detach", "float", "double", "long", "add_", "mul_"),
    *("zero_", "copy_", "backward", "item", "numpy", "__add__", "__matmul__", "__getitem__"),
    *("__setitem__", "__iadd__", "__lt__", "__invert__"),
]


@pytest.mark.parametrize("name", TORCH_METHODS)
def test_tensor_methods_come_from_tensor_or_its_mixins(name: str) -> None:
    owner = next(c for c in Tensor.__mro__ if name in c.__dict__)
    assert owner is Tensor or owner in Tensor.__bases__


@pytest.mark.parametrize(
    "module",
    [
        "nabla.tensor",
        "nabla.autograd.engine",
        "nabla.ops.elementwise",
        "nabla.ops.random",
        "nabla.functional",
        "nabla.creation",
        "nabla.tensor_namespace",
    ],
)
def test_a_core_module_imports_first_on_its_own(module: str) -> None:
    # a fresh interpreter importing this module before any other: works whatever the order
    code = (
        f"import {module}\n"
        "import numpy as np\n"
        "from nabla.tensor import Tensor\n"
        "x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)\n"
        "(x.exp() * 2).sum().backward()\n"
        "assert np.allclose(x.grad, 2 * np.exp(x.data))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
