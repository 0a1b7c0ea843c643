"""The ``nabla`` command line: train, evaluate, predict."""

from nabla.cli.main import main

__all__ = ["main"]
