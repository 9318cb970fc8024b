"""The inline backend: every point trained in this process, one after another.

For small grids where starting worker processes (each importing TensorFlow) costs more than
the training: a notebook that has TensorFlow loaded already, `nnrun.sweep(..., workers=0)`.
Points are isolated as in a worker (`worker.run_point`: a fresh Keras session, its own seed
and run folder). A stop signal reaches the point's run first (it ends `interrupted`), and is
then passed on to the sweep's own handler, so the sweep stops as it does with workers.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from nnrun.runs.layout import Status
from nnrun.sweep.backend import Backend, Event
from nnrun.sweep.worker import Task, run_point


class InlineBackend(Backend):
    name = "inline"
    slots = 1
    threads = 0  # this process's own TensorFlow settings

    def __init__(self) -> None:
        self.task: Task | None = None

    def start(self, log_dir: Path | None = None) -> None:
        pass

    def free_slots(self) -> int:
        return 0 if self.task is not None else 1

    def submit(self, task: Task) -> None:
        self.task = task

    def busy(self) -> set[int]:
        return {self.task.index} if self.task is not None else set()

    def poll(self, timeout: float) -> list[Event]:
        task, self.task = self.task, None
        if task is None:
            return []
        result: dict[str, Any] = run_point(task)
        if result.get("status") == Status.INTERRUPTED:
            handler = signal.getsignal(signal.SIGINT)
            if callable(handler):  # the sweep's SweepSignals: count the stop the run consumed
                handler(signal.SIGINT, None)
        return [Event("started", task.index), Event("done", task.index, result)]

    def interrupt(self) -> None:
        pass  # nothing runs between polls

    def kill(self) -> None:
        self.task = None

    def close(self, wait: bool = True) -> None:
        self.task = None
