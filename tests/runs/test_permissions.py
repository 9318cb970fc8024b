"""Files in a run folder honour the umask (issue 17.16): a shared runs folder stays readable."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

WRITE = """
import os, sys
os.umask(int(sys.argv[2], 8))
from pathlib import Path
from nnrun.runs.files import atomic_write_json, atomic_write_text, write_csv_rows
d = Path(sys.argv[1])
atomic_write_json(d / "run.json", {"status": "completed"})
atomic_write_text(d / "summary.txt", "x")
write_csv_rows(d / "history.csv", [{"epoch": 1, "loss": 0.5}])
"""


def modes(folder: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir() if p.is_file() and not p.is_symlink()}


@pytest.mark.parametrize(("umask", "mode"), [("022", 0o644), ("027", 0o640), ("002", 0o664), ("077", 0o600)])
def test_atomic_writes_get_the_umask_mode(tmp_path: Path, umask: str, mode: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", WRITE, str(tmp_path), umask], check=True, env=env, timeout=60)
    assert modes(tmp_path) == {"run.json": mode, "summary.txt": mode, "history.csv": mode}


@pytest.mark.slow
def test_every_file_of_a_trained_run_is_readable_by_the_group_and_others(tmp_path: Path, nnrun) -> None:
    config = tmp_path / "xor.yaml"
    config.write_text(
        "name: perms\nseed: 1\ndata: {dataset: xor}\n"
        "model:\n  layers:\n    - {type: dense, units: 4, activation: tanh}\n"
        "    - {type: dense, units: 1, activation: sigmoid}\n"
        "optimizer: {name: adam, learning_rate: 0.05}\nloss: binary_crossentropy\n"
        "metrics: [accuracy]\ntraining: {epochs: 5, batch_size: full}\n"
    )
    out = tmp_path / "runs"
    before = os.umask(0o022)  # trained through the CLI's main in this process, under umask 022
    try:
        code, _, err = nnrun("train", config, "--out", out, "--quiet")
    finally:
        os.umask(before)
    assert code == 0, err
    (run,) = (out / "perms").iterdir()
    found = modes(run)
    assert {"run.json", "config.yaml", "history.csv", "metrics.json", "model.keras"} <= set(found)
    assert found == dict.fromkeys(found, 0o644)
