"""Commands that load TensorFlow print none of its start-up log lines (absl, oneDNN, cuda...):
checked here on what real `nnrun lr-find` and `sweep` write; `--verbose` lets them through
(issue 15 item 3). The same check runs where those processes are started anyway: `nnrun train`
and `nnrun rerun` in tests/api/test_api_train.py (test_python_runs_are_the_clis_runs), a Python
script calling `nnrun.train` there too (test_ctrl_c_leaves_an_interrupted_run_and_returns), and
`predict` in tests/cli/test_predict_safety.py."""

from __future__ import annotations

import pytest

from tests.conftest import CONFIGS, TF_LOG, assert_quiet, run_cli

pytestmark = pytest.mark.slow  # they load TensorFlow and train


def test_verbose_lets_tensorflow_log_through(tmp_path) -> None:
    proc = run_cli(
        "--verbose", "train", str(CONFIGS / "xor.yaml"), "--set", "training.epochs=2", "--out", str(tmp_path)
    )
    assert proc.returncode == 0, proc.stderr
    assert TF_LOG.search(proc.stderr + proc.stdout), "--verbose hid TensorFlow's log lines"


XOR = str(CONFIGS / "xor.yaml")

#: command -> (its arguments before --out, what its output shows when it worked). One sweep
#: worker: its output reaches the sweep's the same way whatever the number of workers.
COMMANDS = {
    "lr-find": (["lr-find", XOR, "--steps", "30"], "suggested learning rate"),
    "sweep": (["sweep", XOR, "--lr", "0.1,1", "--set", "training.epochs=5", "-w", "1"], "sweep folder"),
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_command_prints_no_tensorflow_log(command: str, tmp_path) -> None:
    args, shows = COMMANDS[command]
    proc = run_cli(*args, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert shows in proc.stdout
    assert_quiet(proc.stderr + proc.stdout)
