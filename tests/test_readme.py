"""The README's Python tour runs as written (a newcomer copies it first)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("safetensors")
    pytest.importorskip("onnx")  # the deployment section
    pytest.importorskip("onnxruntime")
    monkeypatch.chdir(tmp_path)  # the tour saves a model file in the working directory
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert blocks
    namespace: dict[str, object] = {}  # blocks run in order, as a reader pastes them
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102
    assert float(namespace["accuracy"]) > 0.9  # type: ignore[arg-type]
    assert (tmp_path / "digits.safetensors").exists()


def test_readme_starts_with_the_two_commands() -> None:
    text = README.read_text()
    first_block = re.findall(r"```bash\n(.*?)```", text, re.DOTALL)[0]
    commands = [line for line in first_block.splitlines() if line and not line.startswith("#")]
    assert commands[0] == 'pip install -e ".[all]" && nabla train'
    ci = (README.parent / ".ci" / "run").read_text()
    assert commands[1] in ci  # CI runs exactly the README's test command
