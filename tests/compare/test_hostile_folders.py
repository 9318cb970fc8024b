"""Hostile and odd run folders never hang or crash the readers (issue 17.11, 17.13):
FIFOs, a symlink to /, wrong-typed and non-finite values, rich markup in strings, a
malformed confusion matrix, a dangling PNG link, lr-find folders."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from nnrun.runs.reader import RunInfo, iter_runs
from tests.compare.made_runs import MadeRuns
from tests.conftest import run_cli

MARKUP = "[/red]"


def _fifo_runs(made: MadeRuns, root: Path) -> dict[str, Path]:
    runs = {}
    for i, name in enumerate(("run.json", "metrics.json", "history.csv", "config.yaml")):
        run = root / "moons" / f"fifo-{i}"
        shutil.copytree(made.completed["adam"], run)
        (run / name).unlink()
        os.mkfifo(run / name)
        runs[name] = run
    return runs


@pytest.mark.slow
def test_fifos_never_hang_compare_show_or_report(made: MadeRuns, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    runs = _fifo_runs(made, root)
    shutil.copytree(made.completed["sgd"], root / "moons" / "normal")
    commands = [
        ["compare", str(root)],
        ["compare", str(root), "--format", "json"],
        ["report", str(root), "-o", str(tmp_path / "r.html")],
        *(["show", str(run)] for run in runs.values()),
    ]
    for args in commands:
        proc = run_cli(*args, timeout=120)
        assert "Traceback" not in proc.stderr, (args, proc.stderr)
        assert proc.returncode in (0, 2), (args, proc.stdout, proc.stderr)
    proc = run_cli("compare", str(root), "--format", "json")
    listed = {Path(r["dir"]).name for r in json.loads(proc.stdout)}
    # a FIFO for history.csv reads as no history; run.json or metrics.json: skipped, with the reason
    assert {"normal", "fifo-2"} <= listed and not {"fifo-0", "fifo-1"} & listed
    assert "run.json" in proc.stderr and "not a regular file" in proc.stderr


def test_a_symlink_to_the_root_inside_a_runs_folder_is_not_walked(made: MadeRuns, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    shutil.copytree(made.completed["adam"], root / "moons" / "a")
    (root / "moons" / "everything").symlink_to("/")
    (root / "elsewhere").symlink_to(made.root)
    start = time.monotonic()
    found = list(iter_runs([root]))
    assert time.monotonic() - start < 10
    assert [r.dir for r in found if isinstance(r, RunInfo)] == [root / "moons" / "a"]
    # a symlink given on the command line is followed
    assert any(isinstance(r, RunInfo) for r in iter_runs([root / "elsewhere"]))


def _odd_run(made: MadeRuns, root: Path) -> Path:
    run = root / "moons" / "odd"
    shutil.copytree(made.completed["adam"], run)
    record = json.loads((run / "run.json").read_text())
    record.update(
        started=5,
        ended=[1],
        name=MARKUP,
        trainer=MARKUP,
        host="[bold]h[/]",
        stop_reason=MARKUP,
        hint=MARKUP,
        error={"type": MARKUP, "message": "[/x]"},
        diagnosis={"verdict": MARKUP, "label": MARKUP, "hint": "[/y]"},
        command=["nnrun", MARKUP],
        epochs_run="many",
        pid="x",
        seed=MARKUP,
    )
    text = json.dumps(record)
    text = text.replace('"duration_seconds": ' + json.dumps(record["duration_seconds"]), '"duration_seconds": Infinity')
    text = text.replace('"train_seconds": ' + json.dumps(record["train_seconds"]), '"train_seconds": NaN')
    (run / "run.json").write_text(text)
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["test"]["confusion_matrix"] = [1, "x", [2, 3, 4]]
    metrics["test"]["class_names"] = [MARKUP, "b", "c"]
    metrics["best_val_loss"] = {"epoch": MARKUP, "val_loss": "low"}
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "loss.png").unlink()
    (run / "loss.png").symlink_to(run / "gone.png")
    (run / "config.yaml").write_text((run / "config.yaml").read_text().replace("name: ", "name: '[/red]' #", 1))
    return run


def test_odd_values_do_not_crash_compare_show_or_report(made: MadeRuns, nnrun, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    odd = _odd_run(made, root)
    shutil.copytree(made.completed["sgd"], root / "moons" / "normal")
    for fmt in ("table", "csv", "json", "markdown"):
        code, out, err = nnrun("compare", root, "--format", fmt)
        assert code == 0, err
        assert "skipped" not in err
    code, out, err = nnrun("compare", root, "--sort", "started", "--format", "json")
    assert code == 0 and len(json.loads(out)) == 2, err
    code, out, err = nnrun("show", odd)
    assert code == 0, err
    assert MARKUP in out and "[/x]" in out and "[bold]h[/]" in out  # shown as the text it is
    code, out, err = nnrun("report", root, "-o", tmp_path / "r.html")
    assert code == 0, err
    assert "&lt;" not in MARKUP and MARKUP in (tmp_path / "r.html").read_text()


def test_odd_values_read_as_none(made: MadeRuns, tmp_path: Path) -> None:
    (run,) = [r for r in iter_runs([_odd_run(made, tmp_path / "runs")]) if isinstance(r, RunInfo)]
    assert run.started is None and run.train_seconds is None and run.epochs is None
    assert run.record["started"] is None and run.record["pid"] is None
    assert run.duration is None or run.duration >= 0
    assert run.best_val_loss[1] is not None  # from history.csv, as for runs without the figure
    assert run.name == MARKUP and run.record["trainer"] == MARKUP  # unknown fields are kept


def test_lr_find_folders_are_left_out_without_a_message(made: MadeRuns, nnrun, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    shutil.copytree(made.completed["adam"], root / "moons" / "a")
    lr = root / "moons" / "lr-find-20240101-000000-abcdef"
    lr.mkdir(parents=True)
    (lr / "lr_find.json").write_text('{"suggestion": 0.01}')
    (lr / "lr_find.csv").write_text("learning_rate,loss\n0.01,0.5\n")
    (lr / "config.yaml").write_text((made.completed["adam"] / "config.yaml").read_text())
    for args in (["compare", root], ["report", root, "-o", tmp_path / "r.html"]):
        code, out, err = nnrun(*args)
        assert code == 0 and "lr-find" not in err and "skipped" not in err, err
    items = list(iter_runs([root]))
    assert [r.dir for r in items] == [root / "moons" / "a"]
    assert list(iter_runs([lr])) == []
