"""Commands that load TensorFlow print none of its start-up log lines (absl, oneDNN, cuda...):
checked on what real `nnrun lr-find` and `nnrun rerun` processes write (issue 15 item 3)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import CONFIGS, run_cli

pytestmark = pytest.mark.slow  # they load TensorFlow and train

#: What TensorFlow, absl and oneDNN write to file descriptor 2 while loading.
TF_LOG = re.compile(r"absl|oneDNN|InitializeLog|^[IWE]\d{4} |cuda|TF_ENABLE_ONEDNN_OPTS|tensorflow/", re.MULTILINE)


def assert_quiet(text: str) -> None:
    found = TF_LOG.search(text)
    assert found is None, f"a TensorFlow log line: {text[max(0, found.start() - 200) : found.end() + 200]!r}"


def test_lr_find_prints_no_tensorflow_log(tmp_path: Path) -> None:
    proc = run_cli("lr-find", str(CONFIGS / "xor.yaml"), "--steps", "30", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "suggested learning rate" in proc.stdout
    assert_quiet(proc.stderr + proc.stdout)


def test_rerun_prints_no_tensorflow_log(tmp_path: Path) -> None:
    trained = run_cli("train", str(CONFIGS / "xor.yaml"), "--set", "training.epochs=20", "--out", str(tmp_path), "-q")
    assert trained.returncode == 0, trained.stderr
    (run_dir,) = [p.parent for p in tmp_path.glob("*/*/run.json")]
    proc = run_cli("rerun", str(run_dir))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "identical" in proc.stdout
    assert_quiet(proc.stderr + proc.stdout)
