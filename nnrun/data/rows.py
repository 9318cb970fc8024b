"""Reading some rows of a data file without loading the file: what streamed data reads with.

- `NpzRows`: the rows of the arrays in an *uncompressed* .npz (`np.savez`), read straight from
  the file with `os.preadv` at each row's offset. A zip member stored without compression is a
  plain .npy file inside the zip, so row i of it sits at a fixed offset. (Compressed members,
  `np.savez_compressed`, can only be read from their start: they are loaded whole instead.)
  No memory map: a map of the file counts against the process's address space, which is
  exactly what a memory limit bounds.
- `Scratch`: the buffers a reading loop reuses. Memory a process has not touched yet costs a
  page fault per 4 KiB page on first write, and a streamed epoch through fresh arrays took as
  many faults as it read pages (MNIST-shaped MLP: 95 000 faults, 0.35 CPU-s of the 0.45 s the
  stream added to an epoch): reads go into reused buffers, and the arrays handed to tf.data
  (which keeps an aligned NumPy array without copying it) are reused once it lets go of them.
- `member_batches`: an .npz array's rows in order, batch by batch, compressed or not (the zip
  stream decompresses as it goes): what `nnrun predict` reads a big .npz with.
- `ImageRows`: the pictures of an image folder, read and resized by `files.read_images`, the
  function in-memory loading and `predict` use, so every path sees the same pixels.

A reader's `read(rows, out=None, scratch=None)` takes sorted row numbers and returns those rows
as an array (`out` if given); `scratch` holds the buffers a reading loop reuses (`Scratch`).
"""

from __future__ import annotations

import os
import struct
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Rows of an npz whose offsets lie closer than this are read in one call (and the rows
#: between them dropped): fewer system calls for the scattered rows of one split.
GAP_BYTES = 64 << 10
#: The most read in one call: what a read takes beyond the rows it returns.
READ_BYTES = 1 << 20
#: Where `Scratch` arrays start: TensorFlow takes a NumPy array aligned so as it is, and copies
#: any other into fresh memory of its own (a page fault a page).
ALIGN = 64
#: Arrays `Scratch.lend` keeps for reuse (what a consumer holds at once: tf.data's prefetch).
LENT = 8
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


def member_batches(path: Path, name: str, rows: int) -> tuple[tuple[int, ...], Iterator[np.ndarray]]:
    """The shape of the array `name` of an .npz and its rows, `rows` at a time, read in order
    from the file, compressed or not: one batch in memory whatever the array's size (an array in
    Fortran order, rare, is read whole). Raises `ValueError` for a file that is not an .npz."""
    with zipfile.ZipFile(path) as archive, archive.open(name + ".npy") as f:
        version = np.lib.format.read_magic(f)
        header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = header(f)
    if len(shape) == 0 or (fortran and len(shape) > 1) or dtype.hasobject:
        with np.load(path, allow_pickle=False) as arrays:
            whole = np.asarray(arrays[name])
        return whole.shape, iter(
            [whole] if whole.ndim == 0 else [whole[i : i + rows] for i in range(0, len(whole), rows)]
        )

    def batches() -> Iterator[np.ndarray]:
        size = int(np.prod(shape[1:])) * dtype.itemsize
        with zipfile.ZipFile(path) as archive, archive.open(name + ".npy") as f:
            np.lib.format.read_magic(f)
            header(f)
            for start in range(0, shape[0], rows):
                n = min(rows, shape[0] - start)
                data = f.read(n * size)
                if len(data) < n * size:
                    raise ValueError(f"{name} ends after {start + len(data) // max(size, 1)} of its {shape[0]} rows")
                yield np.frombuffer(data, dtype=dtype).reshape(n, *shape[1:])

    return tuple(int(d) for d in shape), batches()


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

    def read(self, rows: np.ndarray, out: np.ndarray | None = None, scratch: Scratch | None = None) -> np.ndarray:
        if out is None:
            out = np.empty((len(rows), *self.row_shape), dtype=self.dtype)
        scratch = scratch or Scratch()
        gap = max(1, GAP_BYTES // self.row_bytes)
        with open(self.path, "rb") as f:
            fd = f.fileno()
            for k, member in enumerate(self.members):
                lo, hi = np.searchsorted(rows, self.starts[k : k + 2])
                local = rows[lo:hi] - self.starts[k]
                if not len(local):
                    continue
                size = max(1, int(np.prod(self.row_shape)) * member.dtype.itemsize)
                per_read = max(1, READ_BYTES // size)
                # A new read where rows lie far apart, or the read would pass READ_BYTES.
                cuts = np.flatnonzero((np.diff(local) > gap) | (np.diff(local // per_read) != 0)) + 1
                at = lo
                for run in np.split(local, cuts):
                    first, last = int(run[0]), int(run[-1])
                    data = scratch.array("read", ((last - first + 1) * size,), np.dtype(np.uint8))
                    _read_into(fd, data, member.offset + first * size)
                    block = data.view(member.dtype).reshape(-1, *self.row_shape)
                    if out.dtype == block.dtype:  # mode="clip": np.take copies straight into out
                        np.take(block, run - first, axis=0, out=out[at : at + len(run)], mode="clip")
                    else:
                        out[at : at + len(run)] = block[run - first]
                    at += len(run)
        return out


def _read_into(fd: int, buffer: np.ndarray, offset: int) -> None:
    view = memoryview(buffer)
    done = 0
    while done < len(view):
        got = os.preadv(fd, [view[done:]], offset + done)
        if got <= 0:
            raise OSError(f"the file ended {len(view) - done} bytes before the rows it should hold")
        done += got


class Scratch:
    """Buffers a reading loop reuses from one read to the next (each valid until the next request
    for the same name): fresh memory costs a page fault per page, more than reading into it."""

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}
        self._lent: list[np.ndarray] = []

    def array(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        nbytes = int(np.prod(shape)) * dtype.itemsize
        buffer = self._buffers.get(name)
        if buffer is None or len(buffer) < nbytes:
            buffer = self._buffers[name] = _aligned(nbytes)
        return buffer[:nbytes].view(dtype).reshape(shape)

    def lend(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """An array for a consumer that may keep it (tf.data keeps a NumPy array it is given, without
        copying): one lent before that nothing refers to any more, or a new one."""
        nbytes = int(np.prod(shape)) * dtype.itemsize
        for i in range(len(self._lent)):
            # A view's base is the array that owns the memory: referred to only as an unused
            # array is (`_UNUSED`), no view of it is alive.
            if len(self._lent[i]) >= nbytes + ALIGN and _references(self._lent[i]) <= _UNUSED:
                return _aligned(nbytes, self._lent[i]).view(dtype).reshape(shape)
        memory = np.empty(nbytes + ALIGN, dtype=np.uint8)
        if len(self._lent) < LENT:
            self._lent.append(memory)
        return _aligned(nbytes, memory).view(dtype).reshape(shape)


def _references(memory: np.ndarray) -> int:
    return sys.getrefcount(memory)


#: The references to an array kept in a list and nowhere else, counted as `Scratch.lend` counts
#: them (measured, not assumed: what getrefcount counts differs between Python versions).
_probe = [np.empty(1, dtype=np.uint8)]
_UNUSED = _references(_probe[0])
del _probe


def _aligned(nbytes: int, memory: np.ndarray | None = None) -> np.ndarray:
    """`nbytes` of `memory` (new if not given) starting at a multiple of ALIGN bytes."""
    if memory is None:
        memory = np.empty(nbytes + ALIGN, dtype=np.uint8)
    start = -memory.ctypes.data % ALIGN
    return memory[start : start + nbytes]


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

    def read(self, rows: np.ndarray, out: np.ndarray | None = None, scratch: Scratch | None = None) -> np.ndarray:
        from nnrun.data.files import read_images

        pictures = read_images([self.paths[int(i)] for i in rows], self.size, self.color_mode)
        if out is None:
            return pictures
        out[...] = pictures
        return out
