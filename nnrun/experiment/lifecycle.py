"""The run lifecycle: build, train and close one run folder, whatever happens.

Once the folder exists, run.json ends with a final status: completed, diverged,
interrupted (a signal; history, model and metrics so far) or failed (the exception is
re-raised after it is recorded).

run.json says the final status only once every file of the run is written, pictures included.
`execute` waits for that, unless given `then` (a sweep worker): it then returns as soon as the
run's own thread is done with it, and the drawing thread (`nnrun.experiment.pictures`) writes
the final status after the run's pictures and calls `then` with the final `Outcome`, while the
caller goes on (the next point trains). `wait_closed` waits for every such run.
"""

from __future__ import annotations

import gc
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nnrun.experiment import artefacts
from nnrun.experiment import pictures as drawing
from nnrun.experiment.pictures import Pictures
from nnrun.experiment.prepare import Prepared
from nnrun.inspect import artefacts as inside
from nnrun.runs import folder
from nnrun.runs.files import atomic_write_text, atomic_write_yaml
from nnrun.runs.layout import RunFolder, Status
from nnrun.signals import RunSignals
from nnrun.spec import Spec
from nnrun.train.base import Row, TrainResult, batches_per_epoch


@dataclass
class Outcome:
    run_dir: Path
    status: str
    record: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    signal: int | None = None
    #: False while the run's pictures are still being drawn (`execute(then=...)`): `status` is
    #: what run.json will say, and `then` gets the final outcome.
    final: bool = True

    @property
    def exit_code(self) -> int:
        if self.status == Status.INTERRUPTED:
            return 128 + (self.signal or signal.SIGINT)
        return 0 if self.status in (Status.COMPLETED, Status.DIVERGED) else 1


def seed_everything(seed: int) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # noqa: BLE001 - determinism is best effort on exotic builds
        pass


def release_session(collect: bool = True) -> None:
    """Drop Keras's global state after a run, before the next one in the same process (a sweep
    worker's next point, the next config of `nnrun train a.yaml b.yaml`): layer names, the graph,
    the traced functions the last model held. A no-op if Keras was never imported.

    `collect=False` leaves the cycles to Python's own collector instead of a full collection
    now (about 0.3 s once TensorFlow is loaded): what `nnrun.train` does in a notebook, where
    that would be most of a small run's overhead."""
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.backend.clear_session(free_memory=False)  # one gc.collect below, not two
    if collect:
        gc.collect()


def wait_closed() -> None:
    """Wait until every run that `execute(then=...)` returned early has its final status (and
    its `then` has been called): before a sweep worker reports its last point or exits."""
    drawing.wait_all()


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
    on_rows: Callable[[list[Row]], None] | None = None,
    on_start: Callable[[Path, str], None] | None = None,
    run_dir: Path | None = None,
    record_extra: dict[str, Any] | None = None,
    then: Callable[[Outcome], None] | None = None,
) -> Outcome:
    """Train and write a complete run folder.

    Whatever happens once the folder exists, run.json ends with a final status:
    completed, diverged, interrupted (a signal; history, model and metrics so far) or
    failed (the exception is re-raised after it is recorded). Only a hard kill, or a disk
    too full to rewrite run.json, leaves it "running" (readers then show `crashed`).
    Raises `Interrupted` for a signal that arrives before the folder exists.

    With `then`, a run that gets as far as its pictures returns before they are drawn (its
    Outcome says `final=False`); the drawing thread writes run.json's final status once they
    are, then calls `then(outcome)` with the final outcome (`failed` if that write failed).
    Every other run (failed, interrupted while training) is final when `execute` returns or
    raises, and `then` is not called.
    """
    with RunSignals() as signals:
        signals.keep = run_dir is not None  # a folder made by the caller (a sweep) is recorded
        from nnrun.tf_import import import_tensorflow

        import_tensorflow()
        from nnrun.build.model import build_model, trainable_params
        from nnrun.experiment.history import RunHooks
        from nnrun.train.select import choose

        spec, data = prepared.spec, prepared.data
        folder.ensure_writable(out_root)
        trainer, why_not_graph = choose(spec, data)
        model = trainer.build(
            spec,
            data,
            lambda: seed_everything(spec.seed),
            lambda: build_model(spec, data.input_shape, batches_per_epoch(spec, len(data.x_train))),
        )

        created = run_dir is None
        signals.keep = True  # from here a signal is recorded in the run: never an empty folder
        run_dir = run_dir or folder.create_run_dir(out_root, spec.name)
        files = RunFolder(run_dir)
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
                    "params": trainable_params(model),
                    **(record_extra or {}),
                },
            )
        except BaseException:
            if created:  # not even run.json could be written: leave no unreadable folder behind
                import shutil

                shutil.rmtree(run_dir, ignore_errors=True)
            raise
        hooks: RunHooks | None = None
        pictures = Pictures(lambda: signals.late is not None)
        t0 = time.perf_counter()
        try:
            atomic_write_yaml(files.config, spec.to_yaml_dict())
            data.preprocessor.save(files.preprocessing)
            if data.text is not None:
                data.text.save(files.vocabulary)
            atomic_write_text(files.summary, artefacts.summary_text(model))
            if on_start is not None:
                on_start(run_dir, trainer.name)
            hooks = RunHooks(run_dir, on_rows, tensorboard=spec.training.tensorboard)
            signals.attach(hooks)
            t0 = time.perf_counter()
            if signals.received is None:
                result = trainer.train(model, spec, data, hooks)
            else:  # stopped while setting up: keep what there is (an untrained model)
                result = TrainResult(history=[], stop_reason="interrupted", stopped_epoch=0)
            train_seconds = time.perf_counter() - t0
            hooks.close()
            return _finish(model, spec, prepared, run_dir, record, result, train_seconds, signals, pictures, then)
        except KeyboardInterrupt:
            signals.aborting = True
            _quietly(pictures.abort)
            epochs = len(hooks.rows) if hooks is not None else 0
            if hooks is not None:
                _quietly(hooks.close)
            _quietly(lambda: artefacts.save_model(model, run_dir))
            record.finish(
                Status.INTERRUPTED,
                train_seconds=round(time.perf_counter() - t0, 3),
                epochs_run=epochs,
                stop_reason="interrupted",
            )
            return Outcome(run_dir, Status.INTERRUPTED, record.data, signal=signals.received or signal.SIGINT)
        except BaseException as exc:
            signals.aborting = True
            _quietly(pictures.abort)
            if hooks is not None:
                _quietly(hooks.close)
            error = {"type": type(exc).__name__, "message": str(exc).splitlines()[0][:500] if str(exc) else ""}
            _quietly(
                lambda: record.finish(
                    Status.FAILED,
                    train_seconds=round(time.perf_counter() - t0, 3),
                    epochs_run=len(hooks.rows) if hooks is not None else 0,
                    error=error,
                )
            )
            raise


def _finish(
    model: Any,
    spec: Spec,
    prepared: Prepared,
    run_dir: Path,
    record: folder.RunRecord,
    result: TrainResult,
    train_seconds: float,
    signals: RunSignals,
    pictures: Pictures,
    then: Callable[[Outcome], None] | None,
) -> Outcome:
    status = {
        "diverged": Status.DIVERGED,
        "interrupted": Status.INTERRUPTED,
    }.get(result.stop_reason, Status.COMPLETED)
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
    kept = artefacts.kept_epoch(spec, result)
    facts["kept_epoch"] = kept
    facts["split"] = artefacts.split_record(spec, prepared.data)
    facts["selected_on_test"] = artefacts.selected_on_test(spec, prepared.data)
    facts["baseline"] = artefacts.baseline(model, spec, prepared.data)
    # a diverged run whose early stopping restored a finite epoch holds usable weights
    usable = status != Status.DIVERGED or artefacts.restored_before_divergence(result, kept)
    if status == Status.DIVERGED:
        facts["hint"] = artefacts.divergence_hint(result, kept)
    record.update(**facts)
    # The pictures are drawn in a thread from here on, while the model is saved and evaluated;
    # their data is computed here (only this thread calls the model).
    lr_steps = artefacts.learning_rate_steps(model, result, run_dir)
    pictures.add(artefacts.curve_figures(result.history, run_dir, spec.name, kept, lr_steps))
    verdicts = inside.record(run_dir, result, status, spec)
    # the test split's outputs, computed once for the predictions picture and the test metrics
    outputs = artefacts.test_outputs(model, prepared.data) if usable else None
    pictures.add(inside.figures(model, spec, prepared.data, run_dir, result, verdicts, usable, kept, outputs))
    artefacts.save_model(model, run_dir)
    metrics: dict[str, Any] = {}
    if usable:
        metrics["test"] = artefacts.evaluate_test(model, spec, prepared.data, run_dir, outputs)
        pictures.add(artefacts.test_figures(metrics, run_dir, spec.name))
    metrics.update(artefacts.epoch_metrics(result, kept))
    artefacts.write_metrics(run_dir, metrics)
    if signals.received is not None and status == Status.COMPLETED:
        status = Status.INTERRUPTED  # asked to stop while the finished model was being evaluated
    record.set(diagnosis=artefacts.diagnosis(result.history, status, record.data))
    record.set(**verdicts)
    signals.close()  # from here a signal only skips the pictures not drawn yet: never the status
    if then is None:
        pictures.finish()  # the run reports its final status once its pictures are written
        record.finish(status)
        return Outcome(run_dir, status, record.data, metrics, signal=signals.received)
    closing = Outcome(run_dir, status, record.data, metrics, signal=signals.received)
    pictures.then(lambda: then(_close(record, closing)))
    return replace(closing, final=False)  # a copy: `_close` updates `closing` later


def _close(record: folder.RunRecord, outcome: Outcome) -> Outcome:
    """The last step of a run closed in the drawing thread: its pictures are written, so
    run.json gets its final status (`failed` if even that cannot be written)."""
    try:
        record.finish(outcome.status)
    except Exception as exc:  # noqa: BLE001 - reported as the run's outcome; the caller goes on
        error = {"type": type(exc).__name__, "message": str(exc).splitlines()[0][:500] if str(exc) else ""}
        _quietly(lambda: record.finish(Status.FAILED, error=error))
        outcome.status = Status.FAILED
    outcome.record = record.data
    return outcome
