"""The live training display: epoch, loss and validation loss, refreshed as epochs finish."""

from __future__ import annotations

from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class TrainingProgress:
    def __init__(self, epochs: int, label: str, enabled: bool = True) -> None:
        self.enabled = enabled
        self.epochs = epochs
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeElapsedColumn(),
            transient=False,
            disable=not enabled,
        )
        self.task = self.progress.add_task(label, total=epochs, stats="")

    def __enter__(self) -> TrainingProgress:
        return self

    def start(self) -> None:
        """Show the display; called once training begins, not while TensorFlow loads."""
        if self.enabled and not self.progress.live.is_started:
            self.progress.start()

    def __exit__(self, *exc: Any) -> None:
        if self.progress.live.is_started:
            self.progress.stop()

    def rows(self, rows: list[dict[str, float]]) -> None:
        if not rows:
            return
        last = rows[-1]
        stats = f"loss {last.get('loss', float('nan')):.4g}"
        if "val_loss" in last:
            stats += f"  val_loss {last['val_loss']:.4g}"
        self.progress.update(self.task, completed=int(last["epoch"]), stats=stats)
