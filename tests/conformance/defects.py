"""Known nabla defects that the fuzzer finds, each with the nodes it affects.

The main fuzz test avoids these nodes (so one known defect does not hide new ones), and
``test_fuzz.test_known_defect_still_fails`` forces them into programs under a strict xfail:
when a fix lands, that test passes unexpectedly and fails the run, asking to delete the entry.

None is open. An entry names the defect, says what differs from PyTorch, and gives a predicate
over a node ``(op, torch args, params)``, e.g.::

    Defect(
        "sqrt-at-zero-warns",
        "the second derivative of sqrt(x) at x = 0 raises RuntimeWarning; PyTorch gives -inf",
        lambda op, args, p: op == "sqrt" and bool((args[0] == 0).any()),
        op="sqrt",
    )
"""

from __future__ import annotations

from .programs import Defect

DEFECTS: list[Defect] = []
