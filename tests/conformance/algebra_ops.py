"""The op table: the algebra ops of the tensor surface (issue 16), against PyTorch."""

from __future__ import annotations
