"""`python benchmarks/reap.py COMMAND...`: run COMMAND, then wait for every process it left behind.

The CPU seconds a benchmark reads (getrusage RUSAGE_CHILDREN) are those of the children it
waited for and of theirs, once waited for. A sweep's workers are forked by multiprocessing's
fork server, a child of the sweep process that outlives it by a moment and is never waited for
by it, so without this wrapper their CPU would not be counted. As a child subreaper (Linux),
this process inherits such orphans and waits for each, so all of their CPU is counted.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36

if __name__ == "__main__":
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1)
    code = subprocess.call(sys.argv[1:])
    while True:
        try:
            os.wait()
        except ChildProcessError:
            break
    sys.exit(code)
