"""The reference trainer: Keras `model.fit`, with callbacks feeding the same hooks."""

from __future__ import annotations

import contextlib
from typing import Any

import keras
import numpy as np

from nnrun.data import Dataset
from nnrun.spec import Spec
from nnrun.train.base import (
    Hooks,
    Row,
    Trainer,
    TrainResult,
    batch_size,
    batches_per_epoch,
    non_finite,
)


def current_learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
    """The rate the next update will use (the schedule evaluated at the current step)."""
    lr = optimizer._learning_rate  # noqa: SLF001 - the schedule itself, not its last value
    if isinstance(lr, keras.optimizers.schedules.LearningRateSchedule):
        return float(keras.ops.convert_to_numpy(lr(optimizer.iterations)))
    return float(keras.ops.convert_to_numpy(lr))


class _Bridge(keras.callbacks.Callback):
    def __init__(self, hooks: Hooks) -> None:
        super().__init__()
        self.hooks = hooks
        self.lr = 0.0
        self.diverged_at: int | None = None
        self.interrupted = False

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.lr = current_learning_rate(self.model.optimizer)

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        if self.hooks.stop_requested:
            self.interrupted = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        row: Row = {"epoch": epoch + 1}
        for k, v in (logs or {}).items():
            if k != "learning_rate":
                row[k] = float(v)
        row["learning_rate"] = self.lr
        self.hooks.epochs_done([row])
        if non_finite(row):
            self.diverged_at = epoch + 1
            self.model.stop_training = True
        if self.hooks.stop_requested:
            self.interrupted = True
            self.model.stop_training = True


class FitTrainer(Trainer):
    name = "fit"

    def train(self, model: keras.Model, spec: Spec, data: Dataset, hooks: Hooks) -> TrainResult:
        n = len(data.x_train)
        bs = batch_size(spec, n)
        from nnrun.inspect.recorder import recorder_for

        bridge = _Bridge(hooks)
        recorder = recorder_for(model, spec, data)
        callbacks: list[keras.callbacks.Callback] = [recorder.callback()] if recorder else []
        callbacks.append(bridge)
        es = spec.training.early_stopping
        stopper = None
        if es is not None:
            stopper = keras.callbacks.EarlyStopping(
                monitor=es.monitor,
                patience=es.patience,
                min_delta=es.min_delta,
                mode=es.resolved_mode,
                restore_best_weights=es.restore_best_weights,
            )
            callbacks.append(stopper)
        start_rows = len(hooks.rows)
        from nnrun.data.stream import EVAL_BATCH

        if data.streamed:  # tf.data pipelines that read the files batch by batch
            from nnrun.train.stream import pipeline

            inputs: dict[str, Any] = {
                "x": pipeline(data.x_train, data.y_train, bs, spec.seed if spec.training.shuffle else None),  # type: ignore[arg-type]
                "validation_data": pipeline(data.x_val, data.y_val, EVAL_BATCH),  # type: ignore[arg-type]
                "shuffle": False,  # the pipeline shuffles
            }
        else:
            inputs = {
                "x": data.x_train,
                "y": data.y_train,
                "batch_size": bs,
                "validation_data": (data.x_val, data.y_val),
                # the graph trainer's batches (`GraphTrainer._validate`): one up to EVAL_BATCH rows
                "validation_batch_size": min(max(len(data.x_val), 1), EVAL_BATCH),
                "shuffle": spec.training.shuffle,
            }
        with recorder.watching() if recorder else contextlib.nullcontext():
            model.fit(**inputs, epochs=spec.training.epochs, callbacks=callbacks, verbose=0)
        history = hooks.rows[start_rows:]
        epochs_run = len(history)
        result = TrainResult(
            history=history,
            stop_reason="completed",
            batches_per_epoch=batches_per_epoch(spec, n),
        )
        result.total_updates = result.batches_per_epoch * epochs_run
        if recorder is not None:
            result.inspection = recorder.finish()
        if bridge.diverged_at is not None:
            result.stop_reason = "diverged"
            result.stopped_epoch = bridge.diverged_at
        elif bridge.interrupted:
            result.stop_reason = "interrupted"
            result.stopped_epoch = epochs_run
        elif stopper is not None and stopper.stopped_epoch > 0:
            result.stop_reason = "early_stopping"
            result.stopped_epoch = epochs_run
        if stopper is not None and history and stopper.best is not None and np.isfinite(stopper.best):
            result.best_epoch = int(stopper.best_epoch) + 1
        return result
