"""Stopping a real sweep half-way (Ctrl-C, or the sweep process killed outright) and resuming it:
completed points are kept as they are, everything else runs again.

The sweep that is stopped is a real `nnrun sweep` process with its worker; the resume, which is
about what the folder says and not about processes, runs through the CLI's main in this process
(`--backend inline`), so it imports no TensorFlow of its own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import CONFIGS, start_cli

#: Every test here trains or starts nnrun processes: only in the full suite.
pytestmark = pytest.mark.slow

LRS = "0.001,0.01,0.1,1"


def _start(root: Path, new_session: bool = False) -> subprocess.Popen:
    return start_cli(
        *("sweep", str(CONFIGS / "xor.yaml"), "--lr", LRS),
        *("--workers", "1", "--set", "training.epochs=4000", "--out", str(root), "--quiet"),
        start_new_session=new_session,
    )


def _record(sweep_dir: Path) -> dict:
    return json.loads((sweep_dir / "sweep.json").read_text())


def _wait_until_some_completed(root: Path, proc: subprocess.Popen, n: int = 1) -> Path:
    end = time.monotonic() + 600
    while time.monotonic() < end:
        assert proc.poll() is None, proc.communicate()
        found = list(root.glob("xor/sweep-*/sweep.json"))
        if found:
            try:
                record = json.loads(found[0].read_text())
            except ValueError:
                continue
            if sum(p["status"] == "completed" for p in record["points"]) >= n:
                return found[0].parent
        time.sleep(0.05)
    raise AssertionError("no point completed in time")


def _run_statuses(sweep_dir: Path) -> dict[str, str]:
    return {
        run.parent.name: json.loads(run.read_text())["status"]
        for run in sweep_dir.glob("p*/run.json")
        if run.parent.is_dir()
    }


def _resume_and_check(nnrun, sweep_dir: Path, kept: dict[int, str]) -> dict:
    code, out, err = nnrun("sweep", "--resume", sweep_dir, "--backend", "inline", "--quiet")
    assert code == 0, out + err
    record = _record(sweep_dir)
    assert record["status"] == "completed" and record["backend"] == "inline"
    assert [p["status"] for p in record["points"]] == ["completed"] * 4
    for index, run_dir in kept.items():
        assert record["points"][index]["run_dir"] == run_dir  # not trained again
    rerun = [p for p in record["points"] if p["index"] not in kept]
    assert record["resumed"][-1]["points"] == len(rerun)
    # exactly the four current point folders remain, all completed
    assert _run_statuses(sweep_dir) == {p["run_dir"]: "completed" for p in record["points"]}
    assert len((sweep_dir / "summary.csv").read_text().strip().splitlines()) == 1 + 4
    return record


def test_ctrl_c_stops_cleanly_and_resume_finishes(tmp_path: Path, nnrun) -> None:
    root = tmp_path / "runs"
    proc = _start(root)
    sweep_dir = _wait_until_some_completed(root, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err

    record = _record(sweep_dir)
    assert record["status"] == "interrupted"
    statuses = [p["status"] for p in record["points"]]
    assert statuses[0] == "completed" and set(statuses) <= {"completed", "interrupted"}
    assert "interrupted" in statuses
    # no run folder is left claiming to be running: the one in training says interrupted
    runs = _run_statuses(sweep_dir)
    assert set(runs.values()) <= {"completed", "interrupted"}, runs
    for p in record["points"]:
        if p["status"] == "interrupted" and p["run_dir"]:
            assert runs[p["run_dir"]] == "interrupted"
    # the summary covers what finished
    assert (sweep_dir / "summary.md").is_file()

    kept = {p["index"]: p["run_dir"] for p in record["points"] if p["status"] == "completed"}
    resumed = _resume_and_check(nnrun, sweep_dir, kept)
    for p in resumed["points"]:
        if p["index"] not in kept and record["points"][p["index"]]["run_dir"]:
            assert p["attempts"][-1]["status"] == "interrupted"
            assert not (sweep_dir / record["points"][p["index"]]["run_dir"]).exists()


def test_closed_terminal_stops_the_sweep_cleanly(tmp_path: Path) -> None:
    """SIGHUP to the whole process group (the terminal closed): points end interrupted, not crashed."""
    root = tmp_path / "runs"
    proc = _start(root, new_session=True)
    sweep_dir = _wait_until_some_completed(root, proc)
    os.killpg(proc.pid, signal.SIGHUP)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode != 0, out + err
    assert "Traceback" not in err

    record = _record(sweep_dir)
    assert record["status"] == "interrupted"
    statuses = [p["status"] for p in record["points"]]
    assert set(statuses) <= {"completed", "interrupted"}, statuses
    runs = _run_statuses(sweep_dir)
    assert set(runs.values()) <= {"completed", "interrupted"}, runs
    interrupted = [p["run_dir"] for p in record["points"] if p["status"] == "interrupted" and p["run_dir"]]
    for run_dir in interrupted:
        assert (sweep_dir / run_dir / "model.keras").is_file()


def test_sweep_killed_outright_then_resumed(tmp_path: Path, nnrun) -> None:
    root = tmp_path / "runs"
    proc = _start(root)
    sweep_dir = _wait_until_some_completed(root, proc)
    proc.kill()  # SIGKILL: no chance to clean up; sweep.json still says running
    proc.communicate(timeout=60)
    # its worker notices (it gets SIGTERM when its parent dies) and stops the point it was on
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and "running" in _run_statuses(sweep_dir).values():
        time.sleep(0.1)
    assert _record(sweep_dir)["status"] == "running"
    # what the run folders say decides: completed points are kept, even if sweep.json missed them
    kept = {}
    for p in _record(sweep_dir)["points"]:
        if p["run_dir"] and _run_statuses(sweep_dir).get(p["run_dir"]) == "completed":
            kept[p["index"]] = p["run_dir"]
    assert 1 <= len(kept) < 4
    _resume_and_check(nnrun, sweep_dir, kept)
