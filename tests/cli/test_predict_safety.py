"""`nnrun predict` never overwrites its input, names the run file it cannot use, and keeps
TensorFlow's log lines off the terminal. Real run folders, real `nnrun predict` processes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from nnrun.errors import NnrunError
from nnrun.predict import check_output, predict_csv
from tests.conftest import CONFIGS, run_cli

#: A run folder made by `nnrun train configs/csv_example.yaml` (3 epochs), its test rows as input.csv.
OLD_RUN = Path(__file__).resolve().parents[1] / "data" / "fixtures" / "csv_run_v1"

TF_NOISE = ("absl", "oneDNN", "I0000", "cuda", "tensorflow/core", "WARNING: All log messages")


@pytest.fixture
def run(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    shutil.copytree(OLD_RUN, folder)
    shutil.copy(OLD_RUN / "input.csv", tmp_path / "in.csv")
    return folder


@pytest.mark.parametrize("spelling", ["same", "other-spelling", "symlink", "hardlink"])
def test_output_that_is_the_input_is_refused(run: Path, tmp_path: Path, spelling: str, nnrun) -> None:
    source = tmp_path / "in.csv"
    before = source.read_bytes()
    out = {"same": source, "other-spelling": tmp_path / "run" / ".." / "in.csv"}.get(spelling)
    if spelling == "symlink":
        out = tmp_path / "link.csv"
        out.symlink_to("in.csv")
    if spelling == "hardlink":
        out = tmp_path / "hard.csv"
        os.link(source, out)
    code, _, err = nnrun("predict", run, source, "-o", out)  # the CLI's main in this process
    assert code == 2, err
    assert "is the input file" in err and "Traceback" not in err
    assert source.read_bytes() == before


def test_output_that_is_a_file_of_the_run_or_a_folder_is_refused(run: Path, tmp_path: Path) -> None:
    with pytest.raises(NnrunError, match="is predictions.csv of the run"):
        check_output(run / "predictions.csv", tmp_path / "in.csv", run)
    with pytest.raises(NnrunError, match="is a folder; give a file name"):
        check_output(tmp_path, tmp_path / "in.csv", run)
    check_output(tmp_path / "new.csv", tmp_path / "in.csv", run)  # a new file is fine


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_bytes(b""), "model.keras is empty"),
        (lambda p: p.write_bytes(p.read_bytes()[:5000]), "model.keras is not a Keras model file"),
        (lambda p: p.write_bytes(os.urandom(20000)), "model.keras is not a Keras model file"),
    ],
    ids=["empty", "truncated", "random"],
)
def test_damaged_model_is_named(run: Path, tmp_path: Path, damage, message: str) -> None:
    damage(run / "model.keras")
    with pytest.raises(NnrunError, match=message):
        predict_csv(run, tmp_path / "in.csv")


@pytest.mark.slow
def test_another_runs_model_is_refused(run: Path, tmp_path: Path) -> None:
    from nnrun.experiment import execute, prepare_experiment

    prepared = prepare_experiment(CONFIGS / "iris_softmax.yaml", ["training.epochs=1"])
    other = execute(prepared, tmp_path / "runs", command=["pytest"]).run_dir
    shutil.copy(other / "model.keras", run / "model.keras")
    with pytest.raises(
        NnrunError, match=r"model.keras takes inputs of shape \[4\] but the run's preprocessing.json makes \[6\]"
    ):
        predict_csv(run, tmp_path / "in.csv")


def test_cli_damaged_model_exit_2_no_traceback(run: Path, tmp_path: Path, nnrun) -> None:
    (run / "model.keras").write_bytes(os.urandom(20000))
    code, _, err = nnrun("predict", run, tmp_path / "in.csv", "-o", tmp_path / "out.csv")  # main in this process
    assert code == 2
    assert "model.keras is not a Keras model file" in err and "Traceback" not in err
    assert not (tmp_path / "out.csv").exists()


def test_cli_edited_preprocessing_json_exit_2(run: Path, tmp_path: Path, nnrun) -> None:
    text = (run / "preprocessing.json").read_text().replace('"color_red"', '"colour_red"')
    (run / "preprocessing.json").write_text(text)
    code, _, err = nnrun("predict", run, tmp_path / "in.csv")  # the CLI's main in this process
    assert code == 2
    assert "preprocessing.json is unusable" in err and "Traceback" not in err


@pytest.mark.slow
def test_predict_prints_no_tensorflow_log_lines(run: Path, tmp_path: Path) -> None:
    proc = run_cli("predict", str(run), str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv"))
    assert proc.returncode == 0, proc.stderr
    assert "48 rows predicted" in proc.stdout
    noise = [line for line in (proc.stdout + proc.stderr).splitlines() if any(n in line for n in TF_NOISE)]
    assert noise == []


@pytest.mark.parametrize("value", ["inf", "1e400"])
def test_infinite_input_value_is_refused(run: Path, tmp_path: Path, value: str) -> None:
    lines = (tmp_path / "in.csv").read_text().splitlines()
    cells = lines[3].split(",")
    cells[1] = value  # length_cm
    lines[3] = ",".join(cells)
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(NnrunError, match=r"bad.csv: column 'length_cm' has the non-finite value inf on line 4"):
        predict_csv(run, tmp_path / "bad.csv")


def test_a_crashed_run_without_a_model_is_called_crashed(run: Path, tmp_path: Path) -> None:
    """predict says what compare and show say: a "running" run whose process is gone crashed."""
    import socket

    record = json.loads((run / "run.json").read_text())
    # "running", written on this host by a process that has ended
    record.update(status="running", host=socket.gethostname(), pid=_pid_of_ended_process())
    (run / "run.json").write_text(json.dumps(record))
    (run / "model.keras").unlink()
    with pytest.raises(NnrunError, match=r"has no model.keras \(run status: crashed\)"):
        predict_csv(run, tmp_path / "in.csv")


def _pid_of_ended_process() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid
