"""``nabla explore``: write the step-through page (:func:`nabla.viz.stepper`) of a built-in
example (a micrograd-style scalar expression, logistic regression, or the notes' one-hidden-
layer tanh + softmax network on a few examples) or of a saved model's loss on a few rows."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np


def micrograd_example() -> tuple[Any, dict[str, Any]]:
    """L = tanh((a·b + c)·a): ``a`` feeds two ops, so its gradient is a sum of two (the
    branch)."""
    import nabla as nb

    a = nb.tensor(2.0, requires_grad=True, name="a")
    b = nb.tensor(-3.0, requires_grad=True, name="b")
    c = nb.tensor(6.5, requires_grad=True, name="c")
    e = a * b
    d = e + c
    f = d * a
    loss = f.tanh()
    return loss, {"e": e, "d": d, "f": f, "L": loss}


def logistic_example(seed: int = 0) -> tuple[Any, dict[str, Any]]:
    """Logistic regression on 4 examples, written out as the notes do: z = Xw + b,
    p = σ(z), loss = −mean(y log p + (1 − y) log(1 − p))."""
    import nabla as nb

    rng = np.random.default_rng(seed)
    X = nb.tensor(rng.standard_normal((4, 3)), name="X")
    y = nb.tensor([1.0, 0.0, 1.0, 0.0], name="y")
    w = nb.tensor(rng.standard_normal(3) * 0.5, requires_grad=True, name="w")
    b = nb.tensor(0.1, requires_grad=True, name="b")
    z = X @ w + b
    p = nb.sigmoid(z)
    loss = -(y * nb.log(p) + (1.0 - y) * nb.log(1.0 - p)).mean()
    return loss, {"z": z, "p": p, "loss": loss}


def mlp_example(seed: int = 0) -> tuple[Any, dict[str, Any]]:
    """The notes' network: H = tanh(X W1ᵀ + b1), Ŷ = softmax(H W2ᵀ + b2), cross-entropy,
    on 3 examples with 4 features, 5 hidden units and 3 classes."""
    import nabla as nb

    rng = np.random.default_rng(seed)
    X = nb.tensor(rng.standard_normal((3, 4)), name="X")
    W1 = nb.tensor(rng.standard_normal((5, 4)) * 0.5, requires_grad=True, name="W1")
    b1 = nb.tensor(np.zeros(5), requires_grad=True, name="b1")
    W2 = nb.tensor(rng.standard_normal((3, 5)) * 0.5, requires_grad=True, name="W2")
    b2 = nb.tensor(np.zeros(3), requires_grad=True, name="b2")
    H = nb.tanh(X @ W1.T + b1)
    logits = H @ W2.T + b2
    loss = nb.nn.functional.cross_entropy(logits, nb.tensor([0, 2, 1]))
    return loss, {"H": H, "Y~": logits, "loss": loss}


#: --example name → the function that builds (loss, names)
EXAMPLES: dict[str, Callable[[], tuple[Any, dict[str, Any]]]] = {
    "micrograd": micrograd_example,
    "logistic": logistic_example,
    "mlp": mlp_example,
}


def add_explore_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "explore",
        help="write a page that steps through an example's forward and backward pass",
        description="Write one offline HTML page (no network; open it from disk) that steps "
        "through the forward pass and then the backward pass of a built-in example, or of a "
        "saved model's loss on the first rows of its data, node by node: values, gradients, "
        "each rule with its numbers, and the sums at branches.",
    )
    p.add_argument("model", nargs="?", help="a model file written by nabla train (optional)")
    p.add_argument(
        "--example",
        choices=sorted(EXAMPLES),
        help="micrograd: a scalar expression; logistic: logistic regression; mlp: the notes' "
        "tanh + softmax network (default micrograd, when no MODEL is given)",
    )
    p.add_argument(
        "--data", help="with MODEL: data set of the rows (default: the model's training data)"
    )
    p.add_argument("--target", help="with MODEL: target column of a CSV")
    p.add_argument("--rows", type=int, default=2, help="with MODEL: rows of the batch (2)")
    p.add_argument("--out", default="steps.html", help="output file (default steps.html)")
    p.add_argument(
        "--max-elements",
        type=int,
        default=24,
        help="tensors up to this size are shown in full (default 24)",
    )
    p.set_defaults(command_fn="explore")


def model_loss(args: argparse.Namespace) -> Any:
    """The loss of the saved model ``args.model`` on the first ``args.rows`` rows of its
    data (evaluation mode: no dropout)."""
    from nabla.cli.graph import _batch_and_model
    from nabla.creation import tensor

    batch = argparse.Namespace(
        model=args.model, data=args.data, target=args.target, batch_size=args.rows
    )
    model, X, y, loss_fn = _batch_and_model(batch)
    model.eval()
    logits = model(tensor(np.asarray(X, dtype=model.dtype), name="X"))
    return loss_fn(logits, tensor(y, name="y"))


def run_explore(args: argparse.Namespace) -> int:
    from nabla.cli.main import CLIError
    from nabla.viz.stepper import stepper

    if args.max_elements < 0:
        raise CLIError(f"--max-elements must be at least 0, got {args.max_elements}")
    if args.rows <= 0:
        raise CLIError(f"--rows must be positive, got {args.rows}")
    if args.model is not None and args.example is not None:
        raise CLIError("give either a MODEL file or --example, not both")
    if args.model is not None:
        loss, names, what = model_loss(args), None, f"{args.model}, {args.rows} rows"
    else:
        example = args.example or "micrograd"
        (loss, names), what = EXAMPLES[example](), f"example {example}"
    written = stepper(loss, args.out, names=names, max_elements=args.max_elements)
    print(f"wrote {written} ({what}); open it in a browser")
    return 0
