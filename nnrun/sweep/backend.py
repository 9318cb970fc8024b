"""What the sweep runner needs from a backend: slots, submit, poll, stop.

A backend runs `worker.Task`s somewhere (local worker processes, Ray tasks) and reports
back with `Event`s; it keeps no sweep state. The runner decides what to submit and when to
stop, so both backends share every rule about statuses, resume and Ctrl-C.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from nnrun.sweep.worker import Task


@dataclass
class Event:
    """`started`: a worker began the point. `done`: the point ended; `result` is what
    `worker.run_point` returned (status, run_dir, error, ...)."""

    kind: Literal["started", "done"]
    index: int
    result: dict[str, Any] = field(default_factory=dict)


class Backend(ABC):
    name: str
    #: How many points run at once.
    slots: int
    #: Threads each worker's TensorFlow uses.
    threads: int

    def launch(self) -> None:  # noqa: B027 - optional: the default starts nothing early
        """Begin loading what the workers need before the sweep folder exists (the local
        backend's fork server imports TensorFlow), while the sweep process checks the data;
        `start` follows, or `kill` if the sweep does not begin. Default: nothing."""

    @abstractmethod
    def start(self, log_dir: Path | None = None) -> None:
        """Start the workers (may return before they are ready); their output goes to `log_dir`."""

    @abstractmethod
    def free_slots(self) -> int: ...

    @abstractmethod
    def submit(self, task: Task) -> None: ...

    @abstractmethod
    def poll(self, timeout: float) -> list[Event]:
        """Events since the last call, waiting up to `timeout` seconds for the first one."""

    @abstractmethod
    def busy(self) -> set[int]:
        """Indices of the points submitted and not yet done."""

    @abstractmethod
    def interrupt(self) -> None:
        """Ask running points to stop after their current step; safe to call repeatedly."""

    @abstractmethod
    def kill(self) -> None:
        """Stop every worker at once (a second Ctrl-C)."""

    @abstractmethod
    def close(self, wait: bool = True) -> None:
        """Stop the workers. `wait=False` (every point is final): they may end in the
        background, while the summary is written, but before this process ends."""
