"""Is the process behind a "running" record still alive? And so: which status to show.

One answer for every reader (compare, show, report, predict, the sweep summary) and for the
sweep's own checks (resume refuses a sweep whose process still runs). Same host: the pid
must exist and must not be a newer process that reuses it (its start time, from /proc).
Another host: no file in the folder changed for `STALE_SECONDS`. Never imports TensorFlow.
"""

from __future__ import annotations

import datetime as _dt
import os
import socket
import time
from pathlib import Path

from nnrun.runs.layout import RunFolder, Status
from nnrun.runs.records import RunJson

#: A "running" run on another host whose folder has not changed for this long is crashed.
STALE_SECONDS = 3600.0


def parse_time(value: object) -> _dt.datetime | None:
    """An ISO time from a record (local time if it has no zone); None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        parsed = _dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.astimezone()


def process_start(pid: int) -> float | None:
    """When `pid` started (Unix time), from /proc; None where /proc is not available."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return int(line.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    return None


def pid_exists(pid: int) -> bool:
    """Whether a process with this pid exists on this host (someone else's counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def same_process(pid: int, started: _dt.datetime | None) -> bool:
    """Whether `pid` is alive and is the process that started at `started` (not a later one)."""
    if not pid_exists(pid):
        return False
    began = process_start(pid)
    return not (started is not None and began is not None and began > started.timestamp() + 2)


def is_alive(record: RunJson, run_dir: Path) -> bool:
    """Whether the process that wrote a "running" run.json still runs it."""
    pid = record.pid
    if record.host != socket.gethostname() or pid is None or pid <= 0:
        run = RunFolder(run_dir)
        newest = 0.0
        for path in (run.run_json, run.history):
            try:
                newest = max(newest, path.stat().st_mtime)
            except OSError:
                pass
        return time.time() - newest < STALE_SECONDS
    return same_process(pid, parse_time(record.started))


def current_status(record: RunJson, run_dir: Path) -> Status | None:
    """The status to show for a run: run.json's, except `crashed` for a dead "running" run.

    None when run.json holds no valid status.
    """
    status = record.status
    if status == Status.RUNNING and not is_alive(record, run_dir):
        return Status.CRASHED
    return status
