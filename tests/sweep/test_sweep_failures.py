"""Failed points in real sweeps: printed the moment they happen, recorded, and --fail-fast.

Two real ways a point fails after the sweep has validated everything: its worker process is
killed (as the out-of-memory killer would), and its data file changes under a running sweep.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import CONFIGS, start_cli

#: Every test here trains or starts nnrun processes: only in the full suite.
pytestmark = pytest.mark.slow


def _popen(*args: str) -> subprocess.Popen:
    return start_cli("sweep", *args, stderr=subprocess.STDOUT, bufsize=1)


class _Lines:
    """Collect a process's output lines as they arrive, with the time each arrived."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[tuple[float, str]] = []
        self.thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.thread.start()

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)


def _wait_for(predicate, what: str, timeout: float = 600):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _sweep_dir(root: Path) -> Path | None:
    found = list(root.glob("*/sweep-*/sweep.json"))
    return found[0].parent if found else None


def test_a_killed_worker_fails_its_point_which_is_printed_at_once(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    proc = _popen(
        str(CONFIGS / "xor.yaml"),
        # point 0 trains long enough to be killed mid-way; the others are short
        *("--grid", "training.epochs=20000,30,31", "--workers", "1", "--out", str(root)),
    )
    out = _Lines(proc)
    sweep_dir = _wait_for(lambda: _sweep_dir(root), "the sweep folder")
    run_json = _wait_for(lambda: next(iter(sweep_dir.glob("p000-*/run.json")), None), "point 0 to start")
    pid = json.loads(run_json.read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    assert proc.wait(timeout=600) == 1  # a point failed
    out.thread.join(timeout=10)

    record = json.loads((sweep_dir / "sweep.json").read_text())
    statuses = [p["status"] for p in record["points"]]
    assert statuses == ["failed", "completed", "completed"], out.text()
    failed = record["points"][0]
    assert "the worker process died (killed by SIGKILL" in failed["error"]
    # the killed point's run.json no longer claims to be running
    run = json.loads((sweep_dir / failed["run_dir"] / "run.json").read_text())
    assert run["status"] == "failed" and "SIGKILL" in run["error"]["message"]

    (fail_time, fail_line), *_ = [(t, line) for t, line in out.lines if line.startswith("✗ point 0")]
    assert "training.epochs=20000" in fail_line and "killed by SIGKILL" in fail_line
    assert f"run folder: {sweep_dir / failed['run_dir']}" in fail_line
    # printed when it happened: before the next points finished, not in the final report
    later = [t for t, line in out.lines if line.startswith("✓ point")]
    assert len(later) == 2 and fail_time < min(later)
    # the sweep still names its best point among the ones that completed
    assert record["best"]["point"] in (1, 2)


def test_fail_fast_stops_at_the_first_failed_point(tmp_path: Path) -> None:
    config = tmp_path / "fruit.yaml"
    shutil.copy(CONFIGS / "csv_example.yaml", config)
    (tmp_path / "data").mkdir()
    data = tmp_path / "data" / "fruit.csv"
    shutil.copy(CONFIGS / "data" / "fruit.csv", data)
    root = tmp_path / "runs"
    proc = _popen(
        str(config),
        *("--lr", "0.001,0.01,0.1", "--workers", "1", "--set", "training.epochs=2", "--out", str(root)),
        "--fail-fast",
    )
    out = _Lines(proc)
    # the sweep validated every point (data included) before writing sweep.json; now the data
    # file changes under it, before the worker has even loaded TensorFlow
    sweep_dir = _wait_for(lambda: _sweep_dir(root), "the sweep folder")
    data.write_text("weight_g,length_cm,color\n1,2,red\n")
    assert proc.wait(timeout=600) == 1
    out.thread.join(timeout=10)

    record = json.loads((sweep_dir / "sweep.json").read_text())
    assert record["status"] == "stopped"
    assert [p["status"] for p in record["points"]] == ["failed", "skipped", "skipped"], out.text()
    assert "fruit" in record["points"][0]["error"]  # the missing target column, in the error's first line
    assert not [p for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]  # no half folders
    text = out.text()
    assert "✗ point 0 (optimizer.learning_rate=0.001, seed 42) failed: SpecError" in text
    assert "no run folder" in text
    assert "--fail-fast: stopping" in text
    assert "✓ point" not in text
    # the whole traceback is in the worker's log
    log = (sweep_dir / ".logs" / "worker-1.log").read_text()
    assert "point 0 failed" in log and "Traceback" in log
