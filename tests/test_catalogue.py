"""Every example config trains for real (a couple of epochs) and writes a complete run folder."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from nnrun.experiment import execute, prepare_experiment
from nnrun.spec import load_spec
from nnrun.spec.data import DATASETS
from tests.conftest import CONFIGS, missing_run_files

#: Every test here trains or starts nnrun processes: only in the full suite.
pytestmark = pytest.mark.slow

ALL = sorted(CONFIGS.glob("*.yaml"))


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_config_trains_and_writes_run_folder(path: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if DATASETS[load_spec(path)[0].data.dataset].keras:
        request.getfixturevalue("keras_cache")  # small stand-ins in a Keras cache, never the internet
    prepared = prepare_experiment(path, ["training.epochs=2"])
    outcome = execute(prepared, tmp_path, command=["test"])
    run = outcome.run_dir
    assert outcome.status == "completed", outcome.record
    assert not missing_run_files(run)
    rows = list(csv.DictReader((run / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert all(np.isfinite(float(r["loss"])) for r in rows)
    metrics = json.loads((run / "metrics.json").read_text())
    record = json.loads((run / "run.json").read_text())
    assert record["batches_per_epoch"] >= 1
    assert record["total_updates"] == 2 * record["batches_per_epoch"]
    # three splits: validation rows are not test rows, except the logic gates (too few rows) and
    # the walk-through config, which validates on test on purpose and is marked for it
    split = record["split"]
    assert (split["train"], split["validation"], split["test"]) == tuple(
        len(a) for a in (prepared.data.x_train, prepared.data.x_val, prepared.data.x_test)
    )
    if split["same_rows"]:  # the logic gates, the guide's 3-row CSV
        assert prepared.data.same_rows and split["train"] < 10
    elif path.stem == "breast_cancer":
        assert split["validation_is_test"] and record["selected_on_test"] is True
    else:
        assert not split["validation_is_test"] and not record["selected_on_test"]
    if prepared.data.task == "regression":
        assert {"mse", "mae", "r2"} <= set(metrics["test"])
    else:
        assert {"accuracy", "precision", "recall", "f1", "confusion_matrix"} <= set(metrics["test"])
        assert (run / "confusion_matrix.png").is_file()
        matrix = np.array(metrics["test"]["confusion_matrix"])
        assert matrix.sum() == len(prepared.data.y_test)
    # The saved model reloads (custom layers and schedules are registered) and predicts the same.
    import nnrun.build.custom  # noqa: F401

    model = keras.models.load_model(run / "model.keras")
    n = min(5, len(prepared.data.x_test))
    again = np.asarray(model.predict(prepared.data.x_test[:n], verbose=0)).reshape(n, -1)
    saved = list(csv.DictReader((run / "predictions.csv").open()))[:n]
    if prepared.data.task == "regression":
        expected = np.array([[float(r["prediction"])] for r in saved])
    else:
        columns = [k for k in saved[0] if k.startswith("p_")]
        expected = np.array([[float(r[c]) for c in columns] for r in saved])
        if again.shape[1] == 1:  # one sigmoid unit: predictions.csv holds p(0) and p(1)
            expected = expected[:, 1:]
    np.testing.assert_allclose(again, expected, rtol=1e-4, atol=1e-5)
