"""The op table: the numeric extras of the tensor surface (issue 16), against PyTorch."""

from __future__ import annotations
