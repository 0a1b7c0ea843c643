"""The tutorials in docs/tutorials run, and their hand / autodiff / numeric agreement holds.

Each tutorial's ``main()`` returns what it printed: the largest relative disagreement of every
check (``max_diff``) and the held-out accuracy of the model it trains at the end. Parts 1-6 also
return their small example taught with nabla's tools (``example``, its ``explain`` trace, the
``grads`` they print and the ``dot`` drawing).
"""

from __future__ import annotations

import json
import re
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn")

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("[0-9][0-9]_*.py"))
MIN_ACCURACY = {  # held-out accuracy each tutorial's final training reaches (with margin)
    "01_primitive_nodes": 0.9,  # softmax regression, iris
    "02_logistic_regression": 0.95,  # breast cancer
    "03_two_layer_sigmoid": 0.95,  # breast cancer
    "04_tanh_softmax_mlp": 0.93,  # digits
    "05_matrix_calculus": 0.9,  # wine
    "06_l2_regularisation": 0.93,  # digits
    "07_vanishing_gradients": 0.9,  # digits, the best of sigmoid / tanh / ReLU nets
}


TAUGHT_WITH_TOOLS = [p.stem for p in TUTORIALS]  # every part: notation, explain, drawing


def count_ops(tensor: Any) -> int:
    """The ops of the graph that produced ``tensor``, found by walking it (not by nb.explain)."""
    seen: set[int] = set()
    stack = [tensor.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        stack.extend(t.grad_fn for t in fn.inputs)
    return len(seen)


def check_taught_with_tools(path: Path, result: dict[str, Any], printed: str) -> None:
    """The explain trace is printed, has one step per op, and the gradients are printed in full.

    The module docstring opens with the notation table, the note's typo corrected (or where it
    is) and the two weight layouts reconciled.
    """
    docstring = path.read_text().split('"""')[1]
    assert "Notation (" in docstring
    assert "Correction" in docstring
    assert "Layouts" in docstring
    assert result["explain"] in printed
    assert result["explain_steps"] == count_ops(result["example"]) > 0
    for name, grad in result["grads"].items():
        assert f"→ {name}.grad" in result["explain"]
        assert np.array2string(grad, precision=4, suppress_small=True) in printed
        assert f"example ∇{name}: autodiff vs hand" in result["max_diff"]
    assert result["dot"].startswith("digraph") and "grad" in result["dot"]


def test_one_tutorial_per_part_of_the_notes() -> None:
    assert [p.stem for p in TUTORIALS] == list(MIN_ACCURACY)


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_agreement(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    namespace = runpy.run_path(str(path), run_name="tutorial")
    result = namespace["main"]()
    check_agreement(path, result, capsys.readouterr().out)


def check_agreement(path: Path, result: dict[str, Any], printed: str) -> None:
    """What a tutorial (script or notebook) returned and printed agrees, as it says."""
    diffs = result["max_diff"]
    assert len(diffs) >= 3
    for check, diff in diffs.items():
        assert diff < 1e-6, f"{path.stem}: {check} disagree by {diff:.1e}"
        assert f"{diff:.1e}" in printed  # what the reader sees is what is asserted
    assert any("numeric" in check for check in diffs)
    assert any("autodiff" in check for check in diffs)
    assert result["accuracy"] >= MIN_ACCURACY[path.stem]
    assert f"{result['accuracy']:.3f}" in printed
    if path.stem in TAUGHT_WITH_TOOLS:
        check_taught_with_tools(path, result, printed)
    if "shapes_ok" in result:
        assert result["shapes_ok"]
    if "first_over_last" in result:  # vanishing gradients: the first layer's share
        ratio = result["first_over_last"]
        assert ratio["sigmoid"] < 0.01 < min(ratio["tanh"], ratio["relu"])
        assert max(result["mean_slope"]["sigmoid"]) <= 0.25  # σ′ ≤ ¼ in every layer
        assert result["accuracies"]["sigmoid"] < min(
            result["accuracies"]["tanh"], result["accuracies"]["relu"]
        )
    if "weight_norm" in result:  # L2 regularisation shrinks the weights
        assert result["weight_norm"] < 0.8 * result["weight_norm_unregularised"]


def test_a_tutorial_runs_as_a_script(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(TUTORIALS[0])],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "held-out accuracy" in done.stdout
    assert (tmp_path / "01_graph.dot").read_text().startswith("digraph")  # only as a script


def test_readme_links_the_tutorials_in_reading_order() -> None:
    readme = (ROOT / "README.md").read_text()
    linked = re.findall(r"\(docs/tutorials/(\d\d_\w+)\.py\)", readme)
    assert linked == [p.stem for p in TUTORIALS]


def load_make_notebooks() -> dict[str, Any]:
    return runpy.run_path(str(ROOT / "docs" / "tutorials" / "make_notebooks.py"), run_name="nb")


def cells(notebook: Any) -> list[tuple[str, str]]:
    return [(cell["cell_type"], "".join(cell["source"])) for cell in notebook["cells"]]


def test_one_notebook_per_tutorial() -> None:
    notebooks = sorted((ROOT / "docs" / "tutorials" / "notebooks").glob("*.ipynb"))
    assert [p.stem for p in notebooks] == [p.stem for p in TUTORIALS]


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_notebook_is_up_to_date(path: Path) -> None:
    """The committed notebook is what make_notebooks.py generates from the script now."""
    pytest.importorskip("jupytext")
    nbformat = pytest.importorskip("nbformat")  # comes with jupytext
    make = load_make_notebooks()
    text = make["notebook_path"](path).read_text()
    nbformat.validate(nbformat.reads(text, as_version=4))  # a valid notebook, v4
    committed = json.loads(text)
    assert cells(committed) == cells(make["notebook"](path)), (
        f"{path.stem}.ipynb is stale: run python docs/tutorials/make_notebooks.py"
    )
    assert cells(committed)[0][1].startswith("# Part")  # the docstring, as Markdown


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_notebook_runs_and_agrees(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The notebook's code cells, run in order in one namespace, reach the same agreements."""
    notebook = json.loads(
        (ROOT / "docs" / "tutorials" / "notebooks" / f"{path.stem}.ipynb").read_text()
    )
    namespace: dict[str, Any] = {"__name__": "notebook"}  # not "__main__": it writes no files
    code = [source for kind, source in cells(notebook) if kind == "code"]
    for k, source in enumerate(code):  # our own committed cells, checked up to date above
        exec(compile(source, f"{path.stem}.ipynb[{k}]", "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr().out
    assert "agreements hold" in printed  # the notebook's own assertion cell ran
    check_agreement(path, namespace["result"], printed)
