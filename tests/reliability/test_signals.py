"""Ctrl-C, SIGTERM and SIGKILL sent to a real `nnrun train` child process, for both trainers.

A first SIGINT/SIGTERM ends the run as `interrupted` (exit 130/143) with the history so far,
the model at that point, metrics and a complete run.json. SIGKILL leaves a folder whose
files all parse and that readers show as `crashed`. The in-process tests send real signals
to the test process itself at moments a child process cannot be timed to hit: while the
folder is being set up, twice in a row, and when closing the run fails.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from nnrun.runs.layout import Status
from nnrun.runs.reader import read_run
from tests.conftest import terminal_sigint
from tests.reliability.procs import (
    LONG_XOR,
    SHORT_CANCER,
    TRAINERS,
    assert_every_file_parses,
    compare_json,
    finish,
    first_run_with_history,
    history_rows,
    read_json,
    spawn,
    wait_until,
)

#: Every test here trains or starts nnrun processes: only in the full suite.
pytestmark = pytest.mark.slow


@pytest.fixture
def long_config(tmp_path: Path) -> Path:
    path = tmp_path / "long.yaml"
    path.write_text(LONG_XOR)
    return path


@pytest.mark.parametrize(
    ("trainer", "sig"),
    [("fit", signal.SIGINT), ("graph", signal.SIGINT), ("fit", signal.SIGTERM), ("graph", signal.SIGTERM)],
    ids=["fit-SIGINT", "graph-SIGINT", "fit-SIGTERM", "graph-SIGTERM"],
)
def test_interrupt_keeps_everything_so_far(tmp_path: Path, long_config: Path, trainer: str, sig: int) -> None:
    out = tmp_path / "runs"
    proc = spawn("train", str(long_config), "--set", f"training.trainer={trainer}", "--out", str(out), "-q")
    run_dir = wait_until(first_run_with_history(out), proc, "history.csv has a row")
    proc.send_signal(sig)
    code, stdout, stderr = finish(proc)

    assert code == 128 + sig, stderr
    assert "Traceback" not in stderr
    assert stdout.startswith("interrupted"), stdout
    files = assert_every_file_parses(run_dir)
    record = files["run.json"]
    assert record["status"] == Status.INTERRUPTED
    assert record["stop_reason"] == "interrupted"
    assert record["trainer"] == trainer
    epochs = record["epochs_run"]
    assert 1 <= epochs < 100_000
    assert history_rows(run_dir) == epochs
    assert [int(r[0]) for r in files["history.csv"][1:]] == list(range(1, epochs + 1))
    assert set(files["metrics.json"]) >= {"test", "final"}
    assert record["ended"] is not None and record["duration_seconds"] is not None

    import keras

    model = keras.saving.load_model(run_dir / "model.keras")
    assert model.count_params() == 17  # 2-4-1: the trained network itself, not a stub
    assert read_run(run_dir).status == Status.INTERRUPTED


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGQUIT], ids=["SIGHUP", "SIGQUIT"])
def test_closed_terminal_and_sigquit_stop_like_sigterm(tmp_path: Path, long_config: Path, sig: int) -> None:
    """A closed terminal or dropped SSH session (SIGHUP) and Ctrl-\\ (SIGQUIT) keep the run."""
    out = tmp_path / "runs"
    proc = spawn("train", str(long_config), "--set", "training.trainer=graph", "--out", str(out), "-q")
    run_dir = wait_until(first_run_with_history(out), proc, "history.csv has a row")
    proc.send_signal(sig)
    code, stdout, stderr = finish(proc)

    assert code == 128 + sig, stderr
    assert "Traceback" not in stderr
    files = assert_every_file_parses(run_dir)
    assert files["run.json"]["status"] == Status.INTERRUPTED
    assert files["run.json"]["epochs_run"] == history_rows(run_dir) >= 1
    assert (run_dir / "model.keras").is_file()
    assert read_run(run_dir).status == Status.INTERRUPTED


def test_sigkill_leaves_parseable_folder_shown_as_crashed(tmp_path: Path, long_config: Path) -> None:
    out = tmp_path / "runs"
    proc = spawn("train", str(long_config), "--set", "training.trainer=fit", "--out", str(out), "-q")
    run_dir = wait_until(first_run_with_history(out), proc, "history.csv has a row")
    while_running = compare_json(out)
    proc.kill()
    code, _, _ = finish(proc)

    assert code == -signal.SIGKILL
    assert [r["status"] for r in while_running] == [Status.RUNNING]
    files = assert_every_file_parses(run_dir)
    assert files["run.json"]["status"] == Status.RUNNING  # what the killed process last wrote
    assert files["run.json"]["pid"] == proc.pid
    assert read_run(run_dir).status == Status.CRASHED
    after = compare_json(out)
    assert [(r["status"], r["name"]) for r in after] == [(Status.CRASHED, "long-xor")]
    assert after[0]["epochs"] == history_rows(run_dir) >= 1


# --- in-process: real signals to this process, at moments a child cannot be timed to hit ---


def _prepared(tmp_path: Path, text: str, *overrides: str):
    from nnrun.experiment import prepare_experiment

    path = tmp_path / "config.yaml"
    path.write_text(text)
    return prepare_experiment(path, list(overrides))


@pytest.fixture(name="terminal_sigint")
def _terminal_sigint():
    """SIGINT as an interactive shell leaves it (a test runner's worker may ignore it)."""
    with terminal_sigint():
        yield


def _signal_self(sig: int) -> None:
    # Only the main thread has nnrun's handlers; anywhere else the default action would kill pytest.
    assert threading.current_thread() is threading.main_thread()
    os.kill(os.getpid(), sig)


def test_sigterm_while_setting_up_ends_interrupted_without_training(tmp_path: Path) -> None:
    from nnrun.experiment import execute

    before = signal.getsignal(signal.SIGTERM)
    prepared = _prepared(tmp_path, SHORT_CANCER)
    outcome = execute(prepared, tmp_path / "runs", on_start=lambda run_dir, trainer: _signal_self(signal.SIGTERM))

    assert outcome.status == Status.INTERRUPTED
    assert outcome.exit_code == 143
    files = assert_every_file_parses(outcome.run_dir)
    assert files["run.json"]["status"] == Status.INTERRUPTED
    assert files["run.json"]["epochs_run"] == 0
    assert (outcome.run_dir / "model.keras").is_file()
    assert "test" in files["metrics.json"]  # the untrained model, evaluated: the folder is complete
    assert signal.getsignal(signal.SIGTERM) is before  # handlers restored


@pytest.mark.parametrize("trainer", TRAINERS)
@pytest.mark.usefixtures("terminal_sigint")
def test_second_ctrl_c_aborts_the_step_and_still_closes_the_run(tmp_path: Path, trainer: str) -> None:
    from nnrun.experiment import execute

    prepared = _prepared(tmp_path, LONG_XOR, f"training.trainer={trainer}")
    seen: list[int] = []

    def rows(new: list[dict[str, float]]) -> None:
        seen.extend(int(r["epoch"]) for r in new)
        if len(seen) >= 3:
            _signal_self(signal.SIGINT)  # asks to stop after this step
            _signal_self(signal.SIGINT)  # insists: KeyboardInterrupt right here, inside the trainer

    outcome = execute(prepared, tmp_path / "runs", on_rows=rows)

    assert outcome.status == Status.INTERRUPTED
    assert outcome.exit_code == 130
    files = assert_every_file_parses(outcome.run_dir)
    assert files["run.json"]["status"] == Status.INTERRUPTED
    assert files["run.json"]["epochs_run"] == len(seen) == history_rows(outcome.run_dir)
    assert (outcome.run_dir / "model.keras").is_file()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_failure_while_finishing_is_recorded_as_failed(tmp_path: Path) -> None:
    """The model cannot be saved (its temporary name is taken by a folder): status failed, not running."""
    from nnrun.experiment import execute

    prepared = _prepared(tmp_path, SHORT_CANCER, "training.epochs=2")

    def block_model_file(run_dir: Path, trainer: str) -> None:
        (run_dir / ".model.tmp.keras").mkdir()

    with pytest.raises(Exception) as raised:  # noqa: PT011 - whatever Keras raises is re-raised as is
        execute(prepared, tmp_path / "runs", on_start=block_model_file)

    (run_dir,) = [p.parent for p in (tmp_path / "runs").rglob("run.json")]
    record = read_json(run_dir / "run.json")
    assert record["status"] == Status.FAILED
    assert record["error"]["type"] == type(raised.value).__name__
    assert record["epochs_run"] == 2 == history_rows(run_dir)
    assert read_run(run_dir).status == Status.FAILED
