"""Making a run folder `<root>/<name>/<YYYYMMDD-HHMMSS>-<6 hex>/` and writing its run.json.

The files of a run folder, the statuses and the record formats are defined in
`nnrun.runs.layout`.
"""

from __future__ import annotations

import datetime as _dt
import os
import secrets
import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

from nnrun.errors import NnrunError
from nnrun.runs.files import atomic_write_json
from nnrun.runs.layout import RunFolder, Status
from nnrun.runs.records import RunJson

MIN_FREE_BYTES = 50 * 1024 * 1024


def now() -> _dt.datetime:
    return _dt.datetime.now().astimezone()


def ensure_writable(root: Path) -> None:
    """Fail before training if the output root cannot take a run."""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NnrunError(f"cannot create the output directory {root}: {exc.strerror}") from None
    if not root.is_dir():
        raise NnrunError(f"the output directory {root} is not a directory")
    # a real write, not os.access: root passes access checks, and ACLs or a read-only mount differ
    try:
        fd, probe = tempfile.mkstemp(prefix=".nnrun-probe-", dir=root)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise NnrunError(f"the output directory {root} is not writable: {exc.strerror}") from None
    free = shutil.disk_usage(root).free
    if free < MIN_FREE_BYTES:
        raise NnrunError(
            f"only {free // (1024 * 1024)} MiB free in {root}; a run needs at least "
            f"{MIN_FREE_BYTES // (1024 * 1024)} MiB"
        )


def create_run_dir(root: Path, name: str, prefix: str = "") -> Path:
    """A fresh, unique folder; two runs started in the same second never collide.

    `name` must be one plain path component (the spec's pattern guarantees it), so a run
    folder is always inside `root`.
    """
    if not name or name in (".", "..") or Path(name).name != name or "/" in name or "\\" in name:
        raise NnrunError(f"a run name must be a single folder name inside the output root. Received: name={name!r}")
    parent = root / name
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NnrunError(f"{parent} exists and is not a directory") from None
    stamp = now().strftime("%Y%m%d-%H%M%S")
    for _ in range(100):
        path = parent / f"{prefix}{stamp}-{secrets.token_hex(3)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise NnrunError(f"could not create a unique run folder under {parent}")


def versions() -> dict[str, str]:
    import platform

    from nnrun import __version__

    out = {"nnrun": __version__, "python": platform.python_version()}
    for mod in ("tensorflow", "keras", "numpy"):
        m = sys.modules.get(mod)
        if m is not None:
            out[mod] = getattr(m, "__version__", "?")
    return out


class RunRecord:
    """run.json, a `RunJson` rewritten atomically on every change of state."""

    def __init__(self, path: Path, json: RunJson) -> None:
        self.dir = path
        self.json = json
        #: The exact start time when this process started the run (run.json keeps whole seconds).
        self.t0: _dt.datetime | None = None

    @classmethod
    def start(
        cls, path: Path, name: str, seed: int, command: list[str], extra: dict[str, Any] | None = None
    ) -> RunRecord:
        started = now()
        record = cls(
            path,
            RunJson.new(
                id=path.name,
                name=name,
                status=Status.RUNNING,
                started=started.isoformat(timespec="seconds"),
                ended=None,
                duration_seconds=None,
                train_seconds=None,
                seed=seed,
                command=command,
                cwd=os.getcwd(),
                pid=os.getpid(),
                host=socket.gethostname(),
                versions=versions(),
                **(extra or {}),
            ),
        )
        record.t0 = started
        record.save()
        return record

    @property
    def data(self) -> dict[str, Any]:
        """run.json as it is written (a copy: change it with `update`, `set` or `finish`)."""
        return self.json.to_data()

    def started_at(self) -> _dt.datetime | None:
        """When the run began, so `finish` can fill in the duration (also for a run read back)."""
        if self.t0 is not None:
            return self.t0
        try:
            return _dt.datetime.fromisoformat(self.json.started or "")
        except ValueError:
            return None

    def set(self, **fields: Any) -> None:
        """Change fields without writing the file yet."""
        self.json.set(**fields)

    def update(self, **fields: Any) -> None:
        self.json.set(**fields)
        self.save()

    def finish(self, status: str, **fields: Any) -> None:
        ended = now()
        t0 = self.started_at()
        self.json.set(**fields)
        self.json.set(status=status, ended=ended.isoformat(timespec="seconds"))
        if t0 is not None:
            self.json.set(duration_seconds=round((ended - t0).total_seconds(), 3))
        self.json.set(versions=versions())
        self.save()

    def save(self) -> None:
        atomic_write_json(RunFolder(self.dir).run_json, self.json.to_data())
