"""nnrun.png writes the pixels it is given, as any PNG reader decodes them."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from nnrun import png


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_an_opaque_picture_is_written_as_rgb_with_its_resolution() -> None:
    rgba = np.random.default_rng(0).integers(0, 256, size=(37, 53, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    image = decode(png.encode(rgba, dpi=100))
    assert image.mode == "RGB" and image.size == (53, 37)
    assert np.array_equal(np.asarray(image), rgba[..., :3])
    assert [round(v) for v in image.info["dpi"]] == [100, 100]


def test_transparency_is_kept() -> None:
    rgba = np.random.default_rng(1).integers(0, 256, size=(20, 30, 4), dtype=np.uint8)
    image = decode(png.encode(rgba, dpi=72))
    assert image.mode == "RGBA"
    assert np.array_equal(np.asarray(image), rgba)


def test_a_drawn_figure_is_written_as_savefig_draws_it(tmp_path) -> None:
    from nnrun.plots import new_figure, save_png

    fig, ax = new_figure(figsize=(3, 2))
    ax.plot([0, 1, 2], [2, 0, 1])
    ax.set_title("a title")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    ours = decode(save_png(fig, tmp_path / "f.png").read_bytes())
    assert np.array_equal(np.asarray(ours), np.asarray(decode(buf.getvalue()).convert("RGB")))


def test_one_pixel_not_quite_opaque_keeps_the_alpha_channel() -> None:
    rgba = np.full((9, 11, 4), 255, dtype=np.uint8)
    rgba[4, 7, 3] = 254
    image = decode(png.encode(rgba, dpi=100))
    assert image.mode == "RGBA"
    assert np.array_equal(np.asarray(image), rgba)
