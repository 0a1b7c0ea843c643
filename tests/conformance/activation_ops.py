"""The op table: the activations and distances of nn.functional added for issue 16, against PyTorch."""

from __future__ import annotations
