"""Writing a run's epochs as they finish: history.csv, TensorBoard and the live display."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from nnrun.runs.history import HistoryFile
from nnrun.runs.layout import RunFolder
from nnrun.train.base import Hooks, Row

#: Append to history.csv at most this often (seconds) while training; always at the end.
HISTORY_FLUSH_SECONDS = 1.0


class RunHooks(Hooks):
    """The hooks a run hands its trainer: keep the rows, persist them, forward them to the display."""

    def __init__(
        self,
        run_dir: Path,
        on_rows: Callable[[list[Row]], None] | None = None,
        tensorboard: bool = False,
    ) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.on_rows = on_rows
        self.last_flush = 0.0
        self.history = HistoryFile(RunFolder(run_dir).history)
        self.tensorboard = None
        if tensorboard:
            from nnrun.integrations.tensorboard import TensorBoardLog

            self.tensorboard = TensorBoardLog(run_dir)

    def epochs_done(self, rows: list[Row]) -> None:
        super().epochs_done(rows)
        if self.tensorboard is not None:
            self.tensorboard.write(rows)
        if self.on_rows is not None:
            self.on_rows(rows)
        now = time.monotonic()
        if now - self.last_flush >= HISTORY_FLUSH_SECONDS:
            self.flush()
            self.last_flush = now

    def flush(self) -> None:
        self.history.append(self.rows[self.history.rows_written :])
        if self.tensorboard is not None:
            self.tensorboard.flush()

    def close(self) -> None:
        """The last flush: training is over, whatever the outcome."""
        try:
            self.flush()
        finally:
            self.history.close()
        if self.tensorboard is not None:
            self.tensorboard.close()
