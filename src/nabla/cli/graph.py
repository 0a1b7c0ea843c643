"""``nabla graph``: draw the graph of a model's loss on one batch (SVG, PNG, PDF or DOT)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nabla.nn.registry import ACTIVATIONS


def add_graph_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "graph",
        help="draw the computational graph of a model's loss on one batch (svg/png/pdf/dot)",
        description="Draw the graph behind a model's loss on one batch of data: one node per "
        "op and per parameter, grouped by layer. Without MODEL, the notes' network "
        "(MLP [n_features, 128, n_classes], tanh) is built fresh. Rendering needs Graphviz's "
        "dot; without it the .dot file is written instead.",
    )
    p.add_argument("model", nargs="?", help="a model file written by nabla train (optional)")
    p.add_argument(
        "--data",
        help="data set for the batch (default: the model's training data, else digits)",
    )
    p.add_argument("--target", help="target column of a CSV")
    p.add_argument("--batch-size", type=int, default=8, help="rows in the batch (default 8)")
    p.add_argument("--out", default="graph.svg", help="output file (default graph.svg)")
    p.add_argument(
        "--format",
        choices=["svg", "png", "pdf", "dot"],
        help="output format (default: from the --out suffix)",
    )
    p.add_argument("--grads", action="store_true", help="show each node's gradient shape and norm")
    p.add_argument(
        "--no-clusters", dest="clusters", action="store_false", help="do not group by layer"
    )
    p.add_argument("--max-nodes", type=int, help="collapse all but the N nodes nearest the loss")
    p.add_argument(
        "--collapse", action="store_true", help="one box per module (layer) instead of per op"
    )
    p.add_argument(
        "--no-values", dest="values", action="store_false", help="do not print node values"
    )
    p.add_argument("--dpi", type=float, help="PNG resolution in dots per inch (default 150)")
    p.add_argument(
        "--explain", action="store_true", help="also print the backward pass, step by step"
    )
    p.add_argument(
        "--latex", action="store_true", help="with --explain: a Markdown table with LaTeX rules"
    )
    default = p.add_argument_group("default model (without MODEL)")
    default.add_argument("--hidden", default="128", help="hidden widths (default 128)")
    default.add_argument("--activation", choices=sorted(ACTIVATIONS), default="tanh")
    default.add_argument("--seed", type=int, default=1, help="initialisation seed (1)")
    p.set_defaults(command_fn="graph")


def _batch_and_model(args: argparse.Namespace) -> tuple[Any, Any, Any, Any]:
    """The model, a batch of its rows (X, y) and its loss function."""
    from nabla.creation import manual_seed
    from nabla.nn import MLP
    from nabla.nn.models import classification_loss
    from nabla.training.config import TrainConfig, parse_hidden
    from nabla.training.evaluation import RegressionLoss
    from nabla.training.prepare import prepare_data

    n = args.batch_size
    if args.model is not None:
        from nabla.cli.evaluate import load_model_and_metadata, same_data, training_data
        from nabla.cli.model_data import model_rows, model_task

        model, metadata = load_model_and_metadata(args.model)
        spec = args.data or training_data(args.model, metadata)
        rows = model_rows(
            spec,
            metadata,
            target=args.target,
            split="all",
            same_data=same_data(spec, metadata),
            model=model,
        )
        y = rows.y[:n]
        if model_task(metadata) == "regression":
            target = metadata.get("target") or {}
            y = (y - float(target.get("mean", 0.0))) / float(target.get("scale", 1.0))
            return model, rows.X[:n], y.astype("float32"), RegressionLoss("mse")
        return model, rows.X[:n], y, getattr(model, "loss", classification_loss)
    config = TrainConfig(
        data=args.data or "digits", target=args.target, val_split=0.0, test_split=0.0
    )
    data = prepare_data(config)
    manual_seed(args.seed)
    sizes = [data.n_features, *parse_hidden(args.hidden), data.n_outputs]
    model = MLP(sizes, activation=args.activation)
    loss = RegressionLoss("mse") if data.is_regression else classification_loss
    return model, data.X_train[:n], data.y_train[:n], loss


def run_graph(args: argparse.Namespace) -> int:
    import numpy as np

    from nabla.cli.main import CLIError
    from nabla.creation import tensor
    from nabla.viz.dot import to_dot, write_graph
    from nabla.viz.explain import explain

    if args.batch_size <= 0:
        raise CLIError(f"--batch-size must be positive, got {args.batch_size}")
    if args.max_nodes is not None and args.max_nodes <= 0:
        raise CLIError(f"--max-nodes must be positive, got {args.max_nodes}")
    if args.max_nodes is not None and args.collapse:
        raise CLIError("--collapse and --max-nodes cannot be combined: pick one way to shorten")
    if args.dpi is not None and not 0 < args.dpi <= 1200:
        raise CLIError(f"--dpi must be in (0, 1200], got {args.dpi}")
    model, X, y, loss_fn = _batch_and_model(args)
    model.train()  # the graph a training step differentiates (dropout, batch statistics)
    logits = model(tensor(np.asarray(X, dtype=model.dtype), name="X"))
    loss = loss_fn(logits, tensor(y, name="y"))
    text = to_dot(
        loss,
        grads=args.grads,
        cluster=args.clusters,
        max_nodes=args.max_nodes,
        values=args.values,
        collapse=args.collapse,
    )
    written, note = write_graph(text, args.out, args.format, dpi=args.dpi)
    if note is not None:
        print(f"nabla graph: {note}", file=sys.stderr)
    nodes = text.count(" [label=")
    print(f"wrote {written} ({nodes} nodes, batch of {len(X)})")
    if args.explain:
        trace = explain(loss, show=False)
        print(trace.to_markdown() if args.latex else trace.to_text())
    return 0
