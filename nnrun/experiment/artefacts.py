"""What a finished run leaves besides its history: the model, test metrics and predictions,
the figures and the diagnosis. TensorFlow is already loaded when these run."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from nnrun.data import Dataset
from nnrun.runs.files import atomic_write_json, write_csv_rows
from nnrun.spec import Spec
from nnrun.train.base import Row, TrainResult


def save_model(model: Any, run_dir: Path) -> None:
    """model.keras, written beside and renamed, so a kill never leaves half a model."""
    tmp = run_dir / ".model.tmp.keras"
    model.save(tmp)
    os.replace(tmp, run_dir / "model.keras")


def evaluate_test(model: Any, spec: Spec, data: Dataset, run_dir: Path) -> dict[str, Any]:
    """Test-split metrics (with the loss); writes predictions.csv and the confusion matrix figure."""
    from nnrun import plots
    from nnrun.train.evaluate import evaluate

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
    if "confusion_matrix" in test:
        plots.confusion_matrix(
            test["confusion_matrix"],
            test["class_names"],
            run_dir / "confusion_matrix.png",
            spec.name,
        )
    return test


def epoch_metrics(result: TrainResult) -> dict[str, Any]:
    """The final, best and lowest-validation-loss epochs (compare reads these, not history.csv)."""
    history = result.history
    if not history:
        return {}
    out: dict[str, Any] = {"final": {k: v for k, v in history[-1].items() if k != "epoch"}}
    if result.best_epoch:
        out["best"] = {
            "epoch": result.best_epoch,
            **{k: v for k, v in history[result.best_epoch - 1].items() if k != "epoch"},
        }
    finite = [r for r in history if math.isfinite(r.get("val_loss", math.nan))]
    if finite:
        low = min(finite, key=lambda r: r["val_loss"])
        out["best_val_loss"] = {"epoch": low["epoch"], "val_loss": low["val_loss"]}
    return out


def write_metrics(run_dir: Path, metrics: dict[str, Any]) -> None:
    atomic_write_json(run_dir / "metrics.json", metrics)


def draw_curves(history: list[Row], run_dir: Path, title: str) -> None:
    from nnrun import plots

    plots.curves(history, run_dir, title)


def diagnosis(history: list[Row], status: str) -> dict[str, Any]:
    from nnrun.diagnose import diagnose

    return diagnose(history, status).as_dict()
