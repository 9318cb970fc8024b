"""Reading the pickled parts of Keras's dataset files without running code from the file.

IMDB's `imdb.npz` stores its ragged reviews as object arrays (a pickle inside the npz) and
CIFAR-10's batches are pickled dicts. `np.load(allow_pickle=True)` and `pickle.load`, as Keras
reads them, would run whatever a tampered cached or mirrored file asks for. A pickle can only
call what its `find_class` hands out, so `SafeUnpickler` hands out the few NumPy functions that
rebuild an array (arrays, dtypes, scalars) and refuses every other name with a `DataProblem`
that names the file. Lists, dicts, ints and bytes need no names at all.

A hash check alone would not do: the tests' stand-in files, a file a learner copied into
Keras's cache by hand, and a file Keras downloaded before nnrun existed have no hash nnrun can
check, and all of them are read here.
"""

from __future__ import annotations

import codecs
import pickle
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from nnrun.data.base import DataProblem

_CORE = ("numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric", "numpy._core.numeric")
#: (module, name) -> the object a pickle of NumPy data may ask for; nothing else is given out.
_ALLOWED: dict[tuple[str, str], Any] = {
    **{(m, "_reconstruct"): np._core.multiarray._reconstruct for m in _CORE},
    **{(m, "scalar"): np._core.multiarray.scalar for m in _CORE},
    **{(m, "_frombuffer"): np._core.numeric._frombuffer for m in _CORE},
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,  # how protocol 2 spells bytes: text to bytes, nothing more
}


class UnsafePickle(pickle.UnpicklingError):
    pass


class SafeUnpickler(pickle.Unpickler):
    """A pickle reader that can rebuild NumPy arrays and plain Python data, and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickle(f"it asks for {module}.{name}, which a dataset file never needs") from None


def _refused(path: Path, exc: Exception, dataset: str) -> DataProblem:
    return DataProblem(
        ("data", "dataset"),
        f"{dataset}: {path} is not a file Keras wrote ({exc}); it was not read. Delete it so that it is "
        "downloaded again",
    )


def load_pickle(path: Path, dataset: str, encoding: str = "bytes") -> Any:
    """`pickle.load(open(path), encoding=encoding)` that refuses anything but NumPy data."""
    try:
        with open(path, "rb") as f:
            return SafeUnpickler(f, encoding=encoding).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise _refused(path, exc, dataset) from None


def _npy(f: IO[bytes]) -> np.ndarray:
    """One .npy member: its header, then the raw values, or (object arrays) the pickle NumPy wrote."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    if dtype.hasobject:  # as np.load with allow_pickle=True would read it (its default encoding)
        array = SafeUnpickler(f, encoding="ASCII").load()
        if not isinstance(array, np.ndarray):
            raise UnsafePickle(f"an object member holds a {type(array).__name__}, not an array")
        return array
    return np.frombuffer(bytearray(f.read()), dtype=dtype).reshape(shape, order="F" if fortran else "C")


def load_npz(path: Path, dataset: str) -> dict[str, np.ndarray]:
    """Every array of an .npz, object arrays included, without running code from the file."""
    try:
        with zipfile.ZipFile(path) as z:
            arrays = {}
            for name in z.namelist():
                if name.endswith(".npy"):
                    with z.open(name) as f:
                        arrays[name.removesuffix(".npy")] = _npy(f)
            return arrays
    except (OSError, zipfile.BadZipFile, pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise _refused(path, exc, dataset) from None
