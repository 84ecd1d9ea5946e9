"""python -m rdlab: the simulated Windows lab's command line (rdlab.cli)."""

import sys

from .cli import main

sys.exit(main())
