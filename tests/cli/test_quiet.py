"""Commands that load TensorFlow print none of its start-up log lines (absl, oneDNN, cuda...):
checked on what real `nnrun train`, `sweep`, `lr-find`, `rerun` and a Python script calling
`nnrun.train` write (`predict`: tests/cli/test_predict.py); `--verbose` lets them through
(issue 15 item 3)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CONFIGS, ROOT, run_cli

pytestmark = pytest.mark.slow  # they load TensorFlow and train

#: What TensorFlow, absl and oneDNN write to file descriptor 2 while loading.
TF_LOG = re.compile(r"absl|oneDNN|InitializeLog|^[IWE]\d{4} |cuda|TF_ENABLE_ONEDNN_OPTS|tensorflow/", re.MULTILINE)


def assert_quiet(text: str) -> None:
    found = TF_LOG.search(text)
    assert found is None, f"a TensorFlow log line: {text[max(0, found.start() - 200) : found.end() + 200]!r}"


def test_rerun_prints_no_tensorflow_log(tmp_path: Path) -> None:
    trained = run_cli("train", str(CONFIGS / "xor.yaml"), "--set", "training.epochs=20", "--out", str(tmp_path), "-q")
    assert trained.returncode == 0, trained.stderr
    (run_dir,) = [p.parent for p in tmp_path.glob("*/*/run.json")]
    proc = run_cli("rerun", str(run_dir))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "identical" in proc.stdout
    assert_quiet(proc.stderr + proc.stdout)


def test_verbose_lets_tensorflow_log_through(tmp_path: Path) -> None:
    proc = run_cli(
        "--verbose", "train", str(CONFIGS / "xor.yaml"), "--set", "training.epochs=2", "--out", str(tmp_path)
    )
    assert proc.returncode == 0, proc.stderr
    assert TF_LOG.search(proc.stderr + proc.stdout), "--verbose hid TensorFlow's log lines"


XOR = str(CONFIGS / "xor.yaml")

#: command -> (its arguments before --out, what its output shows when it worked)
COMMANDS = {
    "lr-find": (["lr-find", XOR, "--steps", "30"], "suggested learning rate"),
    "train": (["train", XOR, "--set", "training.epochs=5"], "run folder"),
    "sweep": (["sweep", XOR, "--lr", "0.1,1", "--set", "training.epochs=5", "-w", "2"], "sweep folder"),
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_command_prints_no_tensorflow_log(command: str, tmp_path: Path) -> None:
    args, shows = COMMANDS[command]
    proc = run_cli(*args, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert shows in proc.stdout
    assert_quiet(proc.stderr + proc.stdout)


def test_python_api_prints_no_tensorflow_log(tmp_path: Path) -> None:
    script = (
        "import nnrun\n"
        f"run = nnrun.train({str(CONFIGS / 'xor.yaml')!r}, {{'training.epochs': 5}}, out={str(tmp_path)!r})\n"
        "print('status', run.status)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "status completed" in proc.stdout
    assert_quiet(proc.stderr + proc.stdout)
