"""Helpers for the reliability tests: real `nnrun` child processes, real run folders.

Waits poll for a condition with a generous ceiling that only guards against a hang (the
machine may be busy); nothing here measures speed.
"""

from __future__ import annotations

import csv
import json
import subprocess
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from tests.conftest import run_cli, start_cli, xor_yaml

T = TypeVar("T")

#: How long a wait may take before the test calls it a hang.
HANG_SECONDS = 600.0

#: Trains for as long as the test wants: it is stopped by a signal long before 100 000 epochs.
LONG_XOR = xor_yaml("long-xor", learning_rate=0.01, epochs=100_000, seed=7, metrics=["accuracy"])

#: A short real training (a few seconds with either trainer), with validation and test metrics.
SHORT_CANCER = """\
name: short-cancer
seed: 11
data: {dataset: breast_cancer, test_size: 0.25, validation: 0.2, standardize: true}
model:
  layers:
    - {type: dense, units: 8, activation: relu}
    - {type: dense, units: 1, activation: sigmoid}
optimizer: {name: adam, learning_rate: 0.01}
loss: binary_crossentropy
metrics: [accuracy]
training: {epochs: 12, batch_size: 64}
"""

#: Unstandardized inputs, a linear network and plain SGD at a rate far too high: the loss
#: overflows to inf/NaN after a few full-batch epochs (epoch 4 with this seed).
DIVERGING = """\
name: diverging
seed: 3
data: {dataset: diabetes, standardize: false}
model:
  layers:
    - {type: dense, units: 8}
    - {type: dense, units: 1}
optimizer: {name: sgd, learning_rate: 0.2}
loss: mse
training: {epochs: 60, batch_size: full}
"""

TRAINERS = ("fit", "graph")


#: Wide enough that no line of nnrun's output is wrapped.
WIDE = {"COLUMNS": "200"}


def spawn(*args: str, cwd: Path | None = None, preexec: Callable[[], None] | None = None) -> subprocess.Popen:
    """Start `python -m nnrun ARGS` as a real child process (output captured, SIGINT at its default)."""
    return start_cli(*args, cwd=cwd, env=WIDE, preexec=preexec)


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=HANG_SECONDS)
    return proc.returncode, out, err


def wait_until(check: Callable[[], T], proc: subprocess.Popen | None = None, what: str = "") -> T:
    """Poll `check` until it returns something truthy; fail if `proc` exits first."""
    deadline = time.monotonic() + HANG_SECONDS
    while True:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"nnrun exited ({proc.returncode}) before {what}\nstdout: {out}\nstderr: {err}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def run_dirs(root: Path) -> list[Path]:
    """Every run folder (a folder holding run.json) under `root`."""
    return sorted(p.parent for p in root.rglob("run.json")) if root.exists() else []


def history_rows(run_dir: Path) -> int:
    try:
        with (run_dir / "history.csv").open(newline="") as fh:
            return max(0, sum(1 for _ in csv.reader(fh)) - 1)
    except FileNotFoundError:
        return 0


def first_run_with_history(root: Path, rows: int = 1) -> Callable[[], Path | None]:
    def check() -> Path | None:
        for d in run_dirs(root):
            if history_rows(d) >= rows:
                return d
        return None

    return check


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


#: Temporary names the atomic writers use: `.<name>.<random>.tmp` and `.model.tmp.keras`.
def is_tmp(name: str) -> bool:
    return name.startswith(".") and (name.endswith(".tmp") or name == ".model.tmp.keras")


def assert_every_file_parses(run_dir: Path) -> dict[str, Any]:
    """Every JSON, CSV and YAML file in `run_dir` parses completely, model.keras is a whole
    zip, and at most one temporary file (the write a kill interrupted) is left over.

    Returns the parsed files by name.
    """
    parsed: dict[str, Any] = {}
    leftovers = []
    for path in sorted(run_dir.iterdir()):
        name = path.name
        if is_tmp(name):
            leftovers.append(name)
            continue
        assert not name.startswith("."), f"unexpected hidden file {path}"
        if name.endswith(".json"):
            parsed[name] = read_json(path)
            assert isinstance(parsed[name], dict), f"{path} is not a JSON object"
        elif name.endswith(".csv"):
            with path.open(newline="", encoding="utf-8") as fh:
                rows = list(csv.reader(fh))
            assert rows, f"{path} is empty"
            width = len(rows[0])
            assert all(len(r) == width for r in rows), f"{path} has a short row"
            if name == "history.csv":
                for r in rows[1:]:
                    [float(v) for v in r]  # every cell is a number (nan/inf spelled out)
            parsed[name] = rows
        elif name.endswith((".yaml", ".yml")):
            parsed[name] = yaml.safe_load(path.read_text(encoding="utf-8"))
            assert isinstance(parsed[name], dict), f"{path} is not a mapping"
        elif name.endswith(".keras"):
            with zipfile.ZipFile(path) as z:
                assert z.testzip() is None, f"{path} is a damaged zip"
    assert len(leftovers) <= 1, f"more than one temporary file left in {run_dir}: {leftovers}"
    return parsed


def compare_json(*paths: Path) -> list[dict[str, Any]]:
    """`nnrun compare PATHS --format json` in a real child process (it never imports TensorFlow)."""
    columns = ("--columns", "run,name,status,epochs")
    proc = run_cli("compare", *map(str, paths), "--format", "json", *columns, env=WIDE, timeout=HANG_SECONDS)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)
