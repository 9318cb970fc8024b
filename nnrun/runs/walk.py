"""Finding run folders below the paths a user gives: fast, bounded, and inside those paths.

A path may be a run folder, a sweep folder, or any folder holding them (nested up to
`MAX_DEPTH` levels). Hidden folders are not searched, and a symlinked folder *below* a given
path is not followed (a link to `/` would walk the whole filesystem); a path given on the
command line may itself be a symlink. lr-find folders (`nnrun lr-find`) are not runs and
are left out without a message. Never imports TensorFlow.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from nnrun.errors import NnrunError
from nnrun.runs.layout import RunFolder, SweepFolder, is_regular_file

#: How deep below each given path to look for run folders.
MAX_DEPTH = 6


@dataclass(frozen=True)
class Unreadable:
    """A folder that was skipped, and why."""

    dir: Path
    reason: str

    def line(self) -> str:
        return f"skipped {self.dir}: {self.reason}"


def find_runs(paths: Iterable[str | Path]) -> Iterator[tuple[Path, Path | None] | Unreadable]:
    """Run folders under `paths` as (run folder, sweep folder or None), plus skipped folders.

    A leaf folder with no run.json is reported as `Unreadable`. Raises NnrunError for a path
    that does not exist.
    """
    roots = [Path(p) for p in paths]
    for root in roots:
        if not root.exists():
            raise NnrunError(f"{root} does not exist")
        if not root.is_dir() and root.name != RunFolder.RUN:
            raise NnrunError(f"{root} is not a folder (expected a run folder, a sweep folder or a folder of runs)")
    return _find(roots)


def sweep_of(run_dir: Path) -> Path | None:
    """The sweep folder a run folder belongs to, if any."""
    return run_dir.parent if is_regular_file(run_dir.parent / SweepFolder.SWEEP) else None


def _find(roots: list[Path]) -> Iterator[tuple[Path, Path | None] | Unreadable]:
    seen: set[str] = set()  # real paths of the roots searched and of the runs found
    for root in roots:
        if root.name == RunFolder.RUN and root.is_file():
            root = root.parent
        real = os.path.realpath(root)
        if real in seen:
            continue
        if (root / RunFolder.RUN).is_file():
            seen.add(real)
            yield (root, sweep_of(root))
            continue
        if RunFolder.is_lr_find(root):
            continue
        yield from _walk(root, real, None, 0, seen, top=True)


def _walk(path: Path, real: str, sweep: Path | None, depth: int, seen: set[str], top: bool) -> Iterator[object]:
    # Speed matters with thousands of runs: one listing per folder that is *not* a run, one
    # stat per run folder.
    seen.add(real)
    try:
        with os.scandir(path) as it:
            entries = list(it)
    except OSError as exc:
        yield Unreadable(path, f"cannot list the folder: {exc.strerror}")
        return
    names = {e.name for e in entries}
    if SweepFolder.SWEEP in names:
        sweep = path
    subdirs = []
    for e in entries:
        if e.name.startswith((".", "__")):
            continue
        try:
            if e.is_dir(follow_symlinks=False):
                subdirs.append(e)
        except OSError:
            continue
    if not subdirs:
        if RunFolder.LR_FIND_JSON not in names:
            yield Unreadable(path, "no run folders here" if top else "not a run folder (no run.json)")
        return
    for e in sorted(subdirs, key=lambda e: e.name):
        sub_real = os.path.join(real, e.name)
        if sub_real in seen:
            continue
        if os.path.lexists(os.path.join(e.path, RunFolder.RUN)):
            seen.add(sub_real)
            yield (Path(e.path), sweep)
        elif depth + 1 <= MAX_DEPTH:
            yield from _walk(Path(e.path), sub_real, sweep, depth + 1, seen, top=False)
