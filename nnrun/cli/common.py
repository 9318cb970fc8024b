"""Shared CLI helpers: consoles and error printing."""

from __future__ import annotations

from functools import lru_cache

from rich.console import Console
from rich.markup import escape

from nnrun.errors import NnrunError, SpecError

__all__ = ["NnrunError", "console", "end_quickly", "ends_quickly", "err_console", "print_error"]

_quick_ending = [False]


def end_quickly() -> None:
    """Ask the process entry point (`nnrun.cli.app.entry`) to end this process without freeing
    its modules, once the command has returned: a command that loads large libraries without
    TensorFlow and writes every file itself (`nnrun sweep`: scikit-learn and pandas to check
    the data, matplotlib for the summary; freeing them took 0.2-0.5 s after the summary)."""
    _quick_ending[0] = True


def ends_quickly() -> bool:
    return _quick_ending[0]


@lru_cache(maxsize=1)
def console() -> Console:
    return Console(highlight=False, soft_wrap=True)


@lru_cache(maxsize=1)
def err_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_error(exc: NnrunError) -> None:
    con = err_console()
    if isinstance(exc, SpecError):
        count = len(exc.problems)
        con.print(f"[bold red]error:[/bold red] {count} problem{'s' if count != 1 else ''} in the config")
        for p in exc.problems[:30]:
            con.print(f"  {escape(p.render(exc.source))}", soft_wrap=True)
        if count > 30:
            con.print(f"  ... and {count - 30} more")
    else:
        con.print(f"[bold red]error:[/bold red] {escape(str(exc))}", soft_wrap=True)
