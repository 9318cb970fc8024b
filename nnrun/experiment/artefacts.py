"""What a finished run leaves besides its history: the model, test metrics and predictions,
the figures and the diagnosis. TensorFlow is already loaded when these run."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from nnrun.data import Dataset
from nnrun.runs.files import atomic_write_json, write_csv_rows
from nnrun.runs.layout import RunFolder
from nnrun.runs.records import MetricsJson
from nnrun.spec import Spec
from nnrun.train.base import Row, TrainResult


def save_model(model: Any, run_dir: Path) -> None:
    """model.keras, written beside and renamed, so a kill never leaves half a model."""
    tmp = RunFolder(run_dir).model_tmp
    _keep_keras_skipsets()
    model.save(tmp)
    os.replace(tmp, RunFolder(run_dir).model)


#: What Keras's saving skips on each kind of object, computed once per process.
_SKIPSETS: dict[str, Any] = {}


def _keep_keras_skipsets() -> None:
    """Keras (3.x) caches the attributes its saving skips per kind of object under one key and
    looks them up under another, so every save builds reference layers, optimizers and metrics
    again to list them: 5 of the 12 ms of saving a small MLP. They depend only on Keras's
    classes: put each where Keras looks (again after each `clear_session`, which drops them).
    Best effort: a Keras without these internals simply saves as it does."""
    try:
        from keras.src.backend.common import global_state
        from keras.src.saving import saving_lib

        for kind in ("Sequential", "Functional", "Layer", "Operation", "Metric", "Optimizer", "Loss"):
            if kind not in _SKIPSETS:
                _SKIPSETS[kind] = saving_lib.get_attr_skipset(kind)
            global_state.set_global_attribute(f"saving_attr_skiplist_{kind}", _SKIPSETS[kind])
    except Exception:  # noqa: BLE001 - an optimisation only
        pass


def summary_text(model: Any) -> str:
    """The Keras model summary as text (summary.txt).

    Keras renders it with rich, whose console, in a Jupyter kernel, also sends an empty
    display to the notebook even when the text is captured; that stray output is swallowed.
    """
    import contextlib
    import sys

    lines: list[str] = []
    quiet: Any = contextlib.nullcontext()
    ipython = sys.modules.get("IPython")
    if ipython is not None and ipython.get_ipython() is not None:
        from IPython.utils.capture import capture_output

        quiet = capture_output(stdout=False, stderr=False, display=True)
    with quiet:
        model.summary(print_fn=lambda text, line_break=True: lines.append(text))
    return "\n".join(lines) + "\n"


def test_outputs(model: Any, data: Dataset) -> Any:
    """The model's outputs for the test split, or None if they cannot be computed (then
    `evaluate_test` tries again and the run fails there, after its model is saved)."""
    # The model is called directly (in batches of EVAL_BATCH rows), not through predict() and
    # evaluate(): those trace two graph functions for every new model, which takes longer than
    # the evaluation itself and was most of what a warm second run in a notebook waited for.
    from nnrun.train.stream import outputs

    try:
        return outputs(model, data.x_test)  # streamed rows: batch by batch
    except Exception:  # noqa: BLE001
        return None


def evaluate_test(model: Any, spec: Spec, data: Dataset, run_dir: Path, outputs: Any = None) -> dict[str, Any]:
    """Test-split metrics (with the loss); writes predictions.csv. `outputs`: what
    `test_outputs` returned, if the caller has them."""

    from nnrun.train.evaluate import evaluate, with_inputs
    from nnrun.train.stream import outputs as model_outputs

    if outputs is None:
        outputs = model_outputs(model, data.x_test)
    test, rows = evaluate(outputs, data, spec.evaluation.threshold)
    # the compiled loss with the regularization penalties: what evaluate() reports for one batch
    loss = model.compute_loss(x=None, y=data.y_test, y_pred=outputs, training=False)
    test = {"loss": float(loss), **test}
    write_csv_rows(RunFolder(run_dir).predictions, with_inputs(rows, data.test_inputs))
    return test


def epoch_metrics(result: TrainResult, kept: int | None = None) -> dict[str, Any]:
    """The final, kept, best and lowest-validation-loss epochs (compare reads these, not history.csv)."""
    history = result.history
    if not history:
        return {}
    out: dict[str, Any] = {"final": {k: v for k, v in history[-1].items() if k != "epoch"}}
    if kept is not None and 0 < kept <= len(history):
        out["kept"] = {"epoch": kept, **{k: v for k, v in history[kept - 1].items() if k != "epoch"}}
    if result.best_epoch:
        out["best"] = {
            "epoch": result.best_epoch,
            **{k: v for k, v in history[result.best_epoch - 1].items() if k != "epoch"},
        }
    low: Row | None = None  # one pass, no copy: a history may hold a million epochs
    for row in history:
        value = row.get("val_loss", math.nan)
        if math.isfinite(value) and (low is None or value < low["val_loss"]):
            low = row
    if low is not None:
        out["best_val_loss"] = {"epoch": low["epoch"], "val_loss": low["val_loss"]}
    return out


def write_metrics(run_dir: Path, metrics: dict[str, Any]) -> None:
    """metrics.json, a `MetricsJson` (its fields declared in nnrun/runs/records.py)."""
    atomic_write_json(RunFolder(run_dir).metrics, MetricsJson.new(**metrics).to_data())


#: At most this many updates in lr_steps.csv (evenly spaced beyond it), so a long run stays small.
MAX_LR_STEPS = 100_000


def learning_rate_steps(model: Any, result: TrainResult, run_dir: Path) -> tuple[Any, Any] | None:
    """Write lr_steps.csv: the learning rate of every optimizer update the run made (a schedule
    is a function of the update count, so this is exact). None without a schedule, or if the
    schedule cannot be evaluated (the record is a picture's data, never worth a run)."""
    import keras
    import numpy as np

    from nnrun.runs.layout import RunFolder

    schedule = model.optimizer._learning_rate  # noqa: SLF001 - the schedule itself, as fit.current_learning_rate reads it
    total, per_epoch = int(result.total_updates), max(int(result.batches_per_epoch), 1)
    if not callable(schedule) or total <= 0:
        return None
    try:
        steps = np.unique(np.linspace(0, total - 1, min(total, MAX_LR_STEPS)).round().astype("int64"))
        lrs = np.asarray(keras.ops.convert_to_numpy(schedule(keras.ops.convert_to_tensor(steps))), dtype="float64")
        if lrs.shape != steps.shape:  # a schedule that does not take a vector of steps: one call each
            steps = steps[:: max(1, len(steps) // 2000)]
            lrs = np.array([float(keras.ops.convert_to_numpy(schedule(int(s)))) for s in steps])
    except Exception:  # noqa: BLE001
        return None
    rows = [
        {"step": int(s) + 1, "epoch": int(s) // per_epoch + 1, "learning_rate": float(v)}
        for s, v in zip(steps, lrs, strict=True)
    ]
    write_csv_rows(RunFolder(run_dir).lr_steps, rows)
    return (steps + 1) / per_epoch, lrs


def curve_figures(
    history: Sequence[Row], run_dir: Path, title: str, kept_epoch: int | None, lr_steps: tuple[Any, Any] | None = None
) -> list[Callable[[], Any]]:
    """The run's curves (loss.png, one per metric, learning_rate.png): what to draw once the
    history is known (`nnrun.experiment.pictures` draws them; see `nnrun.plots` for their bounds).
    `report` draws curves from history.csv when a run has none."""
    from nnrun import plots

    return [partial(plots.curves, history, run_dir, title, kept_epoch=kept_epoch, lr_steps=lr_steps)]


def test_figures(metrics: dict[str, Any], run_dir: Path, title: str) -> list[Callable[[], Any]]:
    """The pictures of the test evaluation: the confusion matrix of a classifier (each a
    `partial` of a plot function and its data, so a drawing process can be sent it)."""
    from nnrun import plots

    test = metrics.get("test", {})
    if "confusion_matrix" not in test:
        return []
    return [
        partial(
            plots.confusion_matrix,
            test["confusion_matrix"],
            test["class_names"],
            RunFolder(run_dir).confusion_plot,
            title,
        )
    ]


def diagnosis(history: list[Row], status: str, record: dict[str, Any]) -> dict[str, Any]:
    from nnrun.diagnose import Facts, diagnose

    return diagnose(history, status, Facts.from_record(record)).as_dict()


def kept_epoch(spec: Spec, result: TrainResult) -> int | None:
    """The epoch whose weights the saved model holds: the one early stopping restored
    (`restore_best_weights`, min_delta included), else the last epoch run."""
    es = spec.training.early_stopping
    if es is not None and es.restore_best_weights and result.best_epoch:
        return int(result.best_epoch)
    if not result.history:
        return None
    last = result.history[-1].get("epoch")
    return int(last) if last is not None and math.isfinite(last) else len(result.history)


def restored_before_divergence(result: TrainResult, kept: int | None) -> bool:
    """A diverged run whose early stopping restored the weights of an earlier epoch with finite
    losses: the saved model is that epoch's, as usable as any run's (it is evaluated on the
    test split and drawn), while the run's status still says it diverged."""
    from nnrun.train.base import non_finite

    if result.stop_reason != "diverged" or kept is None or not 0 < kept < (result.stopped_epoch or 0):
        return False
    row = next((r for r in result.history if r.get("epoch") == kept), None)
    return row is not None and not non_finite(row)


def divergence_hint(result: TrainResult, kept: int | None) -> str:
    """run.json's `hint` for a diverged run: where it diverged and, when early stopping kept an
    earlier epoch's weights, that the saved model and its test metrics are that epoch's."""
    where = f"the loss became NaN/inf at epoch {result.stopped_epoch}"
    if restored_before_divergence(result, kept):
        where += (
            f"; early stopping kept the weights of epoch {kept}, from before it diverged "
            "(model.keras and the test metrics are that epoch's)"
        )
    return f"{where}: lower optimizer.learning_rate (try 10x smaller) or standardize the inputs"


def split_record(spec: Spec, data: Dataset) -> dict[str, Any]:
    """run.json's `split`: rows per split, whether validation is the test split or all three
    are the same rows (a dataset too small to split), and how the rows were drawn."""
    d = spec.data
    return {
        "train": len(data.x_train),
        "validation": len(data.x_val),
        "test": len(data.x_test),
        "validation_is_test": d.validation == "test" or data.same_rows,
        "same_rows": data.same_rows,
        "stratify": d.stratify,
        "split_seed": spec.seed if d.split_seed is None else d.split_seed,
    }


def selected_on_test(spec: Spec, data: Dataset) -> bool:
    """Something chose with the test split: early stopping (when to stop, which weights to
    keep) watched a validation split that is the test split. (The logic gates, whose three
    splits are the same rows, say so instead.)"""
    return spec.data.validation == "test" and not data.same_rows and spec.training.early_stopping is not None


#: Baselines kept per process: a sweep's points share their data and loss, and computing one
#: calls the Keras loss eagerly (about 7 ms a point for XOR).
MAX_BASELINES = 8
_BASELINES: dict[tuple[Any, ...], dict[str, Any]] = {}


def _baseline_key(spec: Spec, data: Dataset) -> tuple[Any, ...]:
    """What `nnrun.train.evaluate.baseline` reads: the loss, the task and the targets."""
    import hashlib

    import numpy as np

    digest = hashlib.sha1()
    for y in (data.y_train, data.y_val):
        y = np.ascontiguousarray(y)
        digest.update(f"{y.shape}{y.dtype}".encode())
        digest.update(y.tobytes())
    return (spec.loss, data.task, data.n_classes, digest.hexdigest())


def baseline(model: Any, spec: Spec, data: Dataset) -> dict[str, Any]:
    """run.json's `baseline` (see `nnrun.train.evaluate.baseline`), on the scale of the
    history's losses; {} if it cannot be computed."""
    import copy

    from nnrun.build.registry import loss
    from nnrun.train.base import batch_size
    from nnrun.train.evaluate import baseline as compute

    key = _baseline_key(spec, data)
    found = copy.deepcopy(_BASELINES.get(key))
    if found is None:
        try:
            found = compute(data, loss(spec.loss))  # per sample
        except Exception:  # noqa: BLE001 - a reference for the diagnosis, never a reason to fail a run
            return {}
        _BASELINES[key] = copy.deepcopy(found)
        while len(_BASELINES) > MAX_BASELINES:
            del _BASELINES[next(iter(_BASELINES))]
    if spec.loss_reduction == "sum":  # a batch's loss is the sum over its rows
        rows = {"train": batch_size(spec, len(data.x_train)), "validation": len(data.x_val)}
        found["constant_loss"] = {k: v * rows[k] for k, v in found.get("constant_loss", {}).items() if k in rows}
    return found
