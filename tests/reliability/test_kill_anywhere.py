"""Kill a real `nnrun train` at random points of its life; the folder must always read back.

Each seed picks a phase (setting up the folder, training, finishing) and a random delay
after the event that starts it. SIGKILL: every JSON/CSV/YAML file parses, model.keras is a
whole zip or absent, at most one temporary file is left (the write the kill cut short; it
is hidden and readers ignore it), and readers show the run as crashed (or completed, when
the kill came too late). SIGTERM: the run ends interrupted with exit 143, or, before the
folder exists, nothing is written at all; never a run left "running" or a traceback.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from nnrun.runs.layout import Status
from nnrun.runs.reader import Unreadable, iter_runs, read_run
from tests.reliability.procs import (
    SHORT_CANCER,
    assert_every_file_parses,
    finish,
    first_run_with_history,
    history_rows,
    run_dirs,
    spawn,
    wait_until,
)

#: Every test here trains or starts nnrun processes: only in the full suite.
pytestmark = pytest.mark.slow

PHASES = ("setup", "training", "finishing")
#: The longest random wait after the start of each phase (finishing takes a fraction of a second).
DELAYS = {"startup": 8.0, "setup": 0.4, "training": 0.6, "finishing": 0.15}


def _event(phase: str, out: Path) -> Callable[[], Path | bool | None]:
    """The moment a phase starts, seen from outside the process."""
    if phase == "startup":
        return lambda: True
    if phase == "setup":
        return lambda: next(iter(run_dirs(out)), None)
    if phase == "training":
        return first_run_with_history(out)
    return lambda: next((d for d in run_dirs(out) if (d / "model.keras").exists()), None)


def _start_and_signal(tmp_path: Path, seed: int, phases: tuple[str, ...], sig: int) -> tuple[Path, str, int, str]:
    rng = random.Random(seed)
    phase = phases[seed % len(phases)]
    delay = rng.uniform(0.0, DELAYS[phase])
    config = tmp_path / "short.yaml"
    config.write_text(SHORT_CANCER)
    out = tmp_path / "runs"
    proc = spawn("train", str(config), "--set", f"training.trainer={rng.choice(['fit', 'graph'])}", "--out", str(out))
    wait_until(_event(phase, out), proc, f"the {phase} phase")
    time.sleep(delay)
    proc.send_signal(sig)
    code, _, stderr = finish(proc)
    return out, phase, code, stderr


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sigkill_anywhere_leaves_only_whole_files(tmp_path: Path, seed: int) -> None:
    out, phase, code, stderr = _start_and_signal(tmp_path, seed, PHASES, signal.SIGKILL)

    assert code in (-signal.SIGKILL, 0), stderr
    (run_dir,) = run_dirs(out)
    files = assert_every_file_parses(run_dir)
    status = files["run.json"]["status"]
    if code == 0:
        assert status == Status.COMPLETED  # the kill came after the process had finished
    else:
        assert status in (Status.RUNNING, Status.COMPLETED), f"killed while {phase}: {status}"
        assert read_run(run_dir).status in (Status.CRASHED, Status.COMPLETED)
    assert not [item for item in iter_runs([out]) if isinstance(item, Unreadable)]


@pytest.mark.parametrize("seed", [0, 2])  # startup, finishing (training: test_signals.py)
def test_sigterm_anywhere_ends_interrupted_or_writes_nothing(tmp_path: Path, seed: int) -> None:
    out, phase, code, stderr = _start_and_signal(tmp_path, seed, ("startup", "training", "finishing"), signal.SIGTERM)

    assert "Traceback" not in stderr
    dirs = run_dirs(out)
    if not dirs:
        # before nnrun's handler (Python starting: the default action) or before the folder existed
        assert code in (-signal.SIGTERM, 143), stderr
        assert not (out / "short-cancer").exists() or not any((out / "short-cancer").iterdir())
        return
    (run_dir,) = dirs
    files = assert_every_file_parses(run_dir)
    status = files["run.json"]["status"]
    if status == Status.COMPLETED:
        # the signal came after the run was closed (exit 0), or while Python was shutting down
        assert code in (0, -signal.SIGTERM), stderr
        return
    assert code == 143, stderr
    assert status == Status.INTERRUPTED, f"SIGTERM while {phase}"
    assert (run_dir / "model.keras").is_file()
    assert files["run.json"]["epochs_run"] == history_rows(run_dir)
