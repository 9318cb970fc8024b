"""The Keras datasets (MNIST, Fashion-MNIST, CIFAR-10, IMDB) from Keras's own cache.

The files, their origins, hashes and cache folders are exactly those of `keras.datasets`
(`$KERAS_HOME/datasets/`, default `~/.keras/datasets/`), so a file Keras downloaded serves
nnrun and the other way round. A cached file is read with NumPy, as Keras's loaders read it,
so `validate` and `train` never import TensorFlow for it. A missing file is fetched once with
Keras's own `keras.utils.get_file` (`nnrun.data.download`).

Keras's train and test files are joined and split by nnrun (`data.test_size`, `data.validation`),
as every other dataset is; `data.n_samples` keeps a stratified subset.
"""

from __future__ import annotations

import gzip
import os
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nnrun.data.base import DataProblem, Raw
from nnrun.data.download import RemoteFile, fetch
from nnrun.spec.data import DataSpec

_GCS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

MNIST = RemoteFile("mnist.npz", _GCS + "mnist.npz", "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1")
FASHION = [
    RemoteFile(name, _GCS + name, cache_subdir=os.path.join("datasets", "fashion-mnist"))
    for name in (
        "train-labels-idx1-ubyte.gz",
        "train-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
    )
]
CIFAR10 = RemoteFile(
    "cifar-10-batches-py-target",
    "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    extract=True,
)
IMDB = RemoteFile("imdb.npz", _GCS + "imdb.npz", "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f")

FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _pixels(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return (np.asarray(x, dtype="float32") / 255.0).reshape((len(x), *shape))


def subset(x: np.ndarray, y: np.ndarray, n: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` rows with the classes' proportions (scikit-learn's stratified `train_test_split`)."""
    if n is None or n >= len(y):
        return x, y
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    try:
        keep, _ = train_test_split(idx, train_size=n, random_state=seed, stratify=y)
    except ValueError:  # too few rows for every class
        keep, _ = train_test_split(idx, train_size=n, random_state=seed)
    keep = np.sort(keep)
    return x[keep], y[keep]


def _images(x: np.ndarray, y: np.ndarray, spec: DataSpec, seed: int, classes: list[str], source: str) -> Raw:
    x, y = subset(x, y.reshape(-1).astype("int64"), spec.n_samples, seed)
    h, w = x.shape[1], x.shape[2]
    c = x.shape[3] if x.ndim == 4 else 1
    names = [f"pixel_{r}_{col}" + (f"_{ch}" if c > 1 else "") for r in range(h) for col in range(w) for ch in range(c)]
    return Raw.from_array(_pixels(x, (h, w, c)), y, "multiclass", names, classes, source=source)


def load_mnist(spec: DataSpec, seed: int, base: Path) -> Raw:
    with np.load(fetch(MNIST, "mnist"), allow_pickle=False) as f:
        x = np.concatenate([f["x_train"], f["x_test"]])
        y = np.concatenate([f["y_train"], f["y_test"]])
    return _images(x, y, spec, seed, [str(i) for i in range(10)], MNIST.fname)


def _idx(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def load_fashion_mnist(spec: DataSpec, seed: int, base: Path) -> Raw:
    paths = [fetch(r, "fashion_mnist") for r in FASHION]
    y = np.concatenate([_idx(paths[0], 8), _idx(paths[2], 8)])
    x = np.concatenate([_idx(paths[1], 16), _idx(paths[3], 16)]).reshape(len(y), 28, 28)
    return _images(x, y, spec, seed, FASHION_CLASSES, "fashion-mnist")


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as f:
        d = pickle.load(f, encoding="bytes")  # noqa: S301 - Keras's own format, read as Keras reads it
    d = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in d.items()}
    return np.asarray(d["data"], dtype="uint8").reshape(-1, 3, 32, 32), np.asarray(d["labels"])


def load_cifar10(spec: DataSpec, seed: int, base: Path) -> Raw:
    folder = fetch(CIFAR10, "cifar10") / "cifar-10-batches-py"
    if not folder.is_dir():
        raise DataProblem(
            ("data", "dataset"), f"cifar10: {folder} is missing; delete {folder.parent} to download again"
        )
    parts = [_cifar_batch(folder / f"data_batch_{i}") for i in range(1, 6)] + [_cifar_batch(folder / "test_batch")]
    x = np.concatenate([p[0] for p in parts]).transpose(0, 2, 3, 1)
    y = np.concatenate([p[1] for p in parts])
    return _images(x, y, spec, seed, CIFAR10_CLASSES, "cifar-10")


#: IMDB's reserved indices, as `keras.datasets.imdb.load_data` has them: 0 padding, 1 start, 2 unknown.
START, OOV, INDEX_FROM = 1, 2, 3


def load_imdb(spec: DataSpec, seed: int, base: Path) -> Raw:
    """Reviews as word indices (Keras's `load_data` conventions: start 1, out-of-vocabulary 2,
    words from 3, the `num_words` most frequent kept), padded or cut to `sequence_length` at the
    front, as `keras.utils.pad_sequences` does by default."""
    # Ragged sequences are object arrays in the npz (pickled), as Keras stores them.
    with np.load(fetch(IMDB, "imdb"), allow_pickle=True) as f:
        xs = list(f["x_train"]) + list(f["x_test"])
        y = np.concatenate([f["y_train"], f["y_test"]]).astype("int64")
    words = spec.num_words or 10_000
    seqs = [[START] + [w + INDEX_FROM if w + INDEX_FROM < words else OOV for w in map(int, s)] for s in xs]
    x = pad(seqs, spec.sequence_length)
    x, y = subset(x, y, spec.n_samples, seed)
    names = [f"word_{i}" for i in range(x.shape[1])]
    raw = Raw.from_array(x.astype("float32"), y, "binary", names, ["negative", "positive"], source=IMDB.fname)
    raw.notes.append(
        f"imdb: {words} most frequent words kept (data.num_words; 2 = any other word), reviews padded or cut "
        f"to their last {spec.sequence_length} words (data.sequence_length)"
    )
    return raw


def pad(sequences: list[list[int]], length: int) -> np.ndarray:
    """`keras.utils.pad_sequences(sequences, maxlen=length)`: zeros in front, long ones keep their end."""
    out = np.zeros((len(sequences), length), dtype="int64")
    for i, seq in enumerate(sequences):
        tail = seq[-length:]
        if tail:
            out[i, -len(tail) :] = tail
    return out


LOADERS: dict[str, Callable[[DataSpec, int, Path], Raw]] = {
    "mnist": load_mnist,
    "fashion_mnist": load_fashion_mnist,
    "cifar10": load_cifar10,
    "imdb": load_imdb,
}
