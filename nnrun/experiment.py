"""One experiment end to end: config -> data -> model -> trainer -> run folder.

`prepare` does everything that can fail because of the user's input, without TensorFlow,
so that `validate` and `train` reject the same configs and a bad config never leaves a
run folder behind. `execute` then trains and writes the folder, keeping it consistent
whatever happens (completed, failed, interrupted or diverged).
"""

from __future__ import annotations

import math
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnrun.data import DataProblem, Dataset, prepare
from nnrun.errors import Problem, SpecError
from nnrun.runs import folder
from nnrun.runs.files import atomic_write_json, atomic_write_text, atomic_write_yaml, write_csv_rows
from nnrun.spec import Spec
from nnrun.spec.checks import DataFacts, static_facts
from nnrun.spec.loader import Document
from nnrun.spec.parse import dotted, load_spec, semantic_problems

#: Rewrite history.csv at most this often (seconds) while training; always at the end.
HISTORY_FLUSH_SECONDS = 1.0


@dataclass
class Prepared:
    spec: Spec
    doc: Document
    data: Dataset
    config_path: Path | None = None


def _data_error(exc: DataProblem, doc: Document) -> SpecError:
    return SpecError(
        [
            Problem(
                key=dotted(exc.key),
                message=exc.message,
                line=doc.line_of(exc.key),
                suggestion=exc.suggestion,
            )
        ],
        doc.source,
    )


def prepare_experiment(config: str | Path, overrides: list[str] | None = None) -> Prepared:
    """Load, validate and load the data; raises SpecError for anything the user must fix."""
    spec, doc = load_spec(config, overrides)
    return prepare_loaded(spec, doc, Path(config).resolve().parent, Path(config))


def prepare_loaded(spec: Spec, doc: Document, base: Path, config_path: Path | None = None) -> Prepared:
    try:
        data = prepare(spec, base)
    except DataProblem as exc:
        raise _data_error(exc, doc) from None
    if static_facts(spec) is None:
        facts = DataFacts(data.task, data.input_shape, data.n_classes, data.n_outputs)
        problems = semantic_problems(spec, facts, doc)
        if problems:
            raise SpecError(problems, doc.source)
    return Prepared(spec, doc, data, config_path)


@dataclass
class Outcome:
    run_dir: Path
    status: str
    record: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    signal: int | None = None

    @property
    def exit_code(self) -> int:
        if self.status == folder.INTERRUPTED:
            return 128 + (self.signal or signal.SIGINT)
        return 0 if self.status in (folder.COMPLETED, folder.DIVERGED) else 1


def seed_everything(seed: int) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # noqa: BLE001 - determinism is best effort on exotic builds
        pass


class _RunHooks:
    """Persist history while training and forward rows to the display."""

    def __init__(
        self,
        run_dir: Path,
        on_rows: Callable[[list[dict[str, float]]], None] | None,
        tensorboard: bool = False,
    ) -> None:
        from nnrun.train.base import Hooks

        self.base = Hooks()
        self.run_dir = run_dir
        self.on_rows = on_rows
        self.last_flush = 0.0
        self.tensorboard = None
        if tensorboard:
            from nnrun.integrations.tensorboard import TensorBoardLog

            self.tensorboard = TensorBoardLog(run_dir)
        base = self.base

        def epochs_done(rows: list[dict[str, float]]) -> None:
            base.rows.extend(rows)
            if self.tensorboard is not None:
                self.tensorboard.write(rows)
            if on_rows is not None:
                on_rows(rows)
            now = time.monotonic()
            if now - self.last_flush >= HISTORY_FLUSH_SECONDS:
                self.flush()
                self.last_flush = now

        base.epochs_done = epochs_done  # type: ignore[method-assign]

    def flush(self) -> None:
        if self.base.rows:
            write_csv_rows(self.run_dir / "history.csv", self.base.rows)
        if self.tensorboard is not None:
            self.tensorboard.flush()

    def close(self) -> None:
        """The last flush: training is over, whatever the outcome."""
        self.flush()
        if self.tensorboard is not None:
            self.tensorboard.close()


class Interrupted(KeyboardInterrupt):
    """A signal arrived before the run folder existed: nothing was written, nothing to keep."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class _Signals:
    """SIGINT/SIGTERM for the whole of `execute`, in two phases.

    Before the run folder exists there is nothing to keep, so a signal stops at once
    (`Interrupted`). Once it exists the first signal only asks to stop (the trainer stops
    after its current step, or training is skipped if it has not begun, or the evaluation
    finishes) and the run ends as `interrupted`; a second SIGINT aborts what is running
    (KeyboardInterrupt), after which the few writes that close the run are not interrupted
    again. A SIGINT that the parent ignores (a sweep worker) stays ignored.
    """

    def __init__(self) -> None:
        self.hooks: Any = None
        self.keep = False
        self.aborting = False
        self.received: int | None = None
        self.previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.aborting:
            return
        if not self.keep:
            self.received = signum
            raise Interrupted(signum)
        if self.received is not None and signum == signal.SIGINT:
            self.aborting = True
            raise KeyboardInterrupt
        self.received = self.received or signum
        if self.hooks is not None:
            self.hooks.stop_requested = True

    def attach(self, hooks: Any) -> None:
        self.hooks = hooks
        if self.received is not None:
            hooks.stop_requested = True

    def __enter__(self) -> _Signals:
        import threading

        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(s) is signal.SIG_IGN:
                    continue
                self.previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for s, h in self.previous.items():
            signal.signal(s, h)


def _quietly(action: Callable[[], Any]) -> None:
    """Best effort while closing a run that already failed: the first error is the one to report."""
    try:
        action()
    except Exception:  # noqa: BLE001
        pass


def execute(
    prepared: Prepared,
    out_root: Path,
    command: list[str] | None = None,
    on_rows: Callable[[list[dict[str, float]]], None] | None = None,
    on_start: Callable[[Path, str], None] | None = None,
    run_dir: Path | None = None,
    record_extra: dict[str, Any] | None = None,
) -> Outcome:
    """Train and write a complete run folder.

    Whatever happens once the folder exists, run.json ends with a final status:
    completed, diverged, interrupted (a signal; history, model and metrics so far) or
    failed (the exception is re-raised after it is recorded). Only a hard kill, or a disk
    too full to rewrite run.json, leaves it "running" (readers then show `crashed`).
    Raises `Interrupted` for a signal that arrives before the folder exists.
    """
    with _Signals() as signals:
        signals.keep = run_dir is not None  # a folder made by the caller (a sweep) is recorded
        from nnrun.tf_import import import_tensorflow

        import_tensorflow()
        from nnrun.build.model import build_model
        from nnrun.train.base import TrainResult
        from nnrun.train.select import choose

        spec, data = prepared.spec, prepared.data
        folder.ensure_writable(out_root)
        seed_everything(spec.seed)
        model = build_model(spec, data.input_shape)
        trainer, why_not_graph = choose(spec, data)

        created = run_dir is None
        signals.keep = True  # from here a signal is recorded in the run: never an empty folder
        run_dir = run_dir or folder.create_run_dir(out_root, spec.name)
        try:
            record = folder.RunRecord.start(
                run_dir,
                spec.name,
                spec.seed,
                command if command is not None else sys.argv,
                {
                    "config_source": str(prepared.config_path) if prepared.config_path else None,
                    "trainer": trainer.name,
                    "graph_trainer_skipped": why_not_graph,
                    **(record_extra or {}),
                },
            )
        except BaseException:
            if created:  # not even run.json could be written: leave no unreadable folder behind
                import shutil

                shutil.rmtree(run_dir, ignore_errors=True)
            raise
        hooks: _RunHooks | None = None
        t0 = time.perf_counter()
        try:
            atomic_write_yaml(run_dir / "config.yaml", spec.to_yaml_dict())
            atomic_write_json(run_dir / "preprocessing.json", data.preprocessing)
            lines: list[str] = []
            model.summary(print_fn=lambda text, line_break=True: lines.append(text))
            atomic_write_text(run_dir / "summary.txt", "\n".join(lines) + "\n")
            if on_start is not None:
                on_start(run_dir, trainer.name)
            hooks = _RunHooks(run_dir, on_rows, tensorboard=spec.training.tensorboard)
            signals.attach(hooks.base)
            t0 = time.perf_counter()
            if signals.received is None:
                result = trainer.train(model, spec, data, hooks.base)
            else:  # stopped while setting up: keep what there is (an untrained model)
                result = TrainResult(history=[], stop_reason="interrupted", stopped_epoch=0)
            train_seconds = time.perf_counter() - t0
            hooks.close()
            return _finish(model, spec, data, run_dir, record, result, train_seconds, signals)
        except KeyboardInterrupt:
            signals.aborting = True
            epochs = len(hooks.base.rows) if hooks is not None else 0
            if hooks is not None:
                _quietly(hooks.close)
            _quietly(lambda: _save_model(model, run_dir))
            record.finish(
                folder.INTERRUPTED,
                train_seconds=round(time.perf_counter() - t0, 3),
                epochs_run=epochs,
                stop_reason="interrupted",
            )
            return Outcome(run_dir, folder.INTERRUPTED, record.data, signal=signals.received or signal.SIGINT)
        except BaseException as exc:
            signals.aborting = True
            if hooks is not None:
                _quietly(hooks.close)
            error = {"type": type(exc).__name__, "message": str(exc).splitlines()[0][:500] if str(exc) else ""}
            _quietly(
                lambda: record.finish(
                    folder.FAILED,
                    train_seconds=round(time.perf_counter() - t0, 3),
                    epochs_run=len(hooks.base.rows) if hooks is not None else 0,
                    error=error,
                )
            )
            raise


def _save_model(model: Any, run_dir: Path) -> None:
    import os

    tmp = run_dir / ".model.tmp.keras"
    model.save(tmp)
    os.replace(tmp, run_dir / "model.keras")


def _finish(
    model: Any,
    spec: Spec,
    data: Dataset,
    run_dir: Path,
    record: folder.RunRecord,
    result: Any,
    train_seconds: float,
    signals: _Signals,
) -> Outcome:
    from nnrun import plots
    from nnrun.train.evaluate import evaluate

    status = {
        "diverged": folder.DIVERGED,
        "interrupted": folder.INTERRUPTED,
    }.get(result.stop_reason, folder.COMPLETED)
    facts = {
        "train_seconds": round(train_seconds, 3),
        "epochs_run": len(result.history),
        "stop_reason": result.stop_reason,
        "stopped_epoch": result.stopped_epoch,
        "best_epoch": result.best_epoch,
        "batches_per_epoch": result.batches_per_epoch,
        "total_updates": result.total_updates,
        **result.details,
    }
    if status == folder.DIVERGED:
        facts["hint"] = (
            f"the loss became NaN/inf at epoch {result.stopped_epoch}: lower optimizer.learning_rate "
            "(try 10x smaller) or standardize the inputs"
        )
    record.update(**facts)
    _save_model(model, run_dir)
    metrics: dict[str, Any] = {}
    if status != folder.DIVERGED:
        outputs = model.predict(data.x_test, batch_size=max(len(data.x_test), 1), verbose=0)
        test, rows = evaluate(outputs, data, spec.evaluation.threshold)
        test_loss = model.evaluate(
            data.x_test,
            data.y_test,
            batch_size=max(len(data.x_test), 1),
            verbose=0,
            return_dict=True,
        )
        test = {"loss": float(test_loss["loss"]), **test}
        write_csv_rows(run_dir / "predictions.csv", rows)
        metrics["test"] = test
        if "confusion_matrix" in test:
            plots.confusion_matrix(
                test["confusion_matrix"],
                test["class_names"],
                run_dir / "confusion_matrix.png",
                spec.name,
            )
    if result.history:
        last = result.history[-1]
        metrics["final"] = {k: v for k, v in last.items() if k != "epoch"}
        if result.best_epoch:
            metrics["best"] = {
                "epoch": result.best_epoch,
                **{k: v for k, v in result.history[result.best_epoch - 1].items() if k != "epoch"},
            }
        # compare reads this instead of parsing history.csv for thousands of runs
        finite = [r for r in result.history if math.isfinite(r.get("val_loss", math.nan))]
        if finite:
            low = min(finite, key=lambda r: r["val_loss"])
            metrics["best_val_loss"] = {"epoch": low["epoch"], "val_loss": low["val_loss"]}
    atomic_write_json(run_dir / "metrics.json", metrics)
    plots.curves(result.history, run_dir, spec.name)
    if signals.received is not None and status == folder.COMPLETED:
        status = folder.INTERRUPTED  # asked to stop while the finished model was being evaluated
    record.data["diagnosis"] = _diagnosis(result.history, status)
    record.finish(status)
    return Outcome(run_dir, status, record.data, metrics, signal=signals.received)


def _diagnosis(history: list[dict[str, float]], status: str) -> dict[str, Any]:
    from nnrun.diagnose import diagnose

    return diagnose(history, status).as_dict()
