"""python -m rdlab: the simulated Windows lab's command line (rdlab.cli)."""

import os
import sys

from .cli import main

try:
    status = main()
    sys.stdout.flush()
except BrokenPipeError:
    # The reader went away (`rdlab show HOST | head`): as other command-line tools, stop quietly. Python's
    # documentation (library/signal, "Note on SIGPIPE"): point stdout at devnull so the exit's flush cannot fail.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    status = 1
sys.exit(status)
