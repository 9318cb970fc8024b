"""A figure kept from one run draws the next run's picture exactly as a new figure would."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nnrun import figure_cache, plots
from nnrun.inspect import plots as inspect_plots


@dataclass
class Recorded:
    """What a run hands its pictures (the shapes nnrun's runs give them), made up to differ
    between two runs in every way a kept figure could remember: epochs, classes, value
    ranges, log or linear scale, layers, verdict notes, points."""

    epochs: int
    classes: list[str]
    layers: int
    scale: float
    notes: tuple[str, ...]
    seed: int

    def draw(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(self.seed)
        e = np.arange(1, self.epochs + 1)
        history = [
            {"epoch": float(i), "loss": self.scale / i**1.5, "val_loss": self.scale / i, "accuracy": 1 - 1 / (i + 1)}
            for i in e
        ]
        plots.curves(history, out, f"run-{self.seed}", kept_epoch=self.epochs // 2)
        k = len(self.classes)
        matrix = rng.integers(0, 12 * self.scale, size=(k, k)).tolist()
        plots.confusion_matrix(matrix, self.classes, out / "confusion_matrix.png", f"run-{self.seed}")
        names = [f"dense_{i}" for i in range(self.layers)]
        rows = [
            {
                "epoch": float(i),
                "layer": name,
                "grad_norm": self.scale * 10.0 ** (j - self.layers) / i,
                "update_ratio": 10.0 ** (-j) / i,
                "dead_fraction": min(1.0, j * i / (4 * self.epochs)),
                "saturated_fraction": None,
            }
            for i in e
            for j, name in enumerate(names)
        ]
        inspect_plots.gradients(rows, out / "gradients.png", f"run-{self.seed}", self.notes)
        inspect_plots.activations(rows, out / "activations.png", f"run-{self.seed}", self.notes)
        kernels = {n: (rng.normal(0, self.scale, 40), rng.normal(0, 2 * self.scale, 40)) for n in names[:3]}
        inspect_plots.weights(kernels, 1, self.epochs, out / "weights.png", f"run-{self.seed}")
        points = rng.normal(0, self.scale, size=(30, 2))
        grid = inspect_plots.Grid(points, steps=60)
        labels = rng.integers(0, k, 30)

        def probabilities(shift: float) -> np.ndarray:
            logits = np.stack([grid.points[:, 0] * c - shift + grid.points[:, 1] for c in range(k)], axis=1)
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            return p / p.sum(axis=1, keepdims=True)

        inspect_plots.boundary(
            grid, probabilities(0), (points, labels), None, self.classes, ["x1", "x2"], out / "boundary.png", "b"
        )
        frames = [(epoch, probabilities(epoch / 10), 0.5) for epoch in (1, 3, 9, 27, 81, 243)[: self.layers + 2]]
        inspect_plots.boundary_epochs(
            grid, frames, (points, labels), self.classes, ["x1", "x2"], out / "boundary_epochs.png", "b"
        )
        actual = rng.normal(0, self.scale, 50)
        inspect_plots.predictions(actual, actual + rng.normal(0, 1, 50), False, out / "predictions.png", "p")
        inspect_plots.predictions(actual, actual * 0.5, True, out / "sequence.png", "p", target="y")


A = Recorded(
    epochs=400, classes=["setosa", "versicolor", "virginica"], layers=4, scale=50.0, notes=("a verdict",), seed=1
)
B = Recorded(epochs=7, classes=["no", "yes"], layers=2, scale=1.0, notes=(), seed=2)


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


@pytest.mark.slow
def test_a_kept_figure_draws_the_next_run_as_a_new_figure_would(tmp_path: Path) -> None:
    for run in (A, B):
        figure_cache.forget()
        run.draw(tmp_path / f"new-{run.seed}")
    figure_cache.forget()
    A.draw(tmp_path / "a")
    B.draw(tmp_path / f"kept-{B.seed}")  # on the figures A used
    A.draw(tmp_path / f"kept-{A.seed}")  # and back: what B's figures drew (a colour bar, fewer panels) is gone
    differ = {}
    for run in (A, B):
        names = sorted(p.name for p in (tmp_path / f"new-{run.seed}").glob("*.png"))
        assert len(names) == 10
        for name in names:
            new, kept = pixels(tmp_path / f"new-{run.seed}" / name), pixels(tmp_path / f"kept-{run.seed}" / name)
            if new.shape != kept.shape:
                differ[run.seed, name] = f"size {kept.shape} instead of {new.shape}"
            elif not np.array_equal(new, kept):
                differ[run.seed, name] = f"{int((new != kept).any(axis=2).sum())} pixels differ"
    assert not differ, differ
    figure_cache.forget()


def test_a_figure_whose_drawing_failed_is_not_kept() -> None:
    figure_cache.forget()
    with pytest.raises(ZeroDivisionError), figure_cache.lend("test", figsize=(2, 2)) as sheet:
        sheet.axes.plot([1, 2], [3, 4])
        _ = 1 / 0
    with figure_cache.lend("test", figsize=(2, 2)) as again:
        assert again is not sheet and not again.axes.lines


def test_two_threads_drawing_the_same_kind_get_two_figures() -> None:
    figure_cache.forget()
    inside, release = threading.Barrier(3), threading.Event()
    lent: list[figure_cache.Sheet] = []

    def draw() -> None:
        with figure_cache.lend("test", figsize=(2, 2)) as sheet:
            lent.append(sheet)
            inside.wait(5)
            release.wait(5)

    threads = [threading.Thread(target=draw) for _ in range(2)]
    for t in threads:
        t.start()
    inside.wait(5)
    release.set()
    for t in threads:
        t.join(5)
    assert lent[0] is not lent[1]
    with figure_cache.lend("test", figsize=(2, 2)) as sheet:
        assert sheet in lent  # one of them was kept
    figure_cache.forget()


def test_the_cache_is_bounded() -> None:
    figure_cache.forget()
    for i in range(figure_cache.MAX_KEPT + 5):
        with figure_cache.lend(f"kind-{i}", figsize=(1, 1)):
            pass
    assert len(figure_cache._KEPT) == figure_cache.MAX_KEPT  # noqa: SLF001 - the bound itself
    figure_cache.forget()


def test_a_kept_figure_places_its_axes_where_a_new_one_does() -> None:
    """Tick locators choose their ticks by the axes' size, and `arrange` measures those ticks
    before it moves the axes: a kept figure starts from a new one's places, not the last run's."""
    figure_cache.forget()
    with figure_cache.lend("test", 2, 4, figsize=(8, 4)) as sheet:
        new = [tuple(ax.get_position().bounds) for ax in sheet.fig.axes]
        sheet.axes[0][0].set_yticks([0, 0.5, 1], ["0", "a long tick label", "1"])
        plots.arrange(sheet.fig)
        assert [tuple(ax.get_position().bounds) for ax in sheet.fig.axes] != new
    with figure_cache.lend("test", 2, 4, figsize=(8, 4)) as again:
        assert again is sheet
        assert [tuple(ax.get_position().bounds) for ax in again.fig.axes] == new
    figure_cache.forget()
