"""The Agg canvas run figures are drawn on: matplotlib's, with each text's pixels kept.

matplotlib 3.10+ lays every text out glyph by glyph (HarfBuzz shaping) and renders each glyph
with FreeType on every draw: a third of a picture's drawing time goes to its titles, labels,
tick labels and legends, although the same strings come back in every run's pictures ("epoch",
"10⁻³", a config's name). The renderer here rasterises a string once per font and resolution,
keeps the bitmap (least recently used first out), and places it on the nearest whole pixel, as
matplotlib up to 3.9 placed every text. Mathtext, texts turned other than by quarter turns
(a turned bitmap blurs) and texts with font features or a language set are drawn by
matplotlib as usual. It also tells `Text` the font's height metrics from a
table kept per font instead of opening the font file's tables for each text it measures.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.font_manager import fontManager, get_font

#: Bitmaps kept (a run's pictures draw about 300 strings; most repeat from run to run).
MAX_KEPT = 4096

_LOCK = threading.Lock()
_BITMAPS: OrderedDict[tuple[Any, ...], tuple[np.ndarray, float, float, float]] = OrderedDict()
_HEIGHTS: dict[tuple[int, float], tuple[float, float, float] | tuple[None, None, None]] = {}
#: False once a text could not be drawn this way (the private matplotlib calls above changed in
#: a matplotlib newer than pyproject.toml allows): matplotlib draws every text from then on.
_OWN_TEXT = True


class Renderer(RendererAgg):
    """`RendererAgg` with each text's bitmap kept (see the module docstring)."""

    def draw_text(
        self, gc: Any, x: float, y: float, s: str, prop: Any, angle: float, ismath: Any = False, mtext: Any = None
    ) -> None:
        global _OWN_TEXT
        if (
            not _OWN_TEXT
            or ismath
            or angle % 90  # a turned bitmap is blurred: FreeType turns the glyphs instead
            or (mtext is not None and (mtext.get_fontfeatures() is not None or mtext.get_language() is not None))
        ):
            super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
            return
        try:
            image, xo, yo, descent = self._bitmap(s, prop, bool(gc.get_antialiased()))
        except (AttributeError, TypeError):  # a matplotlib whose insides differ: its own way from now on
            _OWN_TEXT = False
            super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
            return
        # where matplotlib up to 3.9 put a text's bitmap: the descent turned with the text
        turn = math.radians(angle)
        x = round(x + xo + descent * math.sin(turn))
        y = round(y + yo + descent * math.cos(turn))
        self._renderer.draw_text_image(image, x, y + 1, angle, gc)

    def _bitmap(self, s: str, prop: Any, antialiased: bool) -> tuple[np.ndarray, float, float, float]:
        key = (s, hash(prop), self.dpi, antialiased)
        with _LOCK:
            kept = _BITMAPS.get(key)
            if kept is not None:
                _BITMAPS.move_to_end(key)
                return kept
        font = self._prepare_font(prop)
        font.set_text(s, 0, flags=get_hinting_flag())
        font.draw_glyphs_to_bitmap(antialiased=antialiased)
        xo, yo = font.get_bitmap_offset()
        made = (np.array(font.get_image()), xo / 64, yo / 64, font.get_descent() / 64)
        with _LOCK:
            _BITMAPS[key] = made
            while len(_BITMAPS) > MAX_KEPT:
                _BITMAPS.popitem(last=False)
        return made

    def _get_font_height_metrics(self, prop: Any) -> tuple[Any, Any, Any]:
        """(ascent, descent, line gap) in pixels, as `Text` reads them from the font's tables."""
        key = (hash(prop), self.dpi)
        kept = _HEIGHTS.get(key)
        if kept is None:
            kept = _HEIGHTS[key] = _heights(prop, self.dpi)
        return kept


def _heights(prop: Any, dpi: float) -> tuple[float, float, float] | tuple[None, None, None]:
    """What `matplotlib.text.Text._get_layout` computes when the renderer does not say."""
    font = get_font(fontManager._find_fonts_by_props(prop))  # noqa: SLF001 - as Text finds it
    for table_name, gap, ascent, descent in (
        ("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
        ("hhea", "lineGap", "ascent", "descent"),
    ):
        table = font.get_sfnt_table(table_name)
        if table is None:
            continue
        scale = 1 / font.get_sfnt_table("head")["unitsPerEm"] * prop.get_size_in_points() * dpi / 72
        return table[ascent] * scale, -table[descent] * scale, table[gap] * scale
    return None, None, None


class Canvas(FigureCanvasAgg):
    """`FigureCanvasAgg` drawing with `Renderer`."""

    def get_renderer(self) -> Any:
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if getattr(self, "_lastKey", None) != key:
            self.renderer = Renderer(w, h, self.figure.dpi)
            self._lastKey = key
        return self.renderer
