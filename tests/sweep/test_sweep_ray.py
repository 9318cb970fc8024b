"""`--backend ray` on a local Ray: the same sweep as nnrun's own backends, the same folder layout,
and the same numbers for the same seeds.

The sweep it is checked against trains its points in this process (`--backend inline`, the same
`worker.run_point` as a local worker; tests/sweep/test_warm.py shows a worker's points equal
fresh runs bit for bit), so the only processes started are Ray's."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CONFIGS, requires, run_cli, start_cli

#: Every test here trains or starts nnrun processes: only in the full suite.
pytestmark = pytest.mark.slow

ARGS = ["--lr", "0.01,0.1,1", "--workers", "2", "--set", "training.epochs=20", "--quiet"]


def _start(root: Path, *extra: str) -> subprocess.Popen:
    return start_cli("sweep", str(CONFIGS / "xor.yaml"), *ARGS, "--out", str(root), *extra)


def _read(root: Path) -> tuple[dict, Path]:
    (sweep_dir,) = (root / "xor").iterdir()
    return json.loads((sweep_dir / "sweep.json").read_text()), sweep_dir


def _finish(proc: subprocess.Popen, root: Path) -> tuple[dict, Path]:
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, out + err
    return _read(root)


def _history(sweep_dir: Path, point: dict) -> list[dict[str, str]]:
    return list(csv.DictReader((sweep_dir / point["run_dir"] / "history.csv").open()))


@requires("ray", "ray")
def test_ray_backend_matches_the_inline_backend(tmp_path: Path, nnrun) -> None:
    # both at once: Ray starts up while this process trains the same points
    ray_proc = _start(tmp_path / "ray", "--backend", "ray")
    try:
        code, out, err = nnrun("sweep", CONFIGS / "xor.yaml", *ARGS, "--backend", "inline", "--out", tmp_path / "local")
    except BaseException:
        ray_proc.kill()
        raise
    ray_record, ray_dir = _finish(ray_proc, tmp_path / "ray")
    assert code == 0, out + err
    local_record, local_dir = _read(tmp_path / "local")

    assert ray_record["backend"] == "ray" and ray_record["status"] == "completed"
    assert [p["values"] for p in ray_record["points"]] == [p["values"] for p in local_record["points"]]
    for lp, rp in zip(local_record["points"], ray_record["points"], strict=True):
        assert rp["status"] == "completed"
        assert (ray_dir / rp["run_dir"]).parent == ray_dir  # the same layout: one run folder per point
        assert _history(ray_dir, rp) == _history(local_dir, lp)  # the same numbers, to the last digit
        run = json.loads((ray_dir / rp["run_dir"] / "run.json").read_text())
        assert run["status"] == "completed" and run["sweep"]["index"] == rp["index"]
    for name in ("summary.csv", "summary.md", "curves.png", "lr_vs_metric.png"):
        assert (ray_dir / name).is_file(), name
    columns = ["optimizer.learning_rate", "best_val_loss", "final_val_loss", "test_accuracy", "test_loss"]
    ray_rows = list(csv.DictReader((ray_dir / "summary.csv").open()))
    local_rows = list(csv.DictReader((local_dir / "summary.csv").open()))
    assert [[r[c] for c in columns] for r in ray_rows] == [[r[c] for c in columns] for r in local_rows]
    assert ray_record["best"]["point"] == local_record["best"]["point"]


def test_missing_ray_is_a_clean_error(tmp_path: Path) -> None:
    # a Python that cannot import ray: shadow it with a package that raises ImportError
    fake = tmp_path / "fake"
    (fake / "ray").mkdir(parents=True)
    (fake / "ray" / "__init__.py").write_text("raise ImportError('no ray here')\n")
    args = ("sweep", str(CONFIGS / "xor.yaml"), "--lr", "0.1,1", "--backend", "ray", "--out", str(tmp_path / "runs"))
    proc = run_cli(*args, env={"PYTHONPATH": str(fake)})
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'nnrun[ray]'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "runs").exists()
