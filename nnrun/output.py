"""Files the user names on the command line (`-o/--output`) and standard output.

One helper for every command that writes a user-named file (compare, report, plot, schema,
init, lr-find ...): the path is checked before any work (a folder, a missing parent, a
read-only folder), the file is written atomically and readable like any file the user
creates, and every failure is one clean `NnrunError` (exit code 2), as `train --out` gives.
Never imports TensorFlow.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from nnrun.errors import NnrunError


def check_output(path: Path, option: str = "--output", suffixes: Iterable[str] | None = None) -> Path:
    """Refuse an output path that cannot be written, before the command does its work."""
    path = Path(path).expanduser()
    allowed = tuple(suffixes) if suffixes is not None else ()
    if path.is_dir():
        example = path / f"out{allowed[0] if allowed else ''}"
        raise NnrunError(f"{option}: {path} is a folder; give a file name, e.g. {example}")
    if allowed and path.suffix.lower() not in allowed:
        raise NnrunError(f"{option}: give a name ending in {' or '.join(allowed)}. Received: {path}")
    parent = path.parent
    if not parent.is_dir():
        raise NnrunError(f"{option}: the folder {parent} does not exist")
    try:  # a real write: permissions, ACLs and read-only mounts all show here
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise NnrunError(f"{option}: cannot write in {parent}: {exc.strerror}") from None
    return path


def write_output(path: Path, data: str | bytes | Callable[[Path], None], option: str = "--output") -> Path:
    """Write a file the user asked for: atomically (a temporary file beside it, renamed), with the
    permissions the umask gives a new file. `data` may be a function that writes a given path
    (e.g. `fig.savefig`)."""
    from nnrun.runs.files import atomic_write_bytes

    path = check_output(path, option)
    try:
        if callable(data):
            tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
            try:
                data(tmp)
                os.replace(tmp, path)
            finally:
                if tmp.exists():
                    tmp.unlink()
        else:
            atomic_write_bytes(path, data.encode("utf-8") if isinstance(data, str) else data)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(path, 0o666 & ~mask)
    except OSError as exc:
        raise NnrunError(f"{option}: cannot write {path}: {exc.strerror or exc}") from None
    return path


def write_stdout(text: str) -> None:
    """Print `text` to standard output; a full disk or a closed pipe is one clean error."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        raise SystemExit(0) from None
    except OSError as exc:
        _silence_stdout()
        raise NnrunError(f"cannot write to standard output: {exc.strerror or exc}") from None


def _silence_stdout() -> None:
    """Python flushes stdout again at exit and would print a second error: point it at /dev/null."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
