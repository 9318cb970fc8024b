"""A run's pictures, drawn in one background thread while the run closes.

The lifecycle hands each picture over as soon as what it shows is known (the curves once the
history is, the confusion matrix once the test split is evaluated) and goes on saving the
model, evaluating and diagnosing meanwhile; it waits for the pictures (`finish`) before
run.json says the run's final status. A picture's data is computed by the caller (the model
is only ever called from the run's own thread); the thread draws matplotlib Figures of its
own (no pyplot state) and writes each PNG atomically, so nothing is ever half a picture.

As with `nnrun.plots.draw_each`: a stop signal skips the pictures not yet drawn, and a
picture that fails is left out (a picture is never worth a run).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from typing import Any

_DONE = object()
#: How often the waiting thread wakes to let its signal handlers run.
POLL_SECONDS = 0.02


class Pictures:
    """Draw the pictures handed to `add`, in order, in one thread; `finish` waits for them."""

    def __init__(self, stopped: Callable[[], bool]) -> None:
        self._stopped = stopped
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._abort = threading.Event()
        self._thread: threading.Thread | None = None
        self.drawn = 0

    def add(self, figures: Iterable[Callable[[], Any]]) -> None:
        """Queue pictures (started at once if the thread runs)."""
        for figure in figures:
            self._jobs.put(figure)
        if self._thread is None:
            self._thread = threading.Thread(target=self._draw, name="nnrun-pictures", daemon=True)
            self._thread.start()

    def _draw(self) -> None:
        while (figure := self._jobs.get()) is not _DONE:
            if self._abort.is_set() or self._stopped():
                continue  # drain the queue: the caller is waiting for _DONE
            try:
                figure()
                self.drawn += 1
            except Exception:  # noqa: BLE001, S112 - a picture is never worth a run
                continue

    def finish(self) -> None:
        """Wait until every queued picture is drawn or skipped. The wait wakes every few
        hundredths of a second: a signal that the kernel handed to another thread is only
        handled when this (the main) thread runs Python again, and a stop signal must skip
        the pictures not drawn yet without waiting for all of them."""
        self._jobs.put(_DONE)
        if self._thread is not None:
            while self._thread.is_alive():
                self._thread.join(POLL_SECONDS)
            self._thread = None

    def abort(self) -> None:
        """Skip what is not drawn yet and wait for the picture being drawn (its file is then whole)."""
        self._abort.set()
        self.finish()
