"""Atomic file writes: write a temporary file beside the target, fsync, rename.

A crash, a kill or a full disk therefore leaves either the old file or the new one,
never half of one. The file gets the permissions any new file gets (0666 less the umask),
not mkstemp's private 0600, so a shared runs folder stays readable by the people it is
shared with. Never imports TensorFlow.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

_UMASK: int | None = None


def umask() -> int:
    """The process's umask, read once. From /proc where it says (Linux 4.7+), because
    `os.umask` can only be read by setting it, which races with threads creating files."""
    global _UMASK
    if _UMASK is None:
        try:
            with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
                for line in fh:
                    if line.startswith("Umask:"):
                        _UMASK = int(line.split()[1], 8)
                        break
        except (OSError, ValueError, IndexError):
            pass
        if _UMASK is None:
            _UMASK = os.umask(0o022)
            os.umask(_UMASK)
    return _UMASK


def file_mode() -> int:
    """The mode a new regular file gets: 0666 less the umask."""
    return 0o666 & ~umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), file_mode())
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError) and exc.errno is not None:
            # name the file the user knows, not the temporary one (a full disk, a quota)
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: write them as null (the status says what happened)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _clean(value.item())
    return value


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(_clean(data), indent=2, sort_keys=False, allow_nan=False) + "\n")


def atomic_write_yaml(path: Path, data: Any) -> None:
    import yaml

    atomic_write_text(path, yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100))


def write_csv_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write a list of dicts as CSV (columns in first-seen order), atomically."""
    import csv
    import io

    columns: list[str] = []
    for row in rows:
        for k in row:
            if k not in columns:
                columns.append(k)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_cell(v) for k, v in row.items()})
    atomic_write_text(path, buf.getvalue())


def csv_cell(v: Any) -> Any:
    """A value as nnrun writes it in CSV: floats exactly (repr), nan/inf spelled out."""
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))
    return v
