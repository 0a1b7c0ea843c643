"""glibc's heap thresholds, started where an eager training loop needs them.

An eager step allocates its graph's arrays (activations, saved values, gradients) and frees them
all when the step ends. glibc's ``free`` gives memory back to the operating system whenever the
free space at the top of the heap exceeds its trim threshold, 128 KiB when a process starts, so
a step whose arrays total more than that can hand them back at its end and fault every page in
again in the next step: measured on a 2-core VM, 32 arrays of 32 KiB allocated and freed cost
216 page faults and 470-515 µs a cycle instead of 0 faults and 62-72 µs, and the forward pass
of a 10×64 ReLU net at batch 128 ran 1.7x slower (104 faults a step).

glibc raises both thresholds itself the first time it frees a block that it had mapped on its
own (mallopt(3), M_MMAP_THRESHOLD: "the threshold is adjusted upward to the size of the freed
block", and the trim threshold to twice that), which a process that ever frees a large array
reaches sooner or later, or never. :func:`prime` frees one such block at import, so the
adaptation starts at once: arrays below 31 MiB then come from the heap, and up to 62 MiB of
free heap stay in the process. The block is as large as glibc adapts to (its cap is 32 MiB,
header included): a convolution's patch matrices are megabytes (5 MB for LeNet-5's first
layer at batch 64), and with a 4 MiB block they were mapped and faulted in afresh every step
(3,700 page faults a step; the LeNet-5 step took 18.3 ms instead of 9.9). It changes no
setting (glibc keeps adapting afterwards, and ``MALLOC_*`` environment variables still win) and never lowers a threshold. Set
``NABLA_PRIME_HEAP=0`` to skip it.
"""

from __future__ import annotations

import os
import sys

import numpy as np

#: the size of the freed block: glibc's mmap threshold becomes this, its trim threshold twice it
#: (below DEFAULT_MMAP_THRESHOLD_MAX, 32 MiB on 64-bit, the largest size glibc adapts to)
PRIME_BYTES = 31 << 20


def prime(nbytes: int = PRIME_BYTES) -> bool:
    """Allocate and free one ``nbytes`` block through NumPy's allocator (its pages are never
    touched). Returns whether it ran: only on Linux with glibc, unless ``NABLA_PRIME_HEAP=0``."""
    if os.environ.get("NABLA_PRIME_HEAP", "1") == "0":
        return False
    if not sys.platform.startswith("linux") or not _glibc():
        return False
    block = np.empty(nbytes, dtype=np.uint8)
    del block
    return True


def _glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # no confstr, or a libc without the name
        return False
