"""The step-through page's drawing and HTML: Graphviz's SVG (or a built-in layered layout),
inlined with the script and style into one file that needs no network.

Every node of the drawing is an SVG ``<g class="node">`` whose ``<title>`` is the node's id
(``n0`` is the loss), the way Graphviz writes them; the page's script finds the node to
highlight by that title, so both drawings work the same.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from nabla.viz.graph import Graph, format_shape

_FILL = {"op": "#fff2cc", "param": "#dae8fc", "const": "#eeeeee"}
_BOX_W, _BOX_H, _GAP_X, _GAP_Y = 150, 44, 24, 56


def _dot_text(graph: Graph, labels: dict[int, str]) -> str:
    lines = [
        "digraph stepper {",
        '  graph [rankdir=TB, fontname="Helvetica", nodesep=0.3];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
        "  edge [arrowsize=0.7];",
    ]
    for node in graph.nodes:
        label = f"{labels[node.index]}\n{_subtitle(node)}"
        label = label.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        fill = "#f8cecc" if node.index == 0 else _FILL[node.kind]
        lines.append(f'  n{node.index} [label="{label}", fillcolor="{fill}"];')
    # one arrow per use: W * W draws two
    lines.extend(f"  n{src} -> n{dst};" for src, dst in graph.edges())
    lines.append("}")
    return "\n".join(lines) + "\n"


def _subtitle(node: Any) -> str:
    """The second line of a node's box: its op (or kind) and its value (one number) or
    shape."""
    t = node.tensor
    kind = node.fn.name if node.fn is not None else node.kind
    data = getattr(t, "data", None)
    if data is not None and data.size == 1 and data.dtype.kind in "fiu":
        return f"{kind} · {float(data.reshape(())):.4g}"
    return f"{kind} · {format_shape(t.shape)}"


def _clean_svg(svg: str) -> str:
    """Graphviz's SVG, ready to inline: no XML prolog, doctype, comments or namespace URLs
    (HTML needs none, and the page must name no address)."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.DOTALL)
    return re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)


def layered_svg(graph: Graph, labels: dict[int, str]) -> str:
    """A drawing without Graphviz: each op one row below its lowest input, each leaf one
    row above its first user."""
    depth: dict[int, int] = {}
    for node in sorted(graph.nodes, key=lambda n: n.fn.seq if n.fn is not None else -1):
        depth[node.index] = 1 + max((depth[i] for i in node.inputs), default=-1)
    for node in graph.nodes:  # each leaf just above its first user
        if node.fn is None and node.index:
            users = [depth[n.index] for n in graph.nodes if node.index in n.inputs]
            depth[node.index] = min(users) - 1
    rows: dict[int, list[int]] = {}
    for index in sorted(depth):
        rows.setdefault(depth[index], []).append(index)
    width = max(len(r) for r in rows.values()) * (_BOX_W + _GAP_X) + _GAP_X
    height = len(rows) * (_BOX_H + _GAP_Y) + _GAP_Y
    place: dict[int, tuple[float, float]] = {}
    for level, members in rows.items():
        offset = (width - len(members) * (_BOX_W + _GAP_X) + _GAP_X) / 2
        for k, index in enumerate(members):
            place[index] = (offset + k * (_BOX_W + _GAP_X), _GAP_Y / 2 + level * (_BOX_H + _GAP_Y))
    parts = [
        f'<svg viewBox="0 0 {width:.0f} {height:.0f}" role="img">',
        (
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/>'
            "</marker></defs>"
        ),
    ]
    for n, (src, dst) in enumerate(graph.edges()):
        (x1, y1), (x2, y2) = place[src], place[dst]
        bend = (n % 3 - 1) * 6  # parallel edges (W * W) stay apart
        parts.append(
            f'<line class="edge" x1="{x1 + _BOX_W / 2 + bend:.1f}" y1="{y1 + _BOX_H:.1f}" '
            f'x2="{x2 + _BOX_W / 2 + bend:.1f}" y2="{y2:.1f}" stroke="#555" '
            'marker-end="url(#arrow)"/>'
        )
    for node in graph.nodes:
        x, y = place[node.index]
        fill = "#f8cecc" if node.index == 0 else _FILL[node.kind]
        parts.append(
            f'<g class="node"><title>n{node.index}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{_BOX_W}" height="{_BOX_H}" rx="8" '
            f'fill="{fill}" stroke="#333"/>'
            f'<text x="{x + _BOX_W / 2:.1f}" y="{y + 18:.1f}" text-anchor="middle" '
            f'font-size="13">{html.escape(labels[node.index])}</text>'
            f'<text x="{x + _BOX_W / 2:.1f}" y="{y + 35:.1f}" text-anchor="middle" '
            f'font-size="11">{html.escape(_subtitle(node))}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def graph_svg(graph: Graph, labels: dict[int, str]) -> str:
    """The drawing: Graphviz's SVG when ``dot`` runs, else :func:`layered_svg`."""
    from nabla.viz import dot

    try:
        return _clean_svg(dot.render(_dot_text(graph, labels), "svg").decode("utf-8"))
    except dot.GraphvizUnavailable:
        return layered_svg(graph, labels)


_STYLE = """
body{font-family:Helvetica,Arial,sans-serif;margin:0;color:#222}
header{padding:8px 16px;background:#f4f4f4;border-bottom:1px solid #ccc}
h1{font-size:18px;margin:4px 0}
#controls{display:flex;gap:8px;align-items:center;margin-top:6px}
#slider{flex:1}
main{display:flex;gap:12px;padding:12px}
#graph{flex:1 1 55%;overflow:auto;max-height:85vh;border:1px solid #ddd}
#graph svg{max-width:100%;height:auto}
#panel{flex:1 1 45%;font-size:14px}
#panel pre{background:#f8f8f8;padding:6px;margin:4px 0;white-space:pre-wrap}
.phase-forward{color:#1f5fa8}.phase-backward{color:#b03a2e}
.node.current polygon,.node.current path,.node.current rect,.node.current ellipse
{stroke:#d62728;stroke-width:4}
.node.operand polygon,.node.operand path,.node.operand rect{stroke:#2a7de1;stroke-width:3}
.node.done polygon,.node.done path,.node.done rect{stroke-dasharray:4 2}
.term{border-left:3px solid #b03a2e;padding-left:8px;margin:8px 0}
.sum{color:#6a1b9a;font-weight:bold}
"""

_SCRIPT = r"""
(function () {
  const data = JSON.parse(document.getElementById("stepper-data").textContent);
  const nodes = {};
  data.nodes.forEach(function (n) { nodes[n.id] = n; });
  const groups = {};
  document.querySelectorAll("#graph g.node").forEach(function (g) {
    const t = g.querySelector("title");
    if (t) { groups[t.textContent.trim()] = g; }
  });
  const steps = data.steps;
  const slider = document.getElementById("slider");
  const panel = document.getElementById("panel");
  slider.max = String(steps.length - 1);
  let current = 0;
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }
  function shown(v) {
    if (!v) { return "none"; }
    return v.data === null ? v.text + " (" + v.summary + ")" : v.text;
  }
  function mark(step) {
    Object.keys(groups).forEach(function (id) {
      groups[id].classList.remove("current", "operand");
    });
    (step.operands || []).forEach(function (id) {
      if (groups[id]) { groups[id].classList.add("operand"); }
    });
    const g = groups[step.node];
    if (g) {
      g.classList.add("current");
      if (g.scrollIntoView) { g.scrollIntoView({block: "nearest", inline: "nearest"}); }
    }
  }
  function received(step, node) {
    const box = el("div");
    if (!step.received.length) { return box; }
    box.appendChild(el("h3", "gradient received by " + node.name));
    step.received.forEach(function (r, k) {
      const line = (k === 0 ? "∇" + node.name + " = " : "∇" + node.name + " += ") +
        shown(r.add) + "   (from backward step " + r.step + ", " + r.from + ")";
      box.appendChild(el("pre", line));
    });
    if (step.received.length > 1) {
      box.appendChild(el("pre", "sum: ∇" + node.name + " = " +
        shown(step.received[step.received.length - 1].total), "sum"));
    }
    return box;
  }
  function terms(step) {
    const box = el("div");
    step.terms.forEach(function (t) {
      const d = el("div", undefined, "term");
      d.appendChild(el("div", "gradient sent to " + t.input_name + ":"));
      d.appendChild(el("pre", t.rule + "    " + t.shapes));
      if (t.numbers) { d.appendChild(el("pre", t.numbers, "numbers")); }
      d.appendChild(el("pre", "= " + shown(t.contribution), "contribution"));
      if (t.of > 1) {
        d.appendChild(el("div", "branch: contribution " + t.count + " of " + t.of +
          " to ∇" + t.input_name + " (they add up: +=)", "sum"));
      }
      box.appendChild(d);
    });
    return box;
  }
  function render(i) {
    current = Math.max(0, Math.min(steps.length - 1, i));
    slider.value = String(current);
    const step = steps[current];
    const node = nodes[step.node];
    mark(step);
    panel.replaceChildren();
    const head = el("h2", (step.phase === "forward" ? "Forward" : "Backward") +
      " · step " + (current + 1) + " of " + steps.length, "phase-" + step.phase);
    head.id = "step-label";
    panel.appendChild(head);
    const title = el("h3", node.name + (node.op ? "  (" + node.op + ")" : ""));
    title.id = "node-name";
    panel.appendChild(title);
    panel.appendChild(el("pre", step.line, "line"));
    const value = el("pre", "value: " + shown(node.value));
    value.id = "node-value";
    panel.appendChild(value);
    if (step.phase === "backward") {
      const grad = el("pre", "gradient ∇" + node.name + ": " + shown(node.grad));
      grad.id = "node-grad";
      panel.appendChild(grad);
      panel.appendChild(received(step, node));
      if (step.where) { panel.appendChild(el("div", "symbols: " + step.where, "where")); }
      panel.appendChild(terms(step));
    } else {
      step.operands.forEach(function (id) {
        panel.appendChild(el("pre", nodes[id].name + " = " + shown(nodes[id].value)));
      });
    }
    document.getElementById("position").textContent = (current + 1) + " / " + steps.length;
  }
  document.getElementById("prev").addEventListener("click", function () { render(current - 1); });
  document.getElementById("next").addEventListener("click", function () { render(current + 1); });
  slider.addEventListener("input", function () { render(parseInt(slider.value, 10)); });
  document.addEventListener("keydown", function (e) {
    if (e.key === "ArrowRight") { render(current + 1); e.preventDefault(); }
    if (e.key === "ArrowLeft") { render(current - 1); e.preventDefault(); }
  });
  render(0);
})();
"""


def page_html(data: dict[str, Any]) -> str:
    """The whole page: style, drawing, controls, panel, the data as JSON and the script."""
    payload = {k: v for k, v in data.items() if k != "svg"}
    # "</" would end the script element early; JSON reads "<\/" as "</"
    text = json.dumps(payload, ensure_ascii=False, allow_nan=False).replace("</", "<\\/")
    title = html.escape(data["title"])
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head><body>"
        f"<header><h1>{title}</h1>"
        '<div id="controls"><button id="prev" type="button">◀ Prev</button>'
        '<input id="slider" type="range" min="0" value="0" step="1" aria-label="step">'
        '<button id="next" type="button">Next ▶</button><span id="position"></span>'
        "<span>(← → keys)</span></div></header>"
        f'<main><div id="graph">{data["svg"]}</div><div id="panel"></div></main>'
        f'<script type="application/json" id="stepper-data">{text}</script>'
        f"<script>{_SCRIPT}</script></body></html>\n"
    )


__all__ = ["graph_svg", "layered_svg", "page_html"]
