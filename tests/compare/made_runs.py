"""Real run folders for the reader, compare, show and report tests.

`make_runs(root)` trains tiny real models through `nnrun.experiment` (the same code path as
`nnrun train`) and then adds the awkward cases a real `runs/` collects: a run that failed
for real, one interrupted by a real SIGINT, a sweep folder, a corrupted copy, a folder that
is not a run, and a run killed without a chance to write its status (crashed).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from nnrun.runs.layout import Status
from tests.conftest import terminal_sigint

MOONS = """
name: moons
seed: 3
data: {{dataset: moons, n_samples: 120}}
model:
  layers:
    - {{type: dense, units: {units}, activation: relu}}
    - {{type: dense, units: 1, activation: sigmoid}}
optimizer: {{name: {optimizer}, learning_rate: {lr}}}
loss: binary_crossentropy
training: {{epochs: {epochs}, batch_size: full}}
"""

LINEAR = """
name: line
data: {dataset: linear, n_samples: 80}
model: {layers: [{type: dense, units: 1}]}
optimizer: {name: adam, learning_rate: 0.1}
loss: mse
training: {epochs: 8, batch_size: full}
"""


@dataclass
class MadeRuns:
    """Where everything is; `completed` maps a label to a run folder."""

    root: Path
    completed: dict[str, Path] = field(default_factory=dict)
    failed: Path | None = None
    interrupted: Path | None = None
    sweep: Path | None = None
    sweep_points: list[Path] = field(default_factory=list)
    corrupted: Path | None = None
    not_a_run: Path | None = None
    crashed: Path | None = None

    @property
    def readable(self) -> list[Path]:
        return [
            *self.completed.values(),
            self.failed,
            self.interrupted,
            *self.sweep_points,
            self.crashed,
        ]


def _train(config_path: Path, out: Path, **kwargs):
    from nnrun.experiment import execute, prepare_experiment

    return execute(prepare_experiment(config_path), out, command=["nnrun", "train", str(config_path)], **kwargs)


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def make_runs(root: Path) -> MadeRuns:

    configs = root / "configs"
    configs.mkdir(parents=True)
    out = root / "runs"
    made = MadeRuns(out)

    def config(name: str, text: str) -> Path:
        path = configs / f"{name}.yaml"
        path.write_text(text)
        return path

    variants = {
        "adam": {"units": 8, "optimizer": "adam", "lr": 0.05},
        "sgd": {"units": 8, "optimizer": "sgd", "lr": 0.5},
        "small": {"units": 4, "optimizer": "adam", "lr": 0.01},
    }
    for label, v in variants.items():
        made.completed[label] = _train(config(label, MOONS.format(epochs=12, **v)), out).run_dir
    made.completed["line"] = _train(config("line", LINEAR), out).run_dir

    # failed for real: the validation split no longer fits the model's input
    from nnrun.experiment import execute, prepare_experiment

    prepared = prepare_experiment(config("failing", MOONS.format(epochs=12, units=8, optimizer="adam", lr=0.05)))
    prepared.data.x_val = prepared.data.x_val[:, :1]
    before = set(out.glob("moons/*"))
    with pytest.raises(Exception):  # noqa: B017 - whatever Keras raises; the folder records it
        execute(prepared, out, command=["nnrun", "train"])
    (made.failed,) = set(out.glob("moons/*")) - before

    # interrupted for real: SIGINT to this process after the first epochs are reported
    def interrupt(rows: list[dict[str, float]]) -> None:
        os.kill(os.getpid(), signal.SIGINT)

    path = config("long", MOONS.format(epochs=400, units=8, optimizer="adam", lr=0.05))
    with terminal_sigint():
        made.interrupted = _train(path, out, on_rows=interrupt).run_dir

    # a sweep folder: sweep.json, a figure, one ordinary run folder per point
    made.sweep = out / "moons" / "sweep-20250101-000000-abc123"
    made.sweep.mkdir(parents=True)
    for i, lr in enumerate((0.02, 0.2)):
        point = made.sweep / f"point-{i:03d}"
        point.mkdir()
        text = MOONS.format(epochs=10, units=8, optimizer="adam", lr=lr)
        _train(config(f"point{i}", text), out, run_dir=point)
        made.sweep_points.append(point)
    (made.sweep / "sweep.json").write_text(json.dumps({"grid": {"optimizer.learning_rate": [0.02, 0.2]}}))
    from nnrun.compare.plot import curves_png
    from nnrun.runs.reader import read_run

    (made.sweep / "curves.png").write_bytes(curves_png([read_run(p) for p in made.sweep_points]))

    # a corrupted copy (truncated run.json), a folder that is not a run, a crashed run
    made.corrupted = out / "moons" / "20240101-000000-c0ffee"
    shutil.copytree(made.completed["adam"], made.corrupted)
    text = (made.corrupted / "run.json").read_text()
    (made.corrupted / "run.json").write_text(text[: len(text) // 2])
    made.not_a_run = out / "moons" / "notes"
    made.not_a_run.mkdir()
    (made.not_a_run / "todo.txt").write_text("try dropout\n")
    made.crashed = out / "line" / "20240101-000000-dead00"
    shutil.copytree(made.completed["line"], made.crashed)
    record = json.loads((made.crashed / "run.json").read_text())
    for key in ("ended", "duration_seconds", "diagnosis", "epochs_run"):
        record.pop(key, None)
    record.update(status=Status.RUNNING, pid=dead_pid(), id=made.crashed.name)
    (made.crashed / "run.json").write_text(json.dumps(record))
    (made.crashed / "metrics.json").unlink()
    return made
