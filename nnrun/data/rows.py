"""Reading some rows of a data file without loading the file: what streamed data reads with.

- `NpzRows`: the rows of the arrays in an *uncompressed* .npz (`np.savez`), read straight from
  the file with `os.pread` at each row's offset. A zip member stored without compression is a
  plain .npy file inside the zip, so row i of it sits at a fixed offset. (Compressed members,
  `np.savez_compressed`, can only be read from their start: they are loaded whole instead.)
  No memory map: a map of the file counts against the process's address space, which is
  exactly what a memory limit bounds.
- `ImageRows`: the pictures of an image folder, read and resized by `files.read_images`, the
  function in-memory loading and `predict` use, so every path sees the same pixels.

A reader's `read(rows)` takes sorted row numbers and returns those rows as an array.
"""

from __future__ import annotations

import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Rows of an npz whose offsets lie closer than this are read in one call (and the rows
#: between them dropped): fewer system calls for the scattered rows of one split.
GAP_BYTES = 64 << 10
#: Rows read together as one block of a shuffled epoch (see `stream.Rows.batches`).
BLOCK_BYTES = 1 << 20


@dataclass(frozen=True)
class NpyMember:
    """Where an uncompressed .npz member's array data starts, and its layout."""

    name: str
    offset: int
    dtype: np.dtype
    shape: tuple[int, ...]


def npz_members(path: Path) -> dict[str, NpyMember | None]:
    """Each array of an .npz by name (without `.npy`); None for one that cannot be read in pieces
    (compressed, or stored in Fortran order)."""
    out: dict[str, NpyMember | None] = {}
    with zipfile.ZipFile(path) as archive, open(path, "rb") as f:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            name = info.filename[: -len(".npy")]
            if info.compress_type != zipfile.ZIP_STORED:
                out[name] = None
                continue
            f.seek(info.header_offset)
            local = f.read(30)  # the zip local file header: name and extra field lengths at 26 and 28
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            f.seek(info.header_offset + 30 + name_len + extra_len)
            version = np.lib.format.read_magic(f)
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read_header(f)
            if fortran and len(shape) > 1 or dtype.hasobject:
                out[name] = None
                continue
            out[name] = NpyMember(name, f.tell(), dtype, tuple(int(d) for d in shape))
    return out


class NpzRows:
    """The rows of some members of an uncompressed .npz as one sequence (`x`, then `x_test`)."""

    def __init__(self, path: Path, members: list[NpyMember]) -> None:
        self.path = path
        self.members = members
        self.row_shape = members[0].shape[1:]
        self.dtype = np.result_type(*(m.dtype for m in members))
        self.starts = np.cumsum([0] + [m.shape[0] for m in members])
        self.n = int(self.starts[-1])
        self.row_bytes = max(1, int(np.prod(self.row_shape)) * members[0].dtype.itemsize)
        self.block_rows = max(1, BLOCK_BYTES // self.row_bytes)

    def read(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), *self.row_shape), dtype=self.dtype)
        gap = max(1, GAP_BYTES // self.row_bytes)
        with open(self.path, "rb") as f:
            fd = f.fileno()
            for k, member in enumerate(self.members):
                lo, hi = np.searchsorted(rows, self.starts[k : k + 2])
                local = rows[lo:hi] - self.starts[k]
                if not len(local):
                    continue
                size = max(1, int(np.prod(self.row_shape)) * member.dtype.itemsize)
                cuts = np.flatnonzero(np.diff(local) > gap) + 1
                at = lo
                for run in np.split(local, cuts):
                    first, last = int(run[0]), int(run[-1])
                    data = os.pread(fd, (last - first + 1) * size, member.offset + first * size)
                    block = np.frombuffer(data, dtype=member.dtype).reshape(-1, *self.row_shape)
                    out[at : at + len(run)] = block[run - first]
                    at += len(run)
        return out


class ImageRows:
    """The pictures at `paths`, read as `files.read_images` reads them."""

    def __init__(self, paths: list[Path], size: tuple[int, int], color_mode: str) -> None:
        self.paths = paths
        self.size = size
        self.color_mode = color_mode
        channels = 1 if color_mode == "grayscale" else 3
        self.row_shape = (size[0], size[1], channels)
        self.n = len(paths)
        self.dtype = np.dtype("float32")
        self.row_bytes = size[0] * size[1] * channels * 4
        self.block_rows = 1

    def read(self, rows: np.ndarray) -> np.ndarray:
        from nnrun.data.files import read_images

        return read_images([self.paths[int(i)] for i in rows], self.size, self.color_mode)
