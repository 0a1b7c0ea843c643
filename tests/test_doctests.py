"""The examples in nabla's docstrings run as written."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from typing import Any

import pytest

import nabla

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(nabla.__path__, prefix="nabla.")
    if info.name != "nabla.__main__"  # running it would start the CLI
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
