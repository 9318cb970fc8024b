"""Texts drawn from kept bitmaps (`nnrun.canvas`) stand where matplotlib draws them."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from nnrun import canvas


def _ink(canvas_class: type, rotation: float, text: str) -> np.ndarray:
    fig = Figure(figsize=(3, 2), dpi=100)
    canvas_class(fig)
    fig.text(0.5, 0.5, text, rotation=rotation, ha="center", va="center", fontsize=11)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., 0] < 128  # dark pixels


def _box(ink: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return rows[0], rows[-1], cols[0], cols[-1]


@pytest.mark.parametrize("rotation", [0, 45, 90])
def test_a_text_is_drawn_where_matplotlib_draws_it_and_the_same_again(rotation: float) -> None:
    text = "gradient 10⁻³ (epoch 12)"
    mine = _ink(canvas.Canvas, rotation, text)
    again = _ink(canvas.Canvas, rotation, text)  # from the kept bitmap
    theirs = _ink(FigureCanvasAgg, rotation, text)
    assert np.array_equal(mine, again)
    assert np.abs(np.subtract(_box(mine), _box(theirs))).max() <= 1
    assert abs(int(mine.sum()) - int(theirs.sum())) <= 0.1 * theirs.sum()  # the same glyphs


def test_the_kept_bitmaps_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(canvas, "MAX_KEPT", 20)
    fig = Figure(figsize=(3, 2), dpi=100)
    canvas.Canvas(fig)
    for i in range(30):
        fig.text(0.1, 0.1, str(i))
    fig.canvas.draw()
    assert len(canvas._BITMAPS) == 20


def test_a_matplotlib_whose_insides_differ_draws_its_own_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    """If the private calls the kept bitmaps need are gone, every text is drawn by matplotlib."""

    def gone(*args: object) -> None:
        raise AttributeError("'RendererAgg' object has no attribute '_prepare_font'")

    monkeypatch.setattr(canvas.Renderer, "_bitmap", gone)
    monkeypatch.setattr(canvas, "_OWN_TEXT", True)
    text = "a new text 123"
    drawn = _ink(canvas.Canvas, 0, text)
    assert canvas._OWN_TEXT is False
    assert np.array_equal(drawn, _ink(FigureCanvasAgg, 0, text))
