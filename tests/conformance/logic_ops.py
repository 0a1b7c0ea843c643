"""The op table: the logic ops of the tensor surface (issue 16), against PyTorch."""

from __future__ import annotations
