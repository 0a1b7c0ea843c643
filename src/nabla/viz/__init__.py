"""See backprop: graph drawings, the backward pass explained, and the HTML training report.

``to_dot``/``draw``/``repr_svg`` draw the graph behind a tensor (Graphviz renders it; install
``nabla[viz]`` and the system ``graphviz`` package), ``explain`` lists the backward pass with
each rule and the real shapes, and ``nabla.viz.report`` writes ``nabla train --report``'s page.
They work before and after ``backward()``; a backward run inside ``keep_gradients()`` keeps every
node's value and gradient for the drawing. ``stepper`` writes the step-through page, and
``mathtext`` turns a rule's LaTeX into matplotlib's mathtext for slides.
"""

from nabla.autograd.graph import keep_gradients
from nabla.viz.dot import (
    GraphvizUnavailable,
    GraphvizWarning,
    draw,
    render,
    repr_svg,
    to_dot,
)
from nabla.viz.explain import Explanation, Step, Term, explain
from nabla.viz.formula import mathtext
from nabla.viz.stepper import stepper

__all__ = [
    "Explanation",
    "GraphvizUnavailable",
    "GraphvizWarning",
    "Step",
    "Term",
    "draw",
    "explain",
    "keep_gradients",
    "mathtext",
    "render",
    "repr_svg",
    "stepper",
    "to_dot",
]
