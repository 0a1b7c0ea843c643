"""The compiler is fenced off from the core: the core reports to it through
``nabla.autograd.hooks`` and the kernel registry, never by importing it, and the compiler names
no op, layer or optimizer (what it knows of them comes from the registry and the hooks)."""

from __future__ import annotations

import ast
from pathlib import Path

import nabla as nb
from nabla.autograd.function import Function
from nabla.nn.module import Module
from nabla.optim.optimizer import Optimizer

SRC = Path(nb.__file__).parent
CORE = ["tensor*.py", "functional*.py", "creation.py", "ops", "autograd", "nn", "optim"]


def _modules(pattern: str) -> list[Path]:
    path = SRC / pattern
    if path.is_dir():
        return sorted(path.rglob("*.py"))
    return sorted(SRC.glob(pattern))


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _subclasses(cls: type) -> set[type]:
    out, todo = set(), [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in out:
                out.add(sub)
                todo.append(sub)
    return out


def test_no_core_module_imports_the_compiler() -> None:
    core = [p for pattern in CORE for p in _modules(pattern)]
    assert len(core) > 20  # the patterns found the core
    offenders = {
        str(p.relative_to(SRC)): sorted(m for m in _imports(p) if m.startswith("nabla.compiler"))
        for p in core
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_compiler_names_no_op_layer_or_optimizer() -> None:
    names = {
        cls.__name__
        for base in (Function, Module, Optimizer)
        for cls in _subclasses(base)
        if cls.__module__.startswith("nabla.")
    }
    assert {"Linear", "Relu", "Tanh", "SGD", "Adam", "MLP"} <= names  # the classes are found
    used: dict[str, set[str]] = {}
    for path in _modules("compiler"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            ident = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
            if isinstance(node, ast.alias):
                ident = node.asname or node.name.rpartition(".")[2]
            if ident in names:
                used.setdefault(path.name, set()).add(ident)
        imported = {m for m in _imports(path) if m.startswith(("nabla.nn", "nabla.optim"))}
        assert not imported, (path.name, imported)
        ops_imports = {m for m in _imports(path) if m.startswith("nabla.ops.")}
        assert ops_imports <= {"nabla.ops.namespace", "nabla.ops.namespace.ARRAY_OPS"}, ops_imports
    assert used == {}
