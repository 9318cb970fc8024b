"""A drawn figure's pixels as PNG bytes, a few times faster than matplotlib's own PNG writer.

matplotlib hands its pixels to Pillow, which tries all five PNG row filters on every row to
pick the best, at zlib level 6: about 20 ms for a 1300x830 figure, a quarter of the cost of a
run's pictures. A chart is mostly flat colour, which zlib packs well unfiltered: filter type
0 on every row and zlib level 3 write the same pixels in about 5 ms, in a file no larger (an
opaque figure is written as RGB, not RGBA). The format is PNG 1.2 (ISO/IEC 15948): signature,
IHDR, pHYs (the resolution), one IDAT, IEND.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

#: zlib level: 3 packs a chart within a few per cent of level 6 in half its time.
LEVEL = 3
_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_RGB, _RGBA = 2, 6  # PNG colour types


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode(rgba: Any, dpi: float) -> bytes:
    """PNG bytes of an (height, width, 4) uint8 RGBA array, stored as RGB when every pixel is
    opaque; `dpi` is recorded (as matplotlib does) so viewers and printers size it alike."""
    import numpy as np

    pixels = np.asarray(rgba, dtype=np.uint8)
    height, width, _ = pixels.shape
    opaque = bool((pixels[..., 3] == 255).all())
    channels = 3 if opaque else 4
    rows = np.zeros((height, 1 + width * channels), dtype=np.uint8)  # column 0: filter type 0 (none)
    rows[:, 1:] = pixels[..., :channels].reshape(height, width * channels)
    per_metre = round(dpi / 0.0254)
    return b"".join(
        [
            _SIGNATURE,
            _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, _RGB if opaque else _RGBA, 0, 0, 0)),
            _chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
            _chunk(b"IDAT", zlib.compress(rows, LEVEL)),
            _chunk(b"IEND", b""),
        ]
    )
