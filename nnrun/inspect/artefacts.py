"""After training: internals.csv and the verdicts (`record`, before the run's status is
final), then the pictures of the network's insides (`figures`: what each shows is computed
here, in the run's thread, where the model may be called; drawing them is left to
`nnrun.experiment.pictures`, and a picture never changes a run's status). TensorFlow is
loaded: the decision regions are the model's predictions on a grid, once per weight snapshot.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from nnrun.data import Dataset
from nnrun.diagnose import explosion
from nnrun.inspect import internals, plots
from nnrun.inspect.internals import Inspection
from nnrun.inspect.verdicts import VERDICTS_FIELD, Verdict, judge
from nnrun.runs.layout import RunFolder
from nnrun.spec import Spec
from nnrun.train.base import TrainResult


def has_boundary(data: Dataset) -> bool:
    """Classification on exactly two input features: the decision regions can be drawn."""
    return data.task != "regression" and data.input_shape == (2,)


def is_sequence(data: Dataset) -> bool:
    return len(data.input_shape) == 2


def record(run_dir: Path, result: TrainResult, status: str, spec: Spec | None = None) -> dict[str, Any]:
    """internals.csv; returns the run.json fields to add (the verdicts), {} when not inspected."""
    inspection: Inspection | None = result.inspection
    if inspection is None:
        return {}
    internals.write(RunFolder(run_dir).internals, inspection.rows)
    config = spec.to_yaml_dict() if spec is not None else None  # what the hints leave out
    return {VERDICTS_FIELD: [v.as_dict() for v in judge(inspection.rows, result.history, status, config)]}


def figures(
    model: Any,
    spec: Spec,
    data: Dataset,
    run_dir: Path,
    result: TrainResult,
    verdicts: dict[str, Any],
    usable: bool,
    kept: int | None = None,
    test_outputs: Any = None,
) -> list[Callable[[], Any]]:
    """The pictures that apply to this run, each a call that only draws (a `partial` of a plot
    function and its data): the model's part (weights, predictions on the boundary grid) is computed now. What cannot be computed is
    left out (a picture is never worth a run). `verdicts`: what `record` returned; `usable`: the
    saved model's weights are finite ones (a run that did not diverge, or whose early stopping
    restored an epoch before it did), so its decision regions / predictions are drawn; `kept`:
    the epoch whose weights the saved model holds (`nnrun.experiment.artefacts.kept_epoch`);
    `test_outputs`: the model's outputs for the test split, if already computed."""
    inspection: Inspection | None = result.inspection
    folder = RunFolder(run_dir)
    out: list[Callable[[], Any]] = []
    if inspection is not None:
        notes = [v.label for v in map(Verdict.from_dict, verdicts.get(VERDICTS_FIELD) or []) if v is not None]
        diverged = result.stopped_epoch if result.stop_reason == "diverged" else None
        found = explosion(result.history) if diverged is None else None
        exploded = found.epoch if found is not None else None
        rows = inspection.rows
        out += [
            partial(plots.gradients, rows, folder.dir / RunFolder.GRADIENTS_PLOT, spec.name, notes, diverged, exploded),
            partial(
                plots.activations, rows, folder.dir / RunFolder.ACTIVATIONS_PLOT, spec.name, notes, diverged, exploded
            ),
        ]
        out += _quietly(lambda: _weights(model, inspection, run_dir, spec.name, kept, diverged))
    if usable:
        if has_boundary(data):
            shown = _whose(result, kept)
            out += _quietly(lambda: _boundary(model, spec, data, inspection, run_dir, shown))
        elif data.task == "regression":
            out += _quietly(lambda: _predictions(model, spec, data, run_dir, test_outputs))
    return out


def _whose(result: TrainResult, kept: int | None) -> str:
    """Whose weights the saved model holds, for a title: the final model's, or those of the
    epoch early stopping restored (then the drawn regions are not the last epoch's)."""
    epochs = [int(e) for r in result.history if isinstance(e := r.get("epoch"), (int, float)) and math.isfinite(e)]
    last = max(epochs, default=None)
    if kept is None or last is None or kept >= last:
        return "final model"
    return f"kept weights, epoch {kept} of {last}"


def _quietly(compute: Callable[[], list[Callable[[], Any]]]) -> list[Callable[[], Any]]:
    try:
        return compute()
    except Exception:  # noqa: BLE001 - a picture is never worth a run
        return []


def _predictions(
    model: Any, spec: Spec, data: Dataset, run_dir: Path, predicted: Any = None
) -> list[Callable[[], Any]]:
    from nnrun.train.stream import outputs

    if predicted is None:  # called directly (predict() traces a function); streamed: in batches
        predicted = outputs(model, data.x_test)
    target = data.preprocessor.target.column if data.preprocessor.target is not None else None
    path = run_dir / RunFolder.PREDICTIONS_PLOT
    return [partial(plots.predictions, data.y_test, predicted, is_sequence(data), path, spec.name, target or "target")]


def _weights(
    model: Any, inspection: Inspection, run_dir: Path, title: str, kept: int | None, diverged: int | None = None
) -> list[Callable[[], Any]]:
    # the end's histogram is the saved model's weights: the epoch early stopping restored, if it did
    if not inspection.snapshots:
        return []
    first = min(inspection.snapshots)
    last = kept or first
    before, after = inspection.snapshots[first], [np.asarray(w) for w in model.get_weights()]
    kernels = {
        layer: (
            np.concatenate([before[i].ravel() for i in idx]),
            np.concatenate([after[i].ravel() for i in idx]),
        )
        for layer, idx in inspection.kernels.items()
        if idx
    }
    return [partial(plots.weights, kernels, first, last, run_dir / RunFolder.WEIGHTS_PLOT, title, diverged)]


def _boundary(
    model: Any, spec: Spec, data: Dataset, inspection: Inspection | None, run_dir: Path, shown: str = "final model"
) -> list[Callable[[], Any]]:
    from nnrun.train import forward
    from nnrun.train.evaluate import predicted_classes, probabilities, true_classes

    y_train = true_classes(data, data.y_train)
    y_test = true_classes(data, data.y_test)
    same = data.x_test.shape == data.x_train.shape and np.array_equal(data.x_test, data.x_train)
    grid = plots.Grid(np.concatenate([data.x_train, data.x_test]))
    names = data.class_names or [str(i) for i in range(max(int(y_train.max()) + 1, 2))]
    features = [f"{n} (standardized)" if spec.data.standardize else n for n in data.feature_names[:2]]
    train = (data.x_train, y_train)
    test = None if same else (data.x_test, y_test)
    final = probabilities(forward.call(model, grid.points))
    out: list[Callable[[], Any]] = [
        partial(
            plots.boundary,
            grid,
            final,
            train,
            test,
            names,
            features,
            run_dir / RunFolder.BOUNDARY_PLOT,
            spec.name,
            shown,
        )
    ]
    if inspection is None or not inspection.snapshots:
        return out
    frames = []
    both = np.concatenate([grid.points, data.x_train.astype(grid.points.dtype)])  # one call per snapshot
    epochs = sorted(inspection.snapshots)
    outputs = forward.call_each(model, both, [inspection.snapshots[e] for e in epochs])
    for epoch, raw in zip(epochs, outputs, strict=True):
        probs = probabilities(raw)
        if not np.isfinite(probs).all():  # the weights of an epoch that diverged: no regions to draw
            continue
        guess = predicted_classes(probs[len(grid.points) :], data.task, spec.evaluation.threshold)
        frames.append((epoch, probs[: len(grid.points)], float(np.mean(guess == y_train))))
    path = run_dir / RunFolder.BOUNDARY_EPOCHS_PLOT
    out.append(partial(plots.boundary_epochs, grid, frames, train, names, features, path, spec.name))
    return out
