"""Generate the Jupyter notebooks in docs/tutorials/notebooks from the tutorial scripts.

Each script becomes jupytext's percent format (``# %%`` cells) and then a notebook: the module
docstring a Markdown cell (its notation table and indented formulas as code blocks), the imports
one code cell, each top-level function or constant its own cell (with the comments above it),
and the script's ``if __name__ == "__main__": main()`` a cell ``result = main()`` followed by a
cell that asserts the agreements the tutorial prints. The tests regenerate the notebooks in
memory, check the committed ones are up to date, and execute their code cells.

Run:  python docs/tutorials/make_notebooks.py        (needs jupytext, in the test extra)
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE / "notebooks"
ASSERT_CELL = """\
# every check the tutorial printed agrees to 1e-6 (hand rule, autodiff, central differences)
assert all(diff < 1e-6 for diff in result["max_diff"].values()), result["max_diff"]
print(f"{len(result['max_diff'])} agreements hold; held-out accuracy {result['accuracy']:.3f}")"""


def scripts() -> list[Path]:
    """The tutorials, in reading order."""
    return sorted(HERE.glob("[0-9][0-9]_*.py"))


def markdown(docstring: str) -> str:
    """The module docstring as a percent-format Markdown cell, its first line a title."""
    title, _, rest = docstring.partition("\n")
    text = f"# {title}\n{rest}".rstrip()
    lines = [f"# {line}" if line else "#" for line in text.splitlines()]
    return "# %% [markdown]\n" + "\n".join(lines)


def is_main_guard(node: ast.stmt) -> bool:
    """``if __name__ == "__main__":`` at the top level."""
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
    )


def code_cells(source: str, tree: ast.Module) -> list[str]:
    """The code after the docstring: imports and constants together, then one cell per def."""
    lines = source.splitlines()
    body = tree.body[1:]  # the docstring is the Markdown cell
    cells: list[str] = []
    start = body[0].lineno - 1
    for k, node in enumerate(body):
        if is_main_guard(node):
            cells.append("result = main()")
            cells.append(ASSERT_CELL)
            break
        end = node.end_lineno or node.lineno
        following = body[k + 1] if k + 1 < len(body) else None
        joins_next = (
            following is not None
            and not isinstance(node, (ast.FunctionDef, ast.ClassDef))
            and not isinstance(following, (ast.FunctionDef, ast.ClassDef))
            and not is_main_guard(following)
        )
        if joins_next:
            continue
        cells.append("\n".join(lines[start:end]).strip("\n"))
        start = end
    return ["# %%\n" + cell for cell in cells]


def percent_text(script: Path) -> str:
    """The script in jupytext's percent format."""
    source = script.read_text()
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree, clean=True)
    if docstring is None:
        raise ValueError(f"make_notebooks: {script.name} has no module docstring")
    return "\n\n".join([markdown(docstring), *code_cells(source, tree)]) + "\n"


def notebook(script: Path) -> Any:
    """The notebook (an nbformat node) generated from ``script``."""
    import jupytext  # the test extra's, imported here so the tests can skip without it

    nb = jupytext.reads(percent_text(script), fmt="py:percent")
    for k, cell in enumerate(nb.cells):  # stable ids: regenerating changes nothing
        cell.id = f"{script.stem[:2]}-cell-{k:02d}"
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    return nb


def notebook_path(script: Path) -> Path:
    return NOTEBOOKS / f"{script.stem}.ipynb"


def main() -> None:
    import jupytext

    NOTEBOOKS.mkdir(exist_ok=True)
    for script in scripts():
        jupytext.write(notebook(script), notebook_path(script), fmt="ipynb")
        print(f"wrote {notebook_path(script).relative_to(HERE.parents[1])}")


if __name__ == "__main__":
    main()
