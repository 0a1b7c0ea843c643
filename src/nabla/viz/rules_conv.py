"""The backward rule of one convolution call: the notes' dense layer on the patch matrix.

The call fixes the matrices' shapes: P = im2col(X) has one row per output position (N·out) and
one column per weight (C·kernel), G has one row per output position and one column per output
channel, W one row per output channel. The values are computed here from those matrices,
independently of the op's backward (grouped convolutions as one block-diagonal W).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from nabla.ops.conv import col2im_array, im2col_array
from nabla.viz import formula as f
from nabla.viz.formula import CallRule, Env

Shape = tuple[int, ...]


def _patch_rows(x: Any, geo: Any) -> Any:
    """P: (N·out) × (C·kernel), one patch per row."""
    spatial = len(geo.size)
    p = im2col_array(np.asarray(x), geo)  # (N, C, *out, *kernel)
    p = np.moveaxis(p, 1, 1 + spatial)  # (N, *out, C, *kernel)
    return p.reshape(math.prod(p.shape[: 1 + spatial]), -1)


def _g_rows(g: Any, spatial: int) -> Any:
    """G: (N·out) × O, one output position per row."""
    g = np.moveaxis(np.asarray(g), 1, -1)
    return g.reshape(-1, g.shape[-1])


def _block_diagonal(w: Any, groups: int) -> Any:
    """W as one (O, C·kernel) matrix: group k's rows see only group k's columns."""
    o = w.shape[0]
    w_m = np.asarray(w).reshape(o, -1)
    per = w_m.shape[1]
    full = np.zeros((o, per * groups), dtype=w_m.dtype)
    step = o // groups
    for k in range(groups):
        full[k * step : (k + 1) * step, k * per : (k + 1) * per] = w_m[k * step : (k + 1) * step]
    return full


def conv_rule(fn: Any, inputs: Sequence[Any], out: Shape) -> CallRule:
    geo, groups = fn.geo, fn.groups
    spatial = len(geo.size)
    x_shape, w_shape = tuple(inputs[0].shape), tuple(inputs[1].shape)
    n, c, o = x_shape[0], x_shape[1], w_shape[0]
    rows, cols = n * math.prod(geo.out), c * math.prod(geo.kernel)

    def grad_x(env: Env) -> Any:
        gp = _g_rows(env["g"], spatial) @ _block_diagonal(env["W"], groups)  # G W
        gp = gp.reshape((n, *geo.out, c, *geo.kernel))
        return col2im_array(np.moveaxis(gp, 1 + spatial, 1), geo)

    def grad_w(env: Env) -> Any:
        full = _g_rows(env["g"], spatial).T @ _patch_rows(env["X"], geo)  # Gᵀ P
        per, step = cols // groups, o // groups
        blocks = [full[k * step : (k + 1) * step, k * per : (k + 1) * per] for k in range(groups)]
        return np.concatenate(blocks, axis=0).reshape(w_shape)

    def grad_b(env: Env) -> Any:
        return _g_rows(env["g"], spatial).sum(axis=0)

    terms = [
        f.Expr("col2im(G W)", r"\operatorname{col2im}(G W)", grad_x),
        f.Expr("Gᵀ P", r"G^\top P", grad_w, 2),
    ]
    notes = [
        "(a pixel is repeated in every patch covering it: repeat → sum adds their gradients)",
        "(P = im2col(X))",
    ]
    if len(inputs) > 2:
        terms.append(f.Expr("1ᵀ G", r"\mathbf{1}^\top G", grad_b, 2))
        notes.append("")
    if groups > 1:
        notes[1] = f"(P = im2col(X); {groups} groups: W block-diagonal)"
    shapes: dict[str, tuple[int, ...]] = {"G": (rows, o), "P": (rows, cols), "W": (o, cols)}
    return CallRule(("X", "W", "b")[: len(inputs)], tuple(terms), tuple(notes), shapes=shapes)
