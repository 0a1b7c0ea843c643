"""The public namespace after a plain ``import nabla`` (checked in a fresh interpreter, where
no test has imported a subpackage first)."""

from __future__ import annotations

import subprocess
import sys


def test_subpackages_are_attributes_after_import_nabla() -> None:
    code = (
        "import nabla as nb\n"
        "assert nb.data.DataLoader is not None and nb.data.TensorDataset is not None\n"
        "assert nb.nn.Linear is not None and nb.optim.SGD is not None\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
