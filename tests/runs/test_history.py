"""history.csv is appended while a run trains (never rewritten whole), and a torn last line
is never read as an epoch."""

from __future__ import annotations

import math
import os
import signal
from pathlib import Path

import pytest

from nnrun.runs.history import HistoryFile, read_history
from tests.reliability.procs import LONG_XOR, finish, first_run_with_history, history_rows, spawn, wait_until


def test_appends_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    log = HistoryFile(path)
    log.append([{"epoch": 1, "loss": 0.5, "val_loss": math.nan}])
    inode = path.stat().st_ino
    log.append([{"epoch": 2, "loss": 0.25, "val_loss": 0.3}, {"epoch": 3, "loss": math.inf, "val_loss": 0.2}])
    log.close()
    assert path.stat().st_ino == inode
    assert path.read_text() == "epoch,loss,val_loss\n1,0.5,nan\n2,0.25,0.3\n3,inf,0.2\n"
    rows = read_history(path)
    assert [r["epoch"] for r in rows] == [1.0, 2.0, 3.0]
    assert rows[2]["loss"] == math.inf and math.isnan(rows[0]["val_loss"])


def test_a_torn_last_line_is_not_an_epoch(tmp_path: Path) -> None:
    """What a write cut short leaves: the last line has no newline and holds half a number."""
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_loss\n1,0.5,0.6\n2,0.25,0.3\n3,0.1234")
    rows = read_history(path)
    assert [r["epoch"] for r in rows] == [1.0, 2.0]
    assert rows[-1] == {"epoch": 2.0, "loss": 0.25, "val_loss": 0.3}


def test_a_failed_write_leaves_no_torn_line(tmp_path: Path) -> None:
    """A write that fails (here: the file-size limit) is undone, so later appends stay aligned."""
    import resource

    path = tmp_path / "history.csv"
    log = HistoryFile(path)
    log.append([{"epoch": 1, "loss": 0.5}])
    size = path.stat().st_size
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 10, hard))
    try:
        with pytest.raises(OSError, match="history.csv"):
            log.append([{"epoch": e, "loss": 0.1} for e in range(2, 50)])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert path.stat().st_size == size
    log.append([{"epoch": 2, "loss": 0.25}])
    log.close()
    assert [r["epoch"] for r in read_history(path)] == [1.0, 2.0]


@pytest.mark.slow
def test_a_training_run_appends_to_one_file(tmp_path: Path) -> None:
    """While a real run trains, history.csv keeps its inode and only grows (it used to be
    rewritten whole every second, which made long runs quadratic)."""
    config = tmp_path / "long.yaml"
    config.write_text(LONG_XOR)
    out = tmp_path / "runs"
    proc = spawn("train", str(config), "--set", "training.trainer=graph", "--out", str(out), "-q")
    run_dir = wait_until(first_run_with_history(out), proc, "history.csv has a row")
    path = run_dir / "history.csv"
    inode, rows = path.stat().st_ino, history_rows(run_dir)
    wait_until(lambda: history_rows(run_dir) > rows + 1000, proc, "more epochs")
    assert path.stat().st_ino == inode
    os.kill(proc.pid, signal.SIGTERM)
    code, _, stderr = finish(proc)
    assert code == 128 + signal.SIGTERM, stderr
    assert path.stat().st_ino == inode
    epochs = [int(r["epoch"]) for r in read_history(path)]
    assert epochs == list(range(1, len(epochs) + 1))
