"""Shell completion for paths: config files and run folders.

Typer generates the shell scripts (`nnrun --install-completion`, `--show-completion`); these
functions are the `autocompletion=` callbacks of arguments that take a config or a run
folder. Each returns candidate paths that start with what was typed: matching files, and
folders (ending in `/`) that have matches somewhere below. When only one folder matches,
its contents are offered at once, so `nnrun show <TAB>` goes straight to `runs/<name>/`
entries. Light on purpose: completion runs on every TAB press.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from nnrun.runs.layout import RunFolder

CONFIG_SUFFIXES = (".yaml", ".yml")
RUN_MARKER = RunFolder.RUN
#: How deep below a folder to look for something to complete (runs/<name>/<id>/run.json is 3).
SEARCH_DEPTH = 3
#: Folder entries examined per search at most, so a huge tree never stalls the shell.
SEARCH_BUDGET = 5000
#: How many single-folder matches to open in a row.
DESCEND_LIMIT = 4
SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages"})


def _entries(path: Path, show_hidden: bool) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(".") and not show_hidden:
            continue
        yield entry


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _has_below(path: Path, found: Callable[[os.DirEntry[str]], bool], depth: int, budget: list[int]) -> bool:
    """Whether some entry within `depth` levels below `path` satisfies `found`."""
    if depth <= 0:
        return False
    subdirs = []
    for entry in _entries(path, show_hidden=False):
        budget[0] -= 1
        if budget[0] < 0:
            return False
        if found(entry):
            return True
        if _is_dir(entry) and entry.name not in SKIP_DIRS:
            subdirs.append(Path(entry.path))
    return any(_has_below(sub, found, depth - 1, budget) for sub in subdirs)


def _complete(
    incomplete: str,
    is_target: Callable[[os.DirEntry[str]], bool],
    descend: int = DESCEND_LIMIT,
) -> list[str]:
    head, sep, tail = incomplete.rpartition("/")
    shown = head + sep  # what the user typed up to the last "/", kept verbatim
    base = Path(os.path.expanduser(head)) if sep else Path(".")
    if sep and not head:
        base = Path("/")
    targets: list[str] = []
    folders: list[str] = []
    for entry in _entries(base, show_hidden=tail.startswith(".")):
        if not entry.name.startswith(tail):
            continue
        if is_target(entry):
            targets.append(shown + entry.name)
        elif (
            _is_dir(entry)
            and entry.name not in SKIP_DIRS
            and _has_below(Path(entry.path), is_target, SEARCH_DEPTH, [SEARCH_BUDGET])
        ):
            folders.append(shown + entry.name + "/")
    if not targets and len(folders) == 1 and descend > 0:
        inner = _complete(folders[0], is_target, descend - 1)
        if inner:
            return inner
    return targets + folders


def _is_config(entry: os.DirEntry[str]) -> bool:
    return entry.name.endswith(CONFIG_SUFFIXES) and not _is_dir(entry)


def _is_run_dir(entry: os.DirEntry[str]) -> bool:
    return _is_dir(entry) and os.path.isfile(os.path.join(entry.path, RUN_MARKER))


def complete_config(incomplete: str) -> list[str]:
    """Config files (*.yaml, *.yml) and the folders that hold some."""
    return _complete(incomplete, _is_config)


def complete_run_dir(incomplete: str) -> list[str]:
    """Run folders (folders with a run.json) and the folders that hold some, e.g. runs/."""
    return _complete(incomplete, _is_run_dir)
