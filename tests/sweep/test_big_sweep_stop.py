"""Stopping a big sweep (issue 17.7): every pending point is settled in one sweep.json write,
so Ctrl-C on a few-thousand-point grid ends within seconds (it took 81 s at 2 000 points when
each point was its own multi-megabyte fsynced write), a second Ctrl-C too, and the record is
consistent: no point left pending or running. A large grid is announced with a warning."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import start_cli, xor_yaml

#: 60 x 50 = 3 000 points of a tiny XOR model.
BIG = xor_yaml(
    "big",
    units=2,
    learning_rate=0.01,
    epochs=2,
    seed=1,
    sweep={
        "grid": {
            "training.epochs": list(range(1, 61)),
            "optimizer.learning_rate": [round(0.001 * (i + 1), 3) for i in range(50)],
        }
    },
)
#: Generous for a shared 2-core machine; the quadratic stop took far longer.
STOP_SECONDS = 30


def _started(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    config = tmp_path / "big.yaml"
    config.write_text(BIG)
    proc = start_cli("sweep", str(config), "--workers", "1", "--out", str(tmp_path / "runs"), "--quiet")
    end = time.monotonic() + 600
    while time.monotonic() < end:
        assert proc.poll() is None, proc.communicate()
        for path in (tmp_path / "runs").glob("big/sweep-*/sweep.json"):
            try:
                record = json.loads(path.read_text())
            except ValueError:
                continue
            if any(p["status"] == "completed" for p in record["points"]):
                return proc, path.parent
        time.sleep(0.1)
    raise AssertionError("no point completed in time")


def _stopped(proc: subprocess.Popen, sweep: Path, signals: int) -> tuple[float, str, dict]:
    start = time.monotonic()
    for i in range(signals):
        if i:
            time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    elapsed = time.monotonic() - start
    return elapsed, out + err, json.loads((sweep / "sweep.json").read_text())


def _consistent(record: dict) -> None:
    assert len(record["points"]) == 3000
    assert record["status"] == "interrupted"
    statuses = {p["status"] for p in record["points"]}
    assert statuses <= {"completed", "interrupted"}, statuses
    assert sum(p["status"] == "interrupted" for p in record["points"]) > 2000


@pytest.mark.slow
def test_ctrl_c_on_a_big_sweep_ends_within_seconds(tmp_path: Path) -> None:
    proc, sweep = _started(tmp_path)
    elapsed, output, record = _stopped(proc, sweep, signals=1)
    assert proc.returncode != 0
    assert elapsed < STOP_SECONDS, f"stopping took {elapsed:.0f} s"
    _consistent(record)
    assert "3000 points to train" in output


@pytest.mark.slow
def test_a_second_ctrl_c_ends_it_at_once_with_the_record_consistent(tmp_path: Path) -> None:
    proc, sweep = _started(tmp_path)
    elapsed, _, record = _stopped(proc, sweep, signals=2)
    assert elapsed < STOP_SECONDS, f"stopping took {elapsed:.0f} s"
    _consistent(record)
