"""``nabla`` entry point: argument parsing and the one place user errors become messages.

User mistakes (``NablaError``, missing files) and resource errors (``OSError``, ``MemoryError``,
``RecursionError``) print one line and exit with status 1, with no traceback; argparse usage
errors exit with status 2. Any other exception is a bug: it too becomes one line (naming the
exception type and where it was raised) unless ``NABLA_DEBUG=1``, which re-raises it.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Sequence

from nabla.errors import NablaError


class CLIError(NablaError):
    """A command-line mistake (bad option value, missing checkpoint...)."""


#: command → (module, function) that runs it; the module is imported when the command runs
COMMANDS = {
    "train": ("nabla.cli.train", "run_train"),
    "evaluate": ("nabla.cli.evaluate", "run_evaluate"),
    "predict": ("nabla.cli.predict", "run_predict"),
    "graph": ("nabla.cli.graph", "run_graph"),
    "bench": ("nabla.cli.bench", "run_bench"),
    "export": ("nabla.cli.export", "run_export"),
    "explore": ("nabla.cli.explore", "run_explore"),
}

#: longest error message printed in full; longer ones keep their start and say how long they were
MAX_MESSAGE = 500


def shorten(text: str, limit: int = MAX_MESSAGE) -> str:
    """`text` on one line, cut to about `limit` characters (a long value can make a message huge)."""
    line = re.sub(r"\s*\n\s*", " ", text).strip()
    if len(line) <= limit:
        return line
    return f"{line[:limit]}... ({len(line) - limit} more characters)"


def _add_evaluate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "evaluate",
        help="a saved model's scores: accuracy, per-class precision/recall/F1 and the confusion "
        "matrix, or RMSE, MAE and R² for a regression",
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
    _add_reading(p)
    p.add_argument(
        "--plot",
        metavar="PNG",
        help="also draw the confusion matrix (a regression: predicted vs true and residuals)",
    )
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    p.set_defaults(command_fn="evaluate")


def _add_reading(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--delimiter", help="field separator of a CSV, e.g. ';' or '\\t' (default: detected)"
    )
    p.add_argument(
        "--encoding", help="text encoding of a CSV (default: the training file's, else UTF-8)"
    )
    p.add_argument(
        "--decimal",
        choices=[".", ","],
        help="decimal mark of a CSV's numbers (default: detected, as in training)",
    )


def _add_predict(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "predict", help="class and probabilities (or the predicted value) for each row of a CSV"
    )
    p.add_argument("model", help="a model file written by nabla train")
    p.add_argument(
        "input",
        help="CSV file of rows (a header row with the model's column names, in any order; "
        "other columns are ignored), encoded as in training",
    )
    p.add_argument(
        "-o", "--output", help="write the predictions to this CSV (default, or -: stdout)"
    )
    _add_reading(p)
    p.add_argument(
        "--id",
        dest="id_column",
        help="copy this column into the output as the first column (default: the training "
        "run's --id, when the file has it)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="refuse text categories not seen in training (default: the model's policy)",
    )
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
    from nabla.cli.train import add_train_parser

    add_train_parser(sub)
    _add_evaluate(sub)
    _add_predict(sub)
    from nabla.cli.graph import add_graph_parser

    add_graph_parser(sub)
    from nabla.cli.bench import add_bench_parser

    add_bench_parser(sub)
    from nabla.cli.export import add_export_parser

    add_export_parser(sub)
    from nabla.cli.explore import add_explore_parser

    add_explore_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nabla`` command; returns the exit status.

    Under ``mpiexec`` a rank that fails (any status but 0 and 130, which every rank of a
    data-parallel run returns together after Ctrl-C) ends every rank of the job at once,
    instead of leaving the others waiting in their next collective.
    """
    status = _main(argv)
    if status not in (0, 130) and "nabla.distributed" in sys.modules:
        from nabla.distributed import exit_status

        exit_status(status, "see its error above")
    return status


def _main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"] and not {"-h", "--help"} & set(argv[1:2]):
        # everything after `bench` belongs to `python -m benchmarks` (argparse.REMAINDER
        # cannot take options that start with "-")
        argv = ["bench", "--", *argv[1:]]
    args = parser.parse_args(argv)
    args.argv = argv  # what was typed, for `nabla train`'s resume command
    try:
        module, function = COMMANDS[args.command_fn]
        return int(getattr(importlib.import_module(module), function)(args))
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
        print(f"nabla {args.command}: {internal_error(exc)}", file=sys.stderr)
        return 1


def internal_error(exc: BaseException) -> str:
    """One line for an unexpected exception: its type, where it was raised, its message."""
    where = ""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        where = f" at {os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"
    detail = shorten(str(exc))
    return (
        f"internal error: {type(exc).__name__}{where}"
        f"{': ' + detail if detail else ''} (set NABLA_DEBUG=1 for the traceback)"
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
