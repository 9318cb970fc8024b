"""Run `nnrun` in this process under an address-space limit (RLIMIT_AS) and write its peak
virtual size (VmPeak) to a file at exit, for the beyond-memory test:

    python tests/data/memory_limit.py LIMIT_BYTES PEAK_FILE nnrun-arguments...

LIMIT_BYTES 0 sets no limit. The limit is set before anything is imported, so everything the
process maps (Python, TensorFlow, the data) counts against it.
"""

from __future__ import annotations

import resource
import sys


def _peak() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmPeak:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmPeak in /proc/self/status")


if __name__ == "__main__":
    limit, peak_file = int(sys.argv[1]), sys.argv[2]
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sys.argv = ["nnrun", *sys.argv[3:]]
    from nnrun.cli.app import end_now, exit_code, main

    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exit_code(exc)
    except MemoryError as exc:
        print(f"MemoryError: {exc}", file=sys.stderr)
        code = 1
    with open(peak_file, "w") as out:
        out.write(str(_peak()))
    end_now(code)
