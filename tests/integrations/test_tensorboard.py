"""`training.tensorboard: true`: real event files, read back with TensorFlow's summary reader,
hold exactly what history.csv holds, for every trainer."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import tensorflow as tf

from nnrun.experiment import execute, prepare_experiment
from nnrun.integrations.tensorboard import split_row
from nnrun.train.select import trainers
from tests.conftest import CONFIGS

EPOCHS = 30


def read_events(split_dir: Path) -> dict[str, dict[int, float]]:
    """{tag: {step: value}} from every event file in one TensorBoard run folder."""
    tags: dict[str, dict[int, float]] = {}
    files = sorted(split_dir.glob("events.out.tfevents.*"))
    assert files, f"no event file in {split_dir}"
    for path in files:
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                # The scalar plugin's marker: without it TensorBoard does not chart the value.
                assert value.metadata.plugin_data.plugin_name == "scalars", value.tag
                number = float(tf.make_ndarray(value.tensor))
                assert event.step not in tags.get(value.tag, {}), (value.tag, event.step)
                tags.setdefault(value.tag, {})[int(event.step)] = number
    return tags


def close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-7)


@pytest.mark.slow
@pytest.mark.parametrize("trainer", sorted(trainers()))
def test_event_files_match_history(trainer: str, tmp_path: Path) -> None:
    prepared = prepare_experiment(
        CONFIGS / "xor.yaml",
        [f"training.epochs={EPOCHS}", "training.tensorboard=true", f"training.trainer={trainer}"],
    )
    outcome = execute(prepared, tmp_path, command=["test"])
    assert outcome.status == "completed"
    assert outcome.record["trainer"] == trainer
    run = outcome.run_dir
    history = list(csv.DictReader((run / "history.csv").open()))
    assert len(history) == EPOCHS

    train = read_events(run / "tensorboard" / "train")
    validation = read_events(run / "tensorboard" / "validation")
    assert {"loss", "accuracy", "learning_rate"} <= set(train)
    assert {"loss", "accuracy"} <= set(validation)
    assert "learning_rate" not in validation
    for split, events in (("train", train), ("validation", validation)):
        for tag, points in events.items():
            assert sorted(points) == list(range(1, EPOCHS + 1)), (split, tag)
    for row in history:
        step = int(row["epoch"])
        for split, values in split_row({k: float(v) for k, v in row.items()}).items():
            events = train if split == "train" else validation
            assert set(values) == set(events), split
            for tag, value in values.items():
                # Event files hold float32, history.csv float64.
                assert close(float(tf.constant(value, tf.float32)), events[tag][step]), (split, tag, step)


def test_no_event_files_unless_asked(tmp_path: Path) -> None:
    prepared = prepare_experiment(CONFIGS / "and.yaml", ["training.epochs=2"])
    outcome = execute(prepared, tmp_path, command=["test"])
    assert outcome.status == "completed"
    assert not (outcome.run_dir / "tensorboard").exists()
