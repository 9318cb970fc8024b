"""Run folders: unique names even within one second, atomic JSON, run.json lifecycle."""

from __future__ import annotations

import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from nnrun.errors import NnrunError
from nnrun.runs import folder
from nnrun.runs.files import atomic_write_json, write_csv_rows
from nnrun.runs.layout import Status


def test_many_runs_in_the_same_second_never_collide(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        dirs = list(pool.map(lambda _: folder.create_run_dir(tmp_path, "same"), range(64)))
    assert len({d.name for d in dirs}) == 64
    assert all(d.is_dir() and d.parent == tmp_path / "same" for d in dirs)
    stamp, hexpart = dirs[0].name.rsplit("-", 1)
    assert len(hexpart) == 6 and int(hexpart, 16) >= 0
    assert len(stamp) == len("20260101-120000")


def test_atomic_json_leaves_no_temp_files_and_writes_nan_as_null(tmp_path: Path) -> None:
    target = tmp_path / "m.json"
    atomic_write_json(target, {"a": 1.5, "b": math.nan, "c": [math.inf, 2]})
    assert json.loads(target.read_text()) == {"a": 1.5, "b": None, "c": [None, 2]}
    assert os.listdir(tmp_path) == ["m.json"]


def test_history_csv_keeps_nan_readable(tmp_path: Path) -> None:
    import pandas as pd

    write_csv_rows(tmp_path / "h.csv", [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": math.nan}])
    frame = pd.read_csv(tmp_path / "h.csv")
    assert frame["loss"].isna().tolist() == [False, True]


def test_run_record_lifecycle(tmp_path: Path) -> None:
    run = folder.create_run_dir(tmp_path, "r")
    record = folder.RunRecord.start(run, "r", 3, ["nnrun", "train", "x.yaml"])
    data = json.loads((run / "run.json").read_text())
    assert data["status"] == "running" and data["pid"] == os.getpid() and data["seed"] == 3
    record.finish(Status.COMPLETED, epochs_run=4)
    data = json.loads((run / "run.json").read_text())
    assert data["status"] == "completed" and data["epochs_run"] == 4
    assert data["ended"] and data["duration_seconds"] >= 0
    assert data["versions"]["nnrun"]


def test_unwritable_root_is_refused_before_training(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(NnrunError, match="cannot create the output directory"):
        folder.ensure_writable(blocker / "runs")


def test_run_json_writers_take_declared_fields_only(tmp_path: Path) -> None:
    from nnrun.runs.records import LrFindJson, MetricsJson, SweepPoint

    run = folder.create_run_dir(tmp_path, "r")
    record = folder.RunRecord.start(run, "r", 3, ["nnrun"])
    with pytest.raises(AttributeError, match="'epoch_run'"):
        record.update(epoch_run=4)  # a misspelt key is refused, not written
    with pytest.raises(TypeError, match="epochs_run"):
        record.update(epochs_run="four")
    with pytest.raises(AttributeError, match="'stauts'"):
        SweepPoint.new(index=0, stauts="completed")
    with pytest.raises(AttributeError, match="'tests'"):
        MetricsJson.new(tests={"accuracy": 1.0})
    assert LrFindJson.new(suggestion=math.nan).to_data() == {"suggestion": None}  # NaN is written as null
    assert "epoch_run" not in json.loads((run / "run.json").read_text())


def test_a_run_json_read_back_keeps_its_keys_and_unknown_fields_when_rewritten(tmp_path: Path) -> None:
    from nnrun.runs.records import RunJson

    run = folder.create_run_dir(tmp_path, "r")
    old = {"id": run.name, "status": "running", "started": "2025-01-01T12:00:00+00:00", "from_the_future": [1]}
    record = folder.RunRecord(run, RunJson.model_validate(old))
    record.finish(Status.FAILED)
    data = json.loads((run / "run.json").read_text())
    assert data["from_the_future"] == [1] and data["status"] == "failed" and data["duration_seconds"] > 0
    assert "pid" not in data  # fields it never had are not written as nulls


def test_preprocessing_and_vocabulary_writers_refuse_undeclared_fields() -> None:
    from nnrun.data.preprocess import PreprocessingRecord
    from nnrun.data.text import VocabularyRecord
    from nnrun.runs.records import written

    with pytest.raises(AttributeError, match="'csv_colums'"):
        written(PreprocessingRecord, task="binary", feature_names=["a"], input_shape=[1], csv_colums=["a"])
    record = written(VocabularyRecord, column="text", vocabulary=["", "[UNK]"], sequence_length=4)
    assert record.sequence_length == 4
