"""Error classes shared by every layer of nnrun.

`NnrunError` is what the CLI turns into a clean message and exit code 2. `SpecError`
carries one `Problem` per thing wrong with a config so they can all be shown at once.
`RunFailed` is a run that went wrong but should be recorded (a sweep keeps going);
`Fatal` stops everything.
"""

from __future__ import annotations

from dataclasses import dataclass


class NnrunError(ValueError):
    """An error caused by the user's input: shown without a traceback, exit code 2."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config."""

    key: str
    message: str
    line: int | None = None
    suggestion: str | None = None

    def render(self, source: str | None) -> str:
        where = source or "<config>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        text = f"{where}: {self.key or '(top level)'}: {self.message}"
        if self.suggestion is not None:
            text += f" (did you mean '{self.suggestion}'?)"
        return text


class SpecError(NnrunError):
    """A config that does not validate; holds every problem found."""

    def __init__(self, problems: list[Problem], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(p.render(self.source) for p in self.problems)


class RunFailed(RuntimeError):
    """A run that failed; it is recorded as failed and a sweep carries on."""


class Fatal(RuntimeError):
    """An error that must stop everything (e.g. the output root is unwritable)."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (or a notebook's interrupt) stopped `nnrun.train` / `nnrun.sweep` once the run
    folder existed: what was trained is kept, marked interrupted, and is `result` (a `Run` or
    a `Sweep`). A KeyboardInterrupt, so a cell or script still stops there."""

    def __init__(self, message: str, result: object) -> None:
        super().__init__(message)
        self.result = result
