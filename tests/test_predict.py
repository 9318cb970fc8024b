"""Rebuilding model inputs from CSV columns, without a model: the arrays must equal the
ones training used (scaling, one-hot levels, reshaping to the input shape)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nnrun.data.prepare import load_raw, split
from nnrun.errors import NnrunError
from nnrun.experiment import prepare_experiment
from nnrun.predict import SavedRun, default_output, features, load_run, targets
from tests.conftest import CONFIGS


@pytest.mark.parametrize("config", ["breast_cancer.yaml", "csv_example.yaml", "rnn_sine.yaml", "cnn_digits.yaml"])
def test_features_equal_the_training_arrays(config: str) -> None:
    prepared = prepare_experiment(CONFIGS / config)
    spec, data = prepared.spec, prepared.data
    base = (CONFIGS / config).parent
    raw = load_raw(spec, base)
    _, _, test_idx = split(raw, spec)
    if spec.data.dataset == "csv":
        frame = pd.read_csv(base / spec.data.path).iloc[test_idx]
    else:
        frame = raw.frame.astype("float64").iloc[test_idx]
    run = SavedRun(Path("."), data.preprocessor, 0.5)
    x = features(frame.reset_index(drop=True), run)
    assert x.shape == data.x_test.shape
    np.testing.assert_allclose(x, data.x_test, rtol=0, atol=1e-6)


def test_targets_accept_class_names_or_indices() -> None:
    prepared = prepare_experiment(CONFIGS / "iris_softmax.yaml")
    run = SavedRun(Path("."), prepared.data.preprocessor, 0.5)
    got = targets(pd.DataFrame({"target": ["virginica", "0", "setosa", "1"]}), run)
    assert got.tolist() == [2, 0, 0, 1]
    with pytest.raises(NnrunError, match="class 'rose'; the model knows setosa, versicolor, virginica"):
        targets(pd.DataFrame({"target": ["rose"]}), run)


def test_run_folders_that_cannot_predict_are_refused(tmp_path: Path) -> None:
    with pytest.raises(NnrunError, match="no such run folder"):
        load_run(tmp_path / "missing")
    with pytest.raises(NnrunError, match="not a run folder"):
        load_run(tmp_path)
    prepared = prepare_experiment(CONFIGS / "xor.yaml")
    prepared.data.preprocessor.save(tmp_path / "preprocessing.json")
    (tmp_path / "run.json").write_text(json.dumps({"status": "failed"}))
    with pytest.raises(NnrunError, match=r"no model.keras \(run status: failed\)"):
        load_run(tmp_path)


def test_default_output_sits_next_to_the_input() -> None:
    assert default_output(Path("data/new.csv")) == Path("data/new.predictions.csv")
