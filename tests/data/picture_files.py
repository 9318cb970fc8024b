"""Small picture folders for `dataset: images` (and configs/data/shapes/): each class is a
shape drawn at a random place and size on a noisy background, saved as PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SHAPES = ("circle", "square", "triangle")


def draw(shape: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One RGB picture (size, size, 3) uint8 with a bright `shape` on a dark noisy background."""
    img = rng.integers(0, 50, size=(size, size, 3)).astype(np.float32)
    r = rng.uniform(0.2, 0.35) * size
    cy, cx = rng.uniform(r + 1, size - r - 1, size=2)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    if shape == "circle":
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
    elif shape == "square":
        mask = (np.abs(yy - cy) <= r * 0.85) & (np.abs(xx - cx) <= r * 0.85)
    else:
        mask = (yy <= cy + r) & (yy >= cy - r) & (np.abs(xx - cx) <= (yy - (cy - r)) / 2)
    colour = rng.integers(150, 256, size=3)
    img[mask] = colour
    return img.astype(np.uint8)


def write_shapes(folder: Path, per_class: int = 20, size: int = 24, seed: int = 0, flat: bool = False) -> list[Path]:
    """`folder/<shape>/<shape>_<i>.png` (or all in `folder` when `flat`); returns the files."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = []
    for shape in SHAPES:
        target = folder if flat else folder / shape
        target.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            path = target / f"{shape}_{i}.png"
            Image.fromarray(draw(shape, size, rng)).save(path)
            out.append(path)
    return out


if __name__ == "__main__":  # regenerates configs/data/shapes/
    write_shapes(Path(__file__).resolve().parents[2] / "configs" / "data" / "shapes", per_class=40, size=24, seed=1)
