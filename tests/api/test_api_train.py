"""Training from Python: the same run folders as the CLI (`nnrun rerun` agrees), a warm second
call, the `Run` and `Sweep` objects, and Ctrl-C that leaves an interrupted run and returns."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import nnrun
from nnrun.runs.layout import RunFolder
from nnrun.runs.match import compare_runs
from tests.conftest import CONFIGS, ROOT, assert_quiet, child_env, missing_run_files, run_cli, terminal_signals

pytestmark = pytest.mark.slow

XOR = CONFIGS / "xor.yaml"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[nnrun.Run, nnrun.Run, Path]:
    """Two XOR runs in this process, the second warm (TensorFlow already loaded)."""
    out = tmp_path_factory.mktemp("py") / "runs"
    first = nnrun.train(XOR, out=out)
    second = nnrun.train(XOR, overrides={"optimizer.learning_rate": 0.1}, out=out)
    return first, second, out


def test_python_runs_are_the_clis_runs(trained, tmp_path: Path) -> None:
    first, second, _ = trained
    assert first.status == second.status == "completed"
    assert not missing_run_files(first.dir) and not missing_run_files(second.dir)
    proc = run_cli("train", str(XOR), "--set", "optimizer.learning_rate=0.1", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "run folder" in proc.stdout
    assert_quiet(proc.stderr + proc.stdout)  # no TensorFlow log line (tests/cli/test_quiet.py)
    (cli_dir,) = (tmp_path / "xor").iterdir()
    match = compare_runs(cli_dir, second.dir)
    assert match.identical, match.lines()
    assert match.epochs == 500
    proc = run_cli("rerun", str(first.dir), "--out", str(tmp_path / "rerun"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "identical" in proc.stdout
    assert_quiet(proc.stderr + proc.stdout)


def test_a_run_object_shows_its_folder(trained) -> None:
    _, run, _ = trained
    history = run.history
    assert isinstance(history, pd.DataFrame) and len(history) == 500
    assert history["loss"].iloc[-1] == run.metrics["final"]["loss"]
    assert run.config["optimizer"]["learning_rate"] == 0.1
    assert run.test["accuracy"] == 1.0 and run.diagnosis["verdict"] == "good fit"
    fig = run.plot("accuracy")
    assert fig.axes[0].get_title() == "xor: accuracy"
    assert [line.get_label() for line in fig.axes[0].lines][:2] == ["train accuracy", "validation accuracy"]
    html = run._repr_html_()
    assert "completed" in html and "good fit" in html and "data:image/png;base64," in html
    with pytest.raises(nnrun.NnrunError, match="no column 'f1'"):
        run.plot("f1")


def test_predict_matches_the_runs_own_predictions(trained) -> None:
    _, run, _ = trained
    expected = pd.read_csv(run.files.predictions)
    rows = pd.DataFrame({"x1": [0.0, 1.0, 1.0, 0.0], "x2": [0.0, 0.0, 1.0, 1.0]})
    got = run.predict(rows)
    assert {"row", "predicted", "p_0", "p_1"} <= set(got.columns)
    by_input = {(0, 0): "0", (1, 0): "1", (1, 1): "0", (0, 1): "1"}  # class names
    assert got["predicted"].tolist() == [by_input[(int(a), int(b))] for a, b in zip(rows.x1, rows.x2, strict=True)]
    assert set(expected["predicted"]) == {0, 1}
    assert run.model is run.model  # loaded once
    with pytest.raises(nnrun.NnrunError, match="x2"):
        run.predict(rows.drop(columns="x2"))


def test_a_sweep_from_python(trained, tmp_path: Path) -> None:
    sweep = nnrun.sweep(
        XOR,
        grid={"model.layers.0.units": [2, 4]},
        lr=[0.05],
        overrides={"training.epochs": 40},
        workers=1,
        out=tmp_path,
    )
    assert sweep.status == "completed"
    summary = sweep.summary
    assert len(summary) == 2 and {"model.layers.0.units", "optimizer.learning_rate"} <= set(summary.columns)
    assert len(sweep.runs) == 2 and all(r.status == "completed" for r in sweep.runs)
    assert sweep.best in sweep.runs
    assert sweep.best_point["criterion"]
    fig = sweep.plot()
    assert len(fig.axes[0].lines) == 2
    html = sweep._repr_html_()
    assert "best: point" in html and "<table" in html and "2 completed" in html
    assert sweep.status_counts() == {"completed": 2} and "completed, 2 completed)" in repr(sweep)
    assert len(nnrun.runs(sweep.dir)) == 2
    assert nnrun.load(sweep.dir) == sweep


CHILD = """
import sys, nnrun
try:
    nnrun.train(sys.argv[1], overrides={"training.epochs": 1000000}, out=sys.argv[2])
except nnrun.TrainingInterrupted as exc:
    print("INTERRUPTED", exc.result.status, exc.result.record["epochs_run"], flush=True)
again = nnrun.train(sys.argv[1], overrides={"training.epochs": 5}, out=sys.argv[2])
print("AGAIN", again.status, flush=True)
"""


def test_ctrl_c_leaves_an_interrupted_run_and_returns(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    out = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(XOR), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=child_env({"PYTHONPATH": str(ROOT)}),
        preexec_fn=terminal_signals,
    )
    deadline = time.monotonic() + 240
    while not list(out.glob(f"xor/*/{RunFolder.HISTORY}")):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 0, stderr[-2000:]
    lines = stdout.split()
    assert lines[:2] == ["INTERRUPTED", "interrupted"] and int(lines[2]) > 0
    assert "AGAIN completed" in stdout
    assert_quiet(stderr + stdout)  # a script calling nnrun.train prints no TensorFlow log line either
    statuses = sorted(nnrun.load(d).status for d in (out / "xor").iterdir())
    assert statuses == ["completed", "interrupted"]
