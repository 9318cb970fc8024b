"""Reading run folders back (nnrun/runs/reader.py) on real run folders."""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import time
from pathlib import Path

import pytest
import yaml

from nnrun.compare.keys import lookup
from nnrun.errors import NnrunError
from nnrun.runs.reader import (
    RunInfo,
    RunUnreadable,
    Unreadable,
    find_runs,
    flatten,
    iter_runs,
    load_yaml,
    read_run,
)
from tests.compare.made_runs import MadeRuns, dead_pid
from tests.conftest import CONFIGS


def copy_run(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def edit_record(run_dir: Path, **fields: object) -> None:
    record = json.loads((run_dir / "run.json").read_text())
    record.update(fields)
    (run_dir / "run.json").write_text(json.dumps(record))


def test_read_a_completed_run(made: MadeRuns) -> None:
    run = read_run(made.completed["adam"])
    assert run.dir == made.completed["adam"]
    assert run.id == made.completed["adam"].name and run.name == "moons"
    assert run.status == "completed"
    assert run.config["optimizer"]["name"] == "adam"
    assert run.metrics["test"]["accuracy"] == run.test["accuracy"]
    assert run.sweep is None
    assert run._history is None  # history.csv is read only when asked
    rows = run.history()
    assert len(rows) == run.epochs == 12
    assert all(isinstance(v, float) for v in rows[0].values())
    epoch, value = run.best_val_loss
    assert value == min(r["val_loss"] for r in rows) and rows[epoch - 1]["val_loss"] == value
    assert run.diagnosis == json.loads((run.dir / "run.json").read_text())["diagnosis"]
    assert run.duration > 0 and run.train_seconds > 0
    assert run.started.tzinfo is not None


def test_get_answers_every_kind_of_key(made: MadeRuns) -> None:
    run = read_run(made.completed["sgd"])
    assert lookup(run, "optimizer.learning_rate") == 0.5
    assert lookup(run, "config.optimizer.name") == "sgd"
    assert lookup(run, "model.layers.0.units") == 8
    assert lookup(run, "test.accuracy") == run.metrics["test"]["accuracy"]
    assert lookup(run, "final.val_loss") == run.metrics["final"]["val_loss"] == lookup(run, "val_loss")
    assert lookup(run, "trainer") == run.record["trainer"]
    assert lookup(run, "status") == "completed" and lookup(run, "epochs") == 12
    assert lookup(run, "diagnosis") == run.diagnosis["label"] and lookup(run, "verdict") == run.diagnosis["verdict"]
    assert lookup(run, "no.such.key") is None
    assert lookup(run, "versions") is None  # a mapping is not one value


def test_failed_and_interrupted_runs_read_back(made: MadeRuns) -> None:
    failed = read_run(made.failed)
    assert failed.status == "failed"
    assert failed.record["error"]["type"]
    assert failed.metrics == {} and failed.test == {}
    assert failed.diagnosis is None
    interrupted = read_run(made.interrupted)
    assert interrupted.status == "interrupted"
    assert 1 <= interrupted.epochs < 400
    assert interrupted.diagnosis["verdict"]


def test_iter_runs_expands_every_kind_of_path(made: MadeRuns) -> None:
    everything = list(iter_runs([made.root]))
    runs = [r for r in everything if isinstance(r, RunInfo)]
    skipped = [r for r in everything if isinstance(r, Unreadable)]
    assert sorted(r.dir for r in runs) == sorted(made.readable)
    assert sorted(s.dir for s in skipped) == sorted([made.corrupted, made.not_a_run])
    # a sweep folder: its points, each knowing its sweep
    points = list(iter_runs([made.sweep]))
    assert [p.dir for p in points] == made.sweep_points
    assert all(p.sweep == made.sweep for p in points)
    # a run folder, its run.json, and duplicates
    one = list(iter_runs([made.completed["adam"], made.completed["adam"] / "run.json", made.root / "moons"]))
    assert sum(1 for r in one if isinstance(r, RunInfo) and r.dir == made.completed["adam"]) == 1
    # a point read on its own still knows its sweep
    assert read_run(made.sweep_points[0]).sweep == made.sweep


def test_unreadable_lines_are_one_line(made: MadeRuns) -> None:
    skipped = {s.dir: s for s in iter_runs([made.root]) if isinstance(s, Unreadable)}
    line = skipped[made.corrupted].line()
    assert line.startswith(f"skipped {made.corrupted}: run.json is not valid JSON (line ")
    assert "\n" not in line


def test_bad_paths_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(NnrunError, match="does not exist"):
        iter_runs([tmp_path / "missing"])
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(NnrunError, match="is not a folder"):
        find_runs([tmp_path / "file.txt"])
    with pytest.raises(RunUnreadable, match="does not exist"):
        read_run(tmp_path / "missing")


def test_symlink_loops_and_hidden_folders_are_not_followed(made: MadeRuns, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    copy_run(made.completed["adam"], root / "moons" / "a")
    (root / "moons" / "loop").symlink_to(root)
    copy_run(made.completed["sgd"], root / ".trash" / "b")
    found = [r.dir for r in iter_runs([root]) if isinstance(r, RunInfo)]
    assert found == [root / "moons" / "a"]


def test_crashed_when_the_process_is_gone(made: MadeRuns, tmp_path: Path) -> None:
    assert read_run(made.crashed).status == "crashed"
    run = copy_run(made.completed["line"], tmp_path / "r")
    now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    edit_record(run, status="running", pid=os.getpid(), host=socket.gethostname(), started=now)
    assert read_run(run).status == "running"
    # the same pid, but our process began after the run started: the pid was reused
    edit_record(run, started="2001-01-01T00:00:00+00:00")
    assert read_run(run).status == "crashed"
    edit_record(run, pid=dead_pid(), started=now)
    assert read_run(run).status == "crashed"


def test_another_hosts_run_is_crashed_only_once_stale(made: MadeRuns, tmp_path: Path) -> None:
    run = copy_run(made.completed["line"], tmp_path / "r")
    edit_record(run, status="running", host="some-other-host", pid=1)
    assert read_run(run).status == "running"
    old = time.time() - 2 * 3600
    for name in ("run.json", "history.csv"):
        os.utime(run / name, (old, old))
    assert read_run(run).status == "crashed"


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda d: (d / "run.json").write_text("[1, 2]"), "run.json does not hold a JSON object"),
        (lambda d: (d / "run.json").write_bytes(b"\xff\xfe\x00garbage"), "run.json is not valid JSON"),
        (lambda d: (d / "run.json").unlink(), "not a run folder"),
        (lambda d: edit_record(d, status="weird"), "run.json has no valid status (received 'weird')"),
        (lambda d: (d / "metrics.json").write_text('{"test": '), "metrics.json is not valid JSON (line 1)"),
        (lambda d: (d / "config.yaml").write_text("a: [1, 2\nb: 3"), "config.yaml is not valid YAML"),
        (lambda d: (d / "config.yaml").unlink(), "config.yaml is missing or empty"),
        (lambda d: (d / "config.yaml").write_text("- 1\n- 2\n"), "config.yaml does not hold a mapping"),
        (
            lambda d: (d / "config.yaml").write_text("a: !!python/object/apply:os.system [echo hi]\n"),
            "config.yaml is not valid YAML",
        ),
        (
            lambda d: (d / "config.yaml").write_text(
                "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                + "".join(
                    f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
                )
            ),
            "config.yaml: the YAML expands to more than",
        ),
    ],
)
def test_damaged_runs_are_unreadable_with_a_reason(made: MadeRuns, tmp_path: Path, damage, reason: str) -> None:
    run = copy_run(made.completed["adam"], tmp_path / "runs" / "moons" / "r1")
    damage(run)
    (item,) = list(iter_runs([tmp_path / "runs"]))
    assert isinstance(item, Unreadable)
    assert reason in item.reason


def test_garbage_history_reads_as_nan_not_an_error(made: MadeRuns, tmp_path: Path) -> None:
    run = copy_run(made.completed["adam"], tmp_path / "r")
    lines = (run / "history.csv").read_text().splitlines()
    lines[3] = ",".join(["oops"] * len(lines[3].split(",")))
    # a short last row (complete, with its newline: a line without one is a torn write, see test_history.py)
    (run / "history.csv").write_text("\n".join(lines[:6]) + "\n1,2\n")
    rows = read_run(run).history()
    assert len(rows) == 6
    assert math.isnan(rows[2]["loss"])


def test_orphan_temporary_files_are_ignored(made: MadeRuns, tmp_path: Path) -> None:
    run = copy_run(made.completed["adam"], tmp_path / "r")
    (run / ".run.json.abc123.tmp").write_text('{"status": "half')
    assert read_run(run).status == "completed"


def test_flatten_uses_the_set_syntax() -> None:
    data = {
        "a": {"b": 1, "c": [1, 2]},
        "layers": [{"type": "dense", "units": 3}, {"type": "dropout"}],
        "e": [],
        "f": {},
    }
    assert flatten(data) == {
        "a.b": 1,
        "a.c": [1, 2],
        "layers.0.type": "dense",
        "layers.0.units": 3,
        "layers.1.type": "dropout",
        "e": [],
        "f": {},
    }


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_fast_yaml_matches_safe_load(path: Path) -> None:
    text = path.read_text()
    assert load_yaml(text) == yaml.safe_load(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: [1.5, .inf, -.inf, 0x1f, 1_000, yes, no, ~, null, 2024-01-02, '3']\nc: {d: !!str 4}\n",
        "",
        "[1, 2]",
        "s: !!set {a, b}\no: !!omap [{a: 1}, {b: 2}]\n",
        "a: {x: 1}\nb: {<<: {x: 2}, y: 3}\n",
    ],
)
def test_fast_yaml_scalars(text: str) -> None:
    assert load_yaml(text) == yaml.safe_load(text)


@pytest.mark.parametrize(
    "text",
    ["a: !!python/object/apply:os.system [echo hi]", "a: !!python/name:os.system", "!!python/tuple [1, 2]", "a: !x 1"],
)
def test_fast_yaml_refuses_unsafe_tags(text: str) -> None:
    with pytest.raises(yaml.YAMLError):
        load_yaml(text)


def test_a_run_from_before_the_split_record_still_reads(made, tmp_path: Path) -> None:
    """Run folders written before kept_epoch, split and selected_on_test (validation defaulted to
    test then) read and compare: the kept epoch and the mark come from config.yaml and run.json."""
    from nnrun.compare.keys import lookup

    old = tmp_path / "old"
    shutil.copytree(made.completed["adam"], old)
    record = json.loads((old / "run.json").read_text())
    for key in ("kept_epoch", "split", "selected_on_test", "baseline"):
        record.pop(key, None)
    (old / "run.json").write_text(json.dumps(record))
    metrics = json.loads((old / "metrics.json").read_text())
    metrics.pop("kept", None)
    (old / "metrics.json").write_text(json.dumps(metrics))
    config = yaml.safe_load((old / "config.yaml").read_text())
    config["data"].pop("validation", None)  # the old default: the test split
    config["training"]["early_stopping"] = {"monitor": "val_loss"}
    (old / "config.yaml").write_text(yaml.safe_dump(config))
    run = read_run(old)
    assert run.kept_epoch == (record.get("best_epoch") or record["epochs_run"])
    assert run.selected_on_test is True
    assert lookup(run, "val_loss") is not None and run.diagnosis is not None
