"""``nabla`` as ``mpiexec -n N python cli_worker.py train ...`` runs it, with a fault to inject.

``NABLA_TEST_FAULT=RANK:STEP:SIGNAL`` makes rank RANK send itself SIGNAL (``SIGINT``,
``SIGKILL``) right after its optimizer step STEP (counted over the whole run), so the tests
interrupt or kill a rank at a known point of the run.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from nabla.cli.main import main
from nabla.training import trainer


def _with_fault(init: Any) -> Any:
    def patched(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        rank, step, name = os.environ["NABLA_TEST_FAULT"].split(":")
        if int(os.environ.get("OMPI_COMM_WORLD_RANK", "0")) != int(rank):
            return

        def on_step(done: int, loss: float) -> None:
            if done == int(step):
                os.kill(os.getpid(), getattr(signal, name))

        self.on_step = on_step

    return patched


if __name__ == "__main__":
    if os.environ.get("NABLA_TEST_FAULT"):
        trainer.Trainer.__init__ = _with_fault(trainer.Trainer.__init__)  # type: ignore[method-assign]
    sys.exit(main(sys.argv[1:]))
