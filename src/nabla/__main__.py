"""``python -m nabla`` runs the ``nabla`` command."""

import sys

from nabla.cli.main import main

sys.exit(main())
