"""A sweep worker takes the next point while the previous point's pictures are drawn: every
point still ends final (run.json says completed only once all its files are written), the
sweep's summary comes after every point is final, and a stop that arrives while a point's
pictures are pending leaves that point completed and whole."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import start_cli, xor_yaml
from tests.experiment.test_pictures import XOR_PICTURES, assert_whole_pngs
from tests.reliability.procs import assert_every_file_parses

#: Every test here starts a sweep with a worker process: only in the full suite.
pytestmark = pytest.mark.slow


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "xor.yaml"
    path.write_text(xor_yaml("xor", epochs=30, metrics=["accuracy"]))
    return path


def _points(sweep_dir: Path) -> list[dict]:
    return json.loads((sweep_dir / "sweep.json").read_text())["points"]


def test_every_point_is_final_with_all_its_pictures_when_the_sweep_returns(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    proc = start_cli("sweep", str(_config(tmp_path)), "--lr", "0.01,0.1,0.3", "--workers", "1", "--out", str(root))
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out + err
    (sweep_dir,) = root.glob("xor/sweep-*")
    points = _points(sweep_dir)
    assert [p["status"] for p in points] == ["completed"] * 3
    run_dirs = [sweep_dir / p["run_dir"] for p in points]
    finals = []
    for run_dir in run_dirs:
        assert assert_every_file_parses(run_dir)["run.json"]["status"] == "completed"
        assert assert_whole_pngs(run_dir) == XOR_PICTURES
        # run.json is the last file of the run to be written
        finals.append((run_dir / "run.json").stat().st_mtime)
        assert max(p.stat().st_mtime for p in run_dir.iterdir()) == finals[-1]
    # the worker took the next point while the one before was still drawing its pictures ...
    starts = [(d / "config.yaml").stat().st_mtime for d in run_dirs]
    assert any(start < final for start, final in zip(starts[1:], finals, strict=False)), (starts, finals)
    # ... and the sweep wrote its summary only once every point was final
    assert (sweep_dir / "summary.csv").stat().st_mtime >= max(finals)


def test_a_stop_while_the_previous_point_draws_its_pictures_leaves_it_completed(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    proc = start_cli(
        "sweep", str(_config(tmp_path)), "--grid", "training.epochs=30,1000000", "--workers", "1",
        "--out", str(root), "--quiet",
    )  # fmt: skip
    end = time.monotonic() + 600
    first_status = None
    while time.monotonic() < end:
        assert proc.poll() is None, proc.communicate()
        second = list(root.glob("xor/sweep-*/p001-*/config.yaml"))
        if second:
            (first,) = root.glob("xor/sweep-*/p000-*/run.json")
            first_status = json.loads(first.read_text())["status"]
            proc.send_signal(signal.SIGINT)  # point 1 has begun; point 0 may still be drawing
            break
        time.sleep(0.005)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGINT, out + err
    assert first_status == "running", "point 0 was already final: the stop did not come while it was closing"

    (sweep_dir,) = root.glob("xor/sweep-*")
    record = json.loads((sweep_dir / "sweep.json").read_text())
    assert record["status"] == "interrupted"
    assert [p["status"] for p in record["points"]] == ["completed", "interrupted"]
    first_dir, second_dir = (sweep_dir / p["run_dir"] for p in record["points"])
    assert assert_every_file_parses(first_dir)["run.json"]["status"] == "completed"
    assert assert_whole_pngs(first_dir) == XOR_PICTURES
    assert assert_every_file_parses(second_dir)["run.json"]["status"] == "interrupted"
    assert (sweep_dir / "summary.csv").is_file()
