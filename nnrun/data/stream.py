"""Data beyond memory: npz files and image folders read batch by batch (`data.stream`).

`data.stream: auto` streams an image folder always, and an npz whose loaded arrays would take
more than `data.memory_share` of the memory available (`available_memory`: free RAM, or what
is left under the process's address-space limit, whichever is smaller); `true` and `false`
decide outright. A streamed dataset is split exactly as a loaded one (the same `split` on the
row numbers and targets, which are small and always loaded), its `Preprocessor` is fitted on
the training rows in pieces (`Preprocessor.fit_numeric`: `StandardScaler.partial_fit`) and
applies to every batch as it is read. The splits' inputs are `Rows`: they look like the
arrays (length, shape, slicing) but hold only row numbers; `nnrun.train.stream.pipeline`
makes them the `tf.data` pipeline `fit` trains on (this module never imports TensorFlow).
Peak memory is bounded, whatever the size of the file: a pass over a split holds `BUFFER_BYTES`
of shuffled rows, `TRANSFORM_BYTES` being read, and up to `rows.LENT` pieces handed to tf.data
(`rows.Scratch`; a piece is `TRANSFORM_BYTES`, or one batch if a batch is larger), plus the
in-flight batches.

Which sources stream: uncompressed npz files (`np.savez`) and image folders. A compressed npz
(`np.savez_compressed`) can only be read from its start, a CSV is parsed whole by pandas, and
the Keras datasets are fixed and small: these are loaded whole, and `stream: true` on a
compressed npz says so.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from nnrun.data.base import DataProblem
from nnrun.data.rows import Scratch
from nnrun.spec.data import DataSpec, Task

if TYPE_CHECKING:
    from nnrun.data.preprocess import Preprocessor

#: Rows shuffled together in a streamed epoch (their float32 size): the memory streaming takes.
BUFFER_BYTES = 32 << 20
#: Rows read and transformed in one call, and handed over in one piece (their float32 size; the
#: transform holds a few copies).
TRANSFORM_BYTES = 8 << 20
#: Loading an npz whole takes about this many times its float32 size beyond what streaming
#: takes (the file's arrays, float32, the frame, the float64 encoding, the split copies):
#: measured 2.9 on 20 000 pictures of 64x64 (328 MB as float32; peak resident 1 826 MB loaded
#: whole against 876 MB streamed, same MLP).
LOAD_COPIES = 3
#: What TensorFlow and a model add to a process's address space, for `available_memory` under a
#: limit before TensorFlow is imported (`nnrun train` of a small streamed npz peaks at 2.9 GB).
TENSORFLOW_ADDRESS_SPACE = 3 << 30
#: Batches of validation and test rows, for fit's validation and the test predictions.
EVAL_BATCH = 1024


class RowReader(Protocol):
    n: int
    row_shape: tuple[int, ...]
    row_bytes: int
    block_rows: int
    dtype: np.dtype

    def read(self, rows: np.ndarray, out: np.ndarray | None = None, scratch: Scratch | None = None) -> np.ndarray: ...


@dataclass
class Streamed:
    """What `split` and `prepare` need of a source that stays in its files (`Raw`'s role)."""

    reader: RowReader
    y: np.ndarray
    task: Task
    class_names: list[str] | None
    feature_names: list[str]
    input_shape: tuple[int, ...] | None
    target: str
    source: str
    notes: list[str] = field(default_factory=list)
    test_rows: np.ndarray | None = None
    no_split: bool = False
    #: Check every value is finite while fitting (float data; integers always are).
    check_finite: bool = True


def available_memory() -> int:
    """Bytes this process may still take: free RAM, or the room left under its address-space
    limit (RLIMIT_AS) if that is smaller, counting what TensorFlow will take if not yet imported."""
    import resource
    import sys

    import psutil

    free = int(psutil.virtual_memory().available)
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return free
    used = int(psutil.Process().memory_info().vms)
    if "tensorflow" not in sys.modules:
        used += TENSORFLOW_ADDRESS_SPACE
    return max(0, min(free, soft - used))


def _mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def plan(spec: DataSpec, base: Path) -> Streamed | None:
    """The streamed source a spec asks for, or None to load the data whole."""
    if spec.stream is False or spec.dataset not in ("npz", "images"):
        return None
    if spec.dataset == "images":
        return _images(spec, base)
    return _npz(spec, base)


def _npz(spec: DataSpec, base: Path) -> Streamed | None:
    from nnrun.data.files import check_npz_layout, npz_path, npz_target
    from nnrun.data.rows import NpyMember, NpzRows, npz_members

    path = npz_path(spec, base)
    try:
        members = npz_members(path)
        with np.load(path, allow_pickle=False) as f:
            shapes = {k: tuple(int(d) for d in f[k].shape) for k in f.files if k.startswith("y")}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise DataProblem(("data", "path"), f"cannot read {path} as a NumPy .npz file: {exc}") from None
    shapes.update({k: m.shape for k, m in members.items() if m is not None and k.startswith("x")})
    for k, m in members.items():
        if m is None and k.startswith("x"):
            if spec.stream is True:
                raise DataProblem(
                    ("data", "stream"),
                    f"{path.name}: its array {k!r} is compressed (np.savez_compressed), so it can only be read "
                    "from its start; save it with np.savez to stream it",
                    "stream: auto (loads it whole)",
                )
            return None
    has_test = check_npz_layout(list(members), shapes, path)
    suffixes = ("", "_test") if has_test else ("",)
    xs: list[NpyMember] = [members["x" + s] for s in suffixes]  # type: ignore[misc]
    if any(not (np.issubdtype(m.dtype, np.number) or m.dtype == bool) for m in xs):
        return None  # loading it whole names the problem
    reader = NpzRows(path, xs)
    features = int(np.prod(reader.row_shape))
    loaded = reader.n * features * 4 * LOAD_COPIES
    room = available_memory()
    if spec.stream == "auto" and loaded <= spec.memory_share * room:
        return None
    with np.load(path, allow_pickle=False) as f:
        ys = [np.asarray(f["y" + s]) for s in suffixes]
    task, y, classes, notes = npz_target(ys, spec, path)
    why = (
        "data.stream: true"
        if spec.stream is True
        else f"loaded whole it would take about {_mib(loaded)}, more than memory_share {spec.memory_share:g} "
        f"of the {_mib(room)} available"
    )
    notes.append(f"streamed: {reader.n} rows read from {path.name} batch by batch ({why})")
    shape = reader.row_shape if len(reader.row_shape) > 1 else None
    return Streamed(
        reader,
        y,
        task,
        classes,
        [f"x{i}" for i in range(features)],
        shape,
        "y",
        path.name,
        notes,
        test_rows=np.arange(len(ys[0]), len(y)) if has_test else None,
        check_finite=any(np.issubdtype(m.dtype, np.floating) for m in xs),
    )


def _images(spec: DataSpec, base: Path) -> Streamed:
    from PIL import Image, UnidentifiedImageError

    from nnrun.data.files import image_listing, images_note
    from nnrun.data.keras_datasets import pixel_names
    from nnrun.data.rows import ImageRows

    folder, classes, paths, labels = image_listing(spec, base)
    for p in paths:  # the header only: a file that is not a picture is named now, not mid-training
        try:
            with Image.open(p):
                pass
        except (OSError, UnidentifiedImageError) as exc:
            raise DataProblem(("data", "path"), f"cannot read {p} as a picture: {exc}") from None
    h, w = spec.image_size or (64, 64)
    reader = ImageRows(paths, (h, w), spec.color_mode)
    why = "data.stream: true" if spec.stream is True else "image folders always stream; data.stream: false loads them"
    notes = [images_note(len(paths), classes, spec), f"streamed: the pictures are read batch by batch ({why})"]
    task: Task = "binary" if len(classes) == 2 else "multiclass"
    return Streamed(
        reader,
        labels,
        task,
        classes,
        pixel_names(h, w, reader.row_shape[2]),
        reader.row_shape,
        "class",
        folder.name,
        notes,
        check_finite=False,
    )


def _chunks(rows: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def fitting_chunks(s: Streamed, train_rows: np.ndarray, standardize: bool) -> Iterator[np.ndarray]:
    """The training rows in pieces for `Preprocessor.fit_numeric`, after checking every row of
    the file is finite (float data: one pass over the file); nothing to read otherwise."""
    step = max(1, TRANSFORM_BYTES // (4 * max(1, int(np.prod(s.reader.row_shape)))))
    if s.check_finite:
        every = np.arange(s.reader.n)
        for rows in _chunks(every, step):
            x = s.reader.read(rows)
            bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
            if bad.any():
                raise DataProblem(
                    ("data", "path"),
                    f"{s.source}: row {int(rows[np.argmax(bad)])} of x has missing or infinite values",
                )
            if standardize:
                yield x[np.isin(rows, train_rows, assume_unique=True)]
    elif standardize:
        for rows in _chunks(train_rows, step):
            yield s.reader.read(rows)


class Rows:
    """One split of a streamed dataset: looks like the split's float32 array (`len`, `shape`,
    slicing, `np.asarray`) but holds row numbers; reading transforms with the run's Preprocessor."""

    dtype = np.dtype("float32")

    def __init__(
        self, reader: RowReader, rows: np.ndarray, pre: Preprocessor, source: str, checked: bool = False
    ) -> None:
        self.reader = reader
        #: Every value is known to be finite (checked while fitting: `fitting_chunks`), so reading
        #: skips the check.
        self.checked = checked
        self.rows = np.asarray(rows, dtype="int64")
        self.pre = pre
        self.source = source
        assert pre.input_shape is not None
        self.shape = (len(self.rows), *pre.input_shape)
        self.ndim = len(self.shape)
        self.row_values = math.prod(pre.input_shape)
        self._idle: list[Scratch] = []  # reading buffers of finished passes, for the next

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def nbytes(self) -> int:
        return len(self.rows) * self.row_values * 4

    def __repr__(self) -> str:
        return f"Rows({len(self.rows)} of {self.source}, shape {list(self.shape)}, streamed)"

    def __getitem__(self, key: Any) -> np.ndarray:
        positions = np.arange(len(self.rows))[key]
        if np.ndim(positions) == 0:
            return self.take(np.asarray([positions]))[0]
        return self.take(np.asarray(positions))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        x = self.take(np.arange(len(self.rows)))
        return x if dtype is None else x.astype(dtype)

    def take(self, positions: np.ndarray, scratch: Scratch | None = None, out: np.ndarray | None = None) -> np.ndarray:
        """The rows at these positions of the split, in this order, transformed (into `out` if given;
        `scratch`: the reading buffers of a loop of calls)."""
        if out is None:
            out = np.empty((len(positions), *self.shape[1:]), dtype="float32")
        scratch = scratch or Scratch()
        step = max(1, TRANSFORM_BYTES // (4 * self.row_values))
        file_rows = self.rows[positions]
        # Read in file order, TRANSFORM_BYTES at a time: each part is one stretch of the file, read
        # once (parts in the caller's order would each span every block of a shuffled piece).
        order = np.argsort(file_rows, kind="stable")
        for start in range(0, len(positions), step):
            part = order[start : start + step]
            # Positions in file order already (a shuffled buffer, an epoch in order): the rows are
            # read straight into `out`, and a transform that passes them through copies nothing.
            into = out[start : start + len(part)] if np.array_equal(part, np.arange(start, start + len(part))) else None
            if into is not None and self.reader.dtype == out.dtype and into.flags.c_contiguous:
                raw = into.reshape(len(part), *self.reader.row_shape)
            else:
                raw = scratch.array("rows", (len(part), *self.reader.row_shape), self.reader.dtype)
            raw = self.reader.read(file_rows[part], raw, scratch)
            x = self.pre.transform_numeric(raw, self.source, check=not self.checked)
            if into is None:
                out[part] = x
            elif not np.may_share_memory(x, into):
                into[...] = x
        return out

    def piece_rows(self, batch_size: int) -> int:
        """Rows of a piece (`pieces`) for batches of `batch_size`: a whole number of batches of
        about `TRANSFORM_BYTES` (one batch at least)."""
        return max(1, TRANSFORM_BYTES // (4 * self.row_values) // batch_size) * batch_size

    def pieces(self, size: int, seed: int | None = None, epoch: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(positions, inputs) of `size` rows at a time (the last piece may be smaller): in order,
        or shuffled (`seed`): blocks of neighbouring rows in a random order, read `BUFFER_BYTES` of
        them at a time, the rows of each such buffer shuffled. The epoch's order of rows does not
        depend on `size`."""
        scratch = self._idle.pop() if self._idle else Scratch()  # kept from epoch to epoch
        try:
            yield from self._pieces(scratch, size, seed, epoch)
        finally:
            self._idle.append(scratch)

    def _pieces(
        self, scratch: Scratch, size: int, seed: int | None, epoch: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n = len(self.rows)
        if seed is None:
            for positions in _chunks(np.arange(n), size):
                out = scratch.lend((len(positions), *self.shape[1:]), self.dtype)
                yield positions, self.take(positions, scratch, out)
            return
        buffer_rows = max(1, BUFFER_BYTES // (4 * self.row_values))
        rng = np.random.default_rng([seed, epoch])
        block = self.reader.block_rows
        order = rng.permutation(math.ceil(n / block))
        # What is handed over are arrays lent by `scratch` (a consumer such as tf.data may keep them
        # without copying; let go, their memory is reused: fresh memory costs a page fault a page, as
        # much as reading the rows). A piece may take rows from two buffers.
        out, taken = scratch.lend((min(size, n), *self.shape[1:]), self.dtype), 0
        out_positions = np.empty(len(out), dtype="int64")
        done = 0
        for group in _chunks(order, max(1, buffer_rows // block)):
            positions = rng.permutation(np.concatenate([np.arange(b * block, min((b + 1) * block, n)) for b in group]))
            # The buffer's rows are read in file order into memory reused from one buffer to the next.
            in_file = np.argsort(self.rows[positions], kind="stable")
            shape = (len(positions), *self.shape[1:])
            rows = self.take(positions[in_file], scratch, scratch.array("buffer", shape, self.dtype))
            at = np.empty(len(positions), dtype="int64")
            at[in_file] = np.arange(len(positions))
            start = 0
            while start < len(positions):
                m = min(len(out) - taken, len(positions) - start)
                np.take(rows, at[start : start + m], axis=0, out=out[taken : taken + m], mode="clip")
                out_positions[taken : taken + m] = positions[start : start + m]
                start, taken = start + m, taken + m
                if taken == len(out):
                    yield out_positions, out
                    done += taken
                    if done < n:
                        out, taken = scratch.lend((min(size, n - done), *self.shape[1:]), self.dtype), 0
                        out_positions = np.empty(len(out), dtype="int64")

    def batches(
        self, batch_size: int, seed: int | None = None, epoch: int = 0
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The epoch's rows in batches of `batch_size` (the last may be smaller, as when the arrays
        are in memory): the batches the `tf.data` pipeline (`nnrun.train.stream.pipeline`) gives."""
        for positions, x in self.pieces(self.piece_rows(batch_size), seed, epoch):
            for start in range(0, len(positions), batch_size):
                yield positions[start : start + batch_size], x[start : start + batch_size]
