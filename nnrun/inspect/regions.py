"""A binary classifier's decision regions as an image computed at the axes' own pixels.

boundary.png and boundary_epochs.png show p(class 1) on a grid in ten colour bands. matplotlib's
image draws that by resampling the grid to the screen twice (the values, then a mask of where
there are values), normalising through a masked array and colouring: for the six small panels
of boundary_epochs.png a quarter of its time. `Regions` is that image with its own
`make_image`: each screen pixel's value interpolated bilinearly between the four grid points
around its centre (as matplotlib's "bilinear" on the data), its band's colour looked up, in
a few numpy operations. It is an `AxesImage` in every other way (limits, clip, colour bar).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.image import AxesImage
from matplotlib.transforms import Bbox


class Regions(AxesImage):
    """p(class 1) on `xs` x `ys` grid points (set_data(p), p[row = y][column = x]), each grid
    point the centre of its cell; drawn in the colours of `cmap` through `norm`."""

    def make_image(self, renderer: Any, magnification: float = 1.0, unsampled: bool = False) -> Any:
        p = np.asarray(self.get_array(), dtype="float64")
        x0, x1, y0, y1 = self.get_extent()
        shown = self.get_transform().transform([[x0, y0], [x1, y1]])
        box = Bbox(shown)
        clip = self.get_clip_box()
        if clip is not None:
            box = Bbox.intersection(box, clip)
        if box is None or box.width <= 0 or box.height <= 0:
            return None, 0, 0, None
        left, bottom = np.floor(box.x0), np.floor(box.y0)
        width, height = int(np.ceil(box.x1) - left), int(np.ceil(box.y1) - bottom)
        # each pixel's centre, in grid steps from the first grid point (cells centred on points)
        rows, cols = p.shape
        (sx0, sy0), (sx1, sy1) = shown
        u = (left + np.arange(width) + 0.5 - sx0) / (sx1 - sx0) * cols - 0.5
        v = (bottom + np.arange(height) + 0.5 - sy0) / (sy1 - sy0) * rows - 0.5  # Agg's rows: bottom first
        value = _bilinear(p, np.clip(v, 0, rows - 1), np.clip(u, 0, cols - 1))
        colours = self.to_rgba(value, bytes=True)
        colours[..., 3] = np.uint8(round(255 * (self.get_alpha() if self.get_alpha() is not None else 1.0)))
        return colours, left, bottom, None


def _bilinear(p: np.ndarray, v: np.ndarray, u: np.ndarray) -> np.ndarray:
    """p at fractional rows `v` (one per output row) and columns `u` (one per output column):
    the grid's rows interpolated first (output rows x grid columns), then their columns, which
    reads each grid value a few times instead of four times per output pixel."""
    r0 = np.minimum(v.astype(int), p.shape[0] - 2) if p.shape[0] > 1 else np.zeros(len(v), int)
    c0 = np.minimum(u.astype(int), p.shape[1] - 2) if p.shape[1] > 1 else np.zeros(len(u), int)
    fr, fc = (v - r0)[:, None], u - c0
    r1, c1 = np.minimum(r0 + 1, p.shape[0] - 1), np.minimum(c0 + 1, p.shape[1] - 1)
    rows = p[r0] * (1 - fr) + p[r1] * fr
    return rows[:, c0] * (1 - fc) + rows[:, c1] * fc


def regions(ax: Any, p: np.ndarray, extent: tuple[float, float, float, float], cmap: Any, norm: Any) -> Regions:
    """`ax.imshow(p, origin="lower", extent=extent, aspect="auto", cmap=cmap, norm=norm,
    interpolation="bilinear", interpolation_stage="data")`, as a `Regions` image."""
    image = Regions(ax, cmap=cmap, norm=norm, origin="lower", extent=extent)
    image.set_data(p)
    image.set_clip_path(ax.patch)
    ax.add_image(image)
    # the axes' limits from the extent, as imshow's set_extent gives them (the image's corners
    # as data, its edges sticky), worked out when first needed: set_extent sets them at once,
    # which works out the limits of everything on the axes twice
    left, right, bottom, top = extent
    ax.update_datalim([(left, bottom), (right, top)])
    image.sticky_edges.x[:] = [left, right]
    image.sticky_edges.y[:] = [bottom, top]
    ax.autoscale(True)
    return image
