"""Decision regions computed at the axes' pixels (`nnrun.inspect.regions`) look as matplotlib's
bilinear image of the same grid does."""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap

from nnrun import plots
from nnrun.inspect.plots import Grid
from nnrun.inspect.regions import Regions, regions


def _drawn(mine: bool) -> np.ndarray:
    rng = np.random.default_rng(0)
    grid = Grid(rng.normal(size=(40, 2)), steps=60)
    x, y = grid.points[:, 0], grid.points[:, 1]
    p = (1 / (1 + np.exp(-3 * (x * y + 0.3 * x)))).reshape(grid.shape)
    levels = np.linspace(0, 1, 11)
    bands = ListedColormap(matplotlib.colormaps["RdBu_r"]((levels[:-1] + levels[1:]) / 2))
    fig, ax = plots.new_figure(figsize=(5, 4))
    if mine:
        image = regions(ax, p, grid.extent(), bands, BoundaryNorm(levels, bands.N))
        assert isinstance(image, Regions)
    else:
        ax.imshow(
            p,
            origin="lower",
            extent=grid.extent(),
            aspect="auto",
            cmap=bands,
            norm=BoundaryNorm(levels, bands.N),
            interpolation="bilinear",
            interpolation_stage="data",
        )
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba(), dtype=int)


def test_the_regions_are_matplotlibs_bilinear_image_of_the_grid() -> None:
    mine, theirs = _drawn(True), _drawn(False)
    differ = np.abs(mine - theirs).max(axis=2) > 0
    assert differ.mean() < 0.002  # a pixel here and there on a band's edge (rounding)
