"""A run's pictures: drawn in a background thread while the run closes, whole PNGs only,
and the run's status is written once they are."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from nnrun.experiment.pictures import Pictures, help_while
from tests.conftest import xor_yaml
from tests.reliability.procs import assert_every_file_parses, finish, is_tmp, run_dirs, spawn, wait_until

#: The PNGs a two-feature classifier with its insides recorded leaves.
XOR_PICTURES = {
    "loss.png",
    "accuracy.png",
    "confusion_matrix.png",
    "gradients.png",
    "activations.png",
    "weights.png",
    "boundary.png",
    "boundary_epochs.png",
}


def assert_whole_pngs(run_dir: Path) -> set[str]:
    """Every PNG in the folder decodes completely; no temporary file is left. Returns their names."""
    names = set()
    for path in run_dir.iterdir():
        assert not is_tmp(path.name), f"temporary file left: {path}"
        if path.suffix == ".png":
            with Image.open(path) as image:
                image.load()  # decodes every row: a truncated file raises
                assert image.width > 100 and image.height > 100
            names.add(path.name)
    return names


def test_pictures_are_drawn_in_order_and_a_failing_one_is_left_out() -> None:
    drawn: list[str] = []
    pictures = Pictures(lambda: False)
    pictures.add([lambda: drawn.append("a"), lambda: 1 / 0])
    pictures.add([lambda: drawn.append("b")])
    pictures.finish()
    assert drawn == ["a", "b"]
    assert pictures.drawn == 2


def test_a_stop_skips_the_pictures_not_drawn_yet() -> None:
    drawn: list[str] = []
    stop = threading.Event()
    pictures = Pictures(stop.is_set)
    started = threading.Event()

    def slow() -> None:
        started.set()
        time.sleep(0.2)
        drawn.append("slow")

    pictures.add([slow, lambda: drawn.append("next")])
    started.wait(5)
    stop.set()
    pictures.finish()
    assert drawn == ["slow"]  # the picture being drawn is finished (its file whole), the next skipped


def test_abort_waits_for_the_picture_being_drawn() -> None:
    drawn: list[str] = []
    started = threading.Event()

    def slow() -> None:
        started.set()
        time.sleep(0.2)
        drawn.append("slow")

    pictures = Pictures(lambda: False)
    pictures.add([slow, lambda: drawn.append("next")])
    started.wait(5)
    pictures.abort()
    assert drawn == ["slow"]


def test_a_waiting_thread_helps_draw_and_a_closing_step_still_comes_after_every_picture() -> None:
    """A sweep worker waiting for its previous point to close draws the next queued pictures
    itself (`help_while`); the closing step queued after them runs only once all are drawn."""
    order: list[str] = []
    started, release = threading.Event(), threading.Event()

    def blocking() -> None:  # keeps the drawing thread busy
        started.set()
        release.wait(5)
        order.append("drawing thread")

    def helped() -> None:
        assert threading.current_thread() is threading.main_thread()
        time.sleep(0.05)
        order.append("helped")
        release.set()

    pictures = Pictures(lambda: False)
    pictures.add([blocking, helped])
    pictures.then(lambda: order.append("closed"))
    started.wait(5)
    help_while(lambda: "helped" not in order)
    pictures.finish()
    assert order == ["helped", "drawing thread", "closed"]
    assert pictures.drawn == 2


def test_a_worker_with_one_core_only_waits() -> None:
    """With one core for a worker and its drawing process, the waiting worker draws nothing itself."""
    drawn_by: list[str] = []
    started, release = threading.Event(), threading.Event()

    def blocking() -> None:
        started.set()
        release.wait(5)
        drawn_by.append(threading.current_thread().name)

    def queued() -> None:
        drawn_by.append(threading.current_thread().name)

    pictures = Pictures(lambda: False)
    pictures.add([blocking, queued])
    started.wait(5)
    waited = time.monotonic()
    help_while(lambda: time.monotonic() < waited + 0.2, cores=1)
    release.set()
    pictures.finish()
    assert drawn_by == ["nnrun-pictures", "nnrun-pictures"]


@pytest.mark.slow
def test_a_run_leaves_every_picture_whole_before_its_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When run.json says completed, every picture is already a whole PNG."""
    from nnrun.experiment import execute, prepare_experiment
    from nnrun.runs import folder

    seen: dict[str, set[str]] = {}
    real = folder.RunRecord.finish

    def finish_and_look(self, status, **facts):  # noqa: ANN001, ANN003, ANN202
        seen["at_finish"] = {p.name for p in self.dir.glob("*.png")}
        return real(self, status, **facts)

    monkeypatch.setattr(folder.RunRecord, "finish", finish_and_look)
    (tmp_path / "xor.yaml").write_text(xor_yaml("xor", epochs=30, metrics=["accuracy"]))
    outcome = execute(prepare_experiment(tmp_path / "xor.yaml"), tmp_path / "runs")

    assert outcome.status == "completed"
    assert assert_whole_pngs(outcome.run_dir) == XOR_PICTURES
    assert seen["at_finish"] == XOR_PICTURES


@pytest.mark.slow
def test_a_signal_while_the_pictures_are_drawn_leaves_whole_pngs_and_a_final_status(tmp_path: Path) -> None:
    """SIGTERM as soon as the first picture appears: whichever way the race goes, the run ends
    with a final status that matches the exit code, and every PNG there is whole."""
    (tmp_path / "xor.yaml").write_text(xor_yaml("xor", epochs=30, metrics=["accuracy"]))
    out = tmp_path / "runs"
    proc = spawn("train", str(tmp_path / "xor.yaml"), "--out", str(out))
    run_dir = wait_until(
        lambda: next((d for d in run_dirs(out) if any(d.glob("*.png")) or any(d.glob(".*.png.*.tmp"))), None),
        proc,
        "the first picture",
    )
    proc.send_signal(signal.SIGTERM)
    code, _, stderr = finish(proc)

    assert "Traceback" not in stderr
    status = assert_every_file_parses(run_dir)["run.json"]["status"]
    assert (status, code) in {("completed", 0), ("interrupted", 128 + signal.SIGTERM)}, (status, code, stderr)
    names = assert_whole_pngs(run_dir)
    assert names <= XOR_PICTURES
    assert (run_dir / "model.keras").is_file() and (run_dir / "metrics.json").is_file()


#: A sweep worker's drawing process, in a process of its own: the drawing code loaded first
#: (as in a worker forked from the fork server), one picture drawn there, the process ended.
_DRAWING_PROCESS = """
import os, sys
from functools import partial
from pathlib import Path

import nnrun.inspect.plots
from nnrun import figure_cache, plots
from nnrun.experiment import pictures

out, fresh = Path(sys.argv[1]), sys.argv[2] == "fresh"
if fresh:
    pictures._Fork.start = staticmethod(lambda: None)
pictures.use_process()
kind = type(pictures._drawer.process.proc).__name__
run = pictures.Pictures(lambda: False)
run.add([partial(plots.curves, [{"epoch": float(i), "loss": 1.0 / i} for i in range(1, 6)], out, "t")])
run.finish()
pictures.stop_process()
try:
    os.waitpid(-1, os.WNOHANG)
    left = "a child left"
except ChildProcessError:
    left = "no child left"
print(kind, run.drawn, len(figure_cache._KEPT), left, sorted(p.name for p in out.iterdir()))
"""


@pytest.mark.slow
@pytest.mark.parametrize(("how", "made"), [("fork", "_Fork"), ("fresh", "Popen")])
def test_a_worker_s_pictures_are_drawn_in_its_drawing_process(tmp_path: Path, how: str, made: str) -> None:
    import os
    import subprocess
    import sys

    # one thread, as a worker forked from the fork server has (numpy's BLAS would start a pool)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _DRAWING_PROCESS, str(tmp_path), how],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    # drawn there (this process kept no figure), the process ended and waited for
    assert done.stdout.split("[")[0].split() == [made, "1", "0", "no", "child", "left"], done.stdout
    assert assert_whole_pngs(tmp_path) == {"loss.png"}
