"""``nabla`` entry point: argument parsing and the one place user errors become messages.

User mistakes (``NablaError``, missing files) and resource errors (``OSError``, ``MemoryError``,
``RecursionError``) print one line and exit with status 1, with no traceback; argparse usage
errors exit with status 2. Any other exception is a bug: it too becomes one line (naming the
exception type and where it was raised) unless ``NABLA_DEBUG=1``, which re-raises it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence

from nabla.errors import NablaError


class CLIError(NablaError):
    """A command-line mistake (bad option value, missing checkpoint...)."""


#: longest error message printed in full; longer ones keep their start and say how long they were
MAX_MESSAGE = 500


def shorten(text: str, limit: int = MAX_MESSAGE) -> str:
    """`text` on one line, cut to about `limit` characters (a long value can make a message huge)."""
    line = re.sub(r"\s*\n\s*", " ", text).strip()
    if len(line) <= limit:
        return line
    return f"{line[:limit]}... ({len(line) - limit} more characters)"


def _add_train(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "train",
        help="train a classifier (default: the notes' tanh + softmax network on digits)",
        description="Train a classifier and write the model, metrics and curves to --out.",
    )
    data = p.add_argument_group("data")
    data.add_argument(
        "--data",
        default="digits",
        help="digits, iris, wine, breast_cancer, a .csv or .npz file, or an MNIST IDX folder "
        "(default: digits)",
    )
    data.add_argument("--target", help="target column of a CSV (name or index; default: last)")
    data.add_argument("--val-split", type=float, default=0.1, help="validation fraction (0.1)")
    data.add_argument("--test-split", type=float, default=0.2, help="test fraction (0.2)")
    data.add_argument(
        "--no-standardize",
        dest="standardize",
        action="store_false",
        help="do not standardise features (default: fit mean/std on the training split)",
    )
    model = p.add_argument_group("model")
    model.add_argument("--model", choices=["mlp", "logistic"], default="mlp")
    model.add_argument("--hidden", default="128", help="hidden widths, e.g. 128,64 (default 128)")
    model.add_argument(
        "--activation", choices=["tanh", "sigmoid", "relu", "leaky_relu"], default="tanh"
    )
    model.add_argument("--dropout", type=float, default=0.0, help="dropout after hidden layers")
    model.add_argument("--batch-norm", action="store_true", help="BatchNorm1d after hidden layers")
    opt = p.add_argument_group("optimisation")
    opt.add_argument("--epochs", type=int, default=60)
    opt.add_argument("--batch-size", type=int, default=32)
    opt.add_argument(
        "--optimizer", choices=["sgd", "adam", "adamw", "rmsprop", "adagrad"], default="sgd"
    )
    opt.add_argument("--lr", type=float, help="learning rate (sgd 0.05, adagrad 0.01, else 1e-3)")
    opt.add_argument("--momentum", type=float, help="SGD momentum (default 0.9)")
    opt.add_argument("--weight-decay", type=float, default=1e-3, help="L2 weight decay (1e-3)")
    opt.add_argument(
        "--scheduler",
        choices=["cosine", "step", "exponential", "plateau", "none"],
        default="cosine",
        help="learning-rate schedule (default: cosine annealing over the epochs)",
    )
    opt.add_argument("--seed", type=int, default=1, help="seed for split, init and batches (1)")
    run = p.add_argument_group("output")
    run.add_argument("--out", default="runs/train", help="output folder (default runs/train)")
    run.add_argument(
        "--checkpoint-every", type=int, default=0, help="checkpoint every N epochs (0: at the end)"
    )
    run.add_argument("--resume", action="store_true", help="continue from --out's checkpoint")
    run.add_argument("--no-progress", dest="progress", action="store_false")
    run.add_argument("--no-plots", dest="plots", action="store_false", help="skip the PNG curves")
    run.add_argument(
        "--report",
        action="store_true",
        help="also write report.html: curves, the model graph, per-layer gradient and weight "
        "histograms over epochs, settings (one self-contained file)",
    )
    run.add_argument("-v", "--verbose", action="store_true", help="print one line per epoch")
    p.set_defaults(command_fn="train")


def _add_evaluate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "evaluate",
        help="accuracy, per-class precision/recall/F1 and confusion matrix of a saved model",
    )
    p.add_argument("model", help="a model file written by nabla train (model.safetensors)")
    p.add_argument("--data", required=True, help="data set name, .csv, .npz or IDX folder")
    p.add_argument("--target", help="target column of a CSV")
    p.add_argument(
        "--split",
        choices=["auto", "all", "train", "val", "test"],
        default="auto",
        help="which part to evaluate: the training run's held-out test split when --data is the "
        "training data (auto), or all rows",
    )
    p.add_argument("--plot", metavar="PNG", help="also draw the confusion matrix to this file")
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    p.set_defaults(command_fn="evaluate")


def _add_predict(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("predict", help="class and probabilities for each row of a CSV file")
    p.add_argument("model", help="a model file written by nabla train")
    p.add_argument(
        "input",
        help="CSV file of features (a header row with the feature names, "
        "or exactly the model's number of columns)",
    )
    p.add_argument("-o", "--output", help="write the predictions to this CSV (default: stdout)")
    p.set_defaults(command_fn="predict")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nabla",
        description="nabla: backpropagation made real. Train, evaluate and use neural networks.",
    )
    from nabla import __version__

    parser.add_argument("--version", action="version", version=f"nabla {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_train(sub)
    _add_evaluate(sub)
    _add_predict(sub)
    from nabla.cli.graph import add_graph_parser

    add_graph_parser(sub)
    from nabla.cli.bench import add_bench_parser

    add_bench_parser(sub)
    from nabla.cli.export import add_export_parser

    add_export_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nabla`` command; returns the exit status."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"] and not {"-h", "--help"} & set(argv[1:2]):
        # everything after `bench` belongs to `python -m benchmarks` (argparse.REMAINDER
        # cannot take options that start with "-")
        argv = ["bench", "--", *argv[1:]]
    args = parser.parse_args(argv)
    try:
        if args.command_fn == "train":
            from nabla.cli.train import run_train

            return run_train(args)
        if args.command_fn == "bench":
            from nabla.cli.bench import run_bench

            return run_bench(args)
        if args.command_fn == "graph":
            from nabla.cli.graph import run_graph

            return run_graph(args)
        if args.command_fn == "export":
            from nabla.cli.export import run_export

            return run_export(args)
        if args.command_fn == "evaluate":
            from nabla.cli.evaluate import run_evaluate

            return run_evaluate(args)
        from nabla.cli.predict import run_predict

        return run_predict(args)
    except NablaError as exc:
        print(f"nabla {args.command}: error: {shorten(str(exc))}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `nabla predict ... | head`: the reader left, which is fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:  # a folder that cannot be created, a disk that is full...
        print(f"nabla {args.command}: error: {shorten(str(exc))}", file=sys.stderr)
        return 1
    except MemoryError as exc:  # input too large for this machine: say so, no traceback
        detail = f" ({exc})" if str(exc) else ""
        print(f"nabla {args.command}: error: out of memory{detail}", file=sys.stderr)
        return 1
    except RecursionError:  # input nested too deeply for the interpreter's stack
        print(f"nabla {args.command}: error: input nested too deeply to process", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"nabla {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line for the user; NABLA_DEBUG=1 shows the traceback
        if os.environ.get("NABLA_DEBUG", "") not in ("", "0"):
            raise
        where = ""
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None:
            where = f" at {os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"
        detail = shorten(str(exc))
        print(
            f"nabla {args.command}: internal error: {type(exc).__name__}{where}"
            f"{': ' + detail if detail else ''} (set NABLA_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
