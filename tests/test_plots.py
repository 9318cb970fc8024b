"""Every figure of a run is bounded in size and drawing time, and never changes a run's status."""

from __future__ import annotations

import math
import os
import signal
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from nnrun import plots


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_a_500_class_confusion_matrix_is_a_bounded_heat_map(tmp_path: Path) -> None:
    k = 500
    rng = np.random.default_rng(0)
    matrix = rng.integers(0, 5, size=(k, k)).tolist()
    path = plots.confusion_matrix(matrix, [f"class-{i}" for i in range(k)], tmp_path / "cm.png", "many")
    width, height = png_size(path)
    limit = plots.MAX_MATRIX_INCHES * 100
    assert width <= limit and height <= limit, (width, height)
    assert path.stat().st_size < 2_000_000


def test_a_small_confusion_matrix_keeps_its_numbers(tmp_path: Path) -> None:
    path = plots.confusion_matrix([[5, 1], [0, 7]], ["a", "b"], tmp_path / "cm.png", "two")
    assert png_size(path)[0] <= 600


def test_thin_keeps_the_extremes_of_a_long_curve() -> None:
    n = 1_000_000
    epochs = list(range(1, n + 1))
    values = [1.0 / e for e in epochs]
    values[654_321] = 50.0  # a spike in the middle must stay visible
    values[-3] = math.nan
    x, y = plots.thin(epochs, values)
    assert len(x) <= plots.MAX_CURVE_POINTS + 2
    assert list(x) == sorted(x)
    assert x[0] == 1 and x[-1] == n
    assert 50.0 in y and np.nanmin(y) == min(v for v in values if not math.isnan(v))


def test_thin_keeps_each_stretchs_first_lowest_and_highest_finite_value() -> None:
    """Against the plain definition, stretch by stretch, with ties, NaN and inf."""
    rng = np.random.default_rng(1)
    n, limit = 12_345, plots.MAX_CURVE_POINTS
    y = rng.integers(0, 5, n).astype(float)
    y[rng.integers(0, n, n // 7)] = math.nan
    y[rng.integers(0, n, 20)] = math.inf
    y[3000:3500] = math.nan  # whole stretches without a finite value keep their first epoch
    keep = {0, n - 1}
    for chunk in np.array_split(np.arange(n), limit // 2):
        idx = chunk[np.isfinite(y[chunk])]
        keep |= {int(idx[np.argmin(y[idx])]), int(idx[np.argmax(y[idx])])} if len(idx) else {int(chunk[0])}
    x, kept = plots.thin(np.arange(1, n + 1), y)
    assert list(x - 1) == sorted(keep)
    assert np.array_equal(kept, y[sorted(keep)], equal_nan=True)


def test_curves_of_a_million_epochs(tmp_path: Path) -> None:
    history = [{"epoch": e, "loss": 1.0 / e, "val_loss": 1.1 / e} for e in range(1, 300_001)]
    (path,) = plots.curves(history, tmp_path, "long")
    assert png_size(path) == (600, 400)


MANY_CLASSES = """\
name: many
seed: 1
data: {dataset: csv, path: many.csv, target: label}
model:
  layers:
    - {type: dense, units: 60, activation: softmax}
optimizer: {name: adam, learning_rate: 0.01}
loss: sparse_categorical_crossentropy
training: {epochs: 2, batch_size: full}
"""


@pytest.mark.slow
def test_a_signal_while_the_figures_are_drawn_leaves_the_run_completed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`timeout` used to turn a completed 500-class run into `interrupted` while its confusion
    matrix was drawn. Once the run's results are written, a signal only skips the pictures
    not drawn yet (they are drawn in a thread meanwhile; the status is written after them)."""
    from nnrun.experiment import execute, prepare_experiment
    from nnrun.runs.reader import read_run
    from nnrun.signals import RunSignals

    rng = np.random.default_rng(0)
    rows = ["a,b,c,label"] + [
        f"{x:.3f},{y:.3f},{z:.3f},k{i % 60}" for i, (x, y, z) in enumerate(rng.normal(size=(600, 3)))
    ]
    (tmp_path / "many.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "many.yaml").write_text(MANY_CLASSES)
    closed, handled = threading.Event(), threading.Event()
    real_close, real_handle, real_curves = RunSignals.close, RunSignals._handle, plots.curves

    def close(self):  # noqa: ANN001, ANN202
        real_close(self)
        closed.set()

    def handle(self, signum, frame):  # noqa: ANN001, ANN202
        real_handle(self, signum, frame)
        handled.set()

    def curves_then_sigterm(*args, **kwargs):  # the moment `timeout` fired in the report
        assert closed.wait(60)
        os.kill(os.getpid(), signal.SIGTERM)
        assert handled.wait(60)  # the main thread, waiting for the pictures, took the signal
        return real_curves(*args, **kwargs)

    monkeypatch.setattr(RunSignals, "close", close)
    monkeypatch.setattr(RunSignals, "_handle", handle)
    monkeypatch.setattr(plots, "curves", curves_then_sigterm)
    outcome = execute(prepare_experiment(tmp_path / "many.yaml"), tmp_path / "runs")

    assert outcome.status == "completed"
    assert read_run(outcome.run_dir).status == "completed"
    assert (outcome.run_dir / "model.keras").is_file()
    assert (outcome.run_dir / "metrics.json").is_file()
    assert (outcome.run_dir / "loss.png").is_file()  # being drawn when the signal came: finished
    assert not (outcome.run_dir / "confusion_matrix.png").exists()  # skipped after the signal


@pytest.mark.parametrize("blown", [math.inf, math.nan])
def test_a_loss_that_is_not_finite_from_epoch_1_draws_a_note_without_warnings(blown: float) -> None:
    """loss.png of a run whose first epoch's losses are inf or NaN (as a trainer records them):
    the note in the axes, no kept-weights mark on weights that diverged, and no RuntimeWarning
    (inf / inf in the log-scale test was one)."""
    import warnings

    from matplotlib.text import Text

    history = [{"epoch": 1, "loss": blown, "val_loss": blown, "learning_rate": 100.0}]
    fig, ax = plots.new_figure(figsize=(6, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plots.draw_curve(ax, history, "loss", "blown", kept_epoch=1)
        plots.arrange(fig)
        fig.canvas.draw()
    texts = [t.get_text() for t in fig.findobj(Text)]
    assert "diverged in epoch 1: nothing finite to draw" in texts
    assert not any("kept weights" in t for t in texts)
    assert list(ax.get_xticks()) == [1.0]  # not 0.95..1.05
