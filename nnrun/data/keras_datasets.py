"""The Keras datasets (MNIST, Fashion-MNIST, CIFAR-10, IMDB) from Keras's own cache.

The files, their origins, hashes and cache folders are exactly those of `keras.datasets`
(`$KERAS_HOME/datasets/`, default `~/.keras/datasets/`), so a file Keras downloaded serves
nnrun and the other way round. A cached file is read with NumPy, as Keras's loaders read it,
so `validate` and `train` never import TensorFlow for it. A missing file is fetched once with
Keras's own `keras.utils.get_file` (`nnrun.data.download`).

Keras's test files are the test split (`data.test_size` does not apply); the validation split
comes from the training files (`data.validation`); `data.n_samples` keeps a stratified subset
of both.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nnrun.data.base import DataProblem, Raw
from nnrun.data.download import RemoteFile, fetch
from nnrun.data.safe_pickle import load_npz, load_pickle
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


def subset(y: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    """Indices of `n` rows with the classes' proportions (scikit-learn's stratified `train_test_split`)."""
    idx = np.arange(len(y))
    if n is None or n >= len(y):
        return idx
    from sklearn.model_selection import train_test_split

    try:
        keep, _ = train_test_split(idx, train_size=n, random_state=seed, stratify=y)
    except ValueError:  # too few rows for every class
        keep, _ = train_test_split(idx, train_size=n, random_state=seed)
    return np.sort(keep)


def joined(
    train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], spec: DataSpec, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training and test arrays as one (x, y) with the test rows' positions, subset to `n_samples`."""
    x = np.concatenate([train[0], test[0]])
    y = np.concatenate([np.ravel(train[1]), np.ravel(test[1])]).astype("int64")
    is_test = np.arange(len(y)) >= len(train[1])
    keep = subset(y * 2 + is_test, spec.n_samples, seed)  # keeps the classes' and the test files' shares
    return x[keep], y[keep], np.flatnonzero(keep >= len(train[1]))


def _images(
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    spec: DataSpec,
    seed: int,
    classes: list[str],
    source: str,
) -> Raw:
    x, y, test_rows = joined(train, test, spec, seed)
    h, w = x.shape[1], x.shape[2]
    c = x.shape[3] if x.ndim == 4 else 1
    raw = Raw.from_array(_pixels(x, (h, w, c)), y, "multiclass", pixel_names(h, w, c), classes, source=source)
    raw.test_rows = test_rows
    return raw


def pixel_names(h: int, w: int, c: int) -> list[str]:
    return [f"pixel_{r}_{col}" + (f"_{ch}" if c > 1 else "") for r in range(h) for col in range(w) for ch in range(c)]


def load_mnist(spec: DataSpec, seed: int, base: Path) -> Raw:
    with np.load(fetch(MNIST, "mnist"), allow_pickle=False) as f:
        train, test = (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    return _images(train, test, spec, seed, [str(i) for i in range(10)], MNIST.fname)


def _idx(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def load_fashion_mnist(spec: DataSpec, seed: int, base: Path) -> Raw:
    paths = [fetch(r, "fashion_mnist") for r in FASHION]
    y_train, y_test = _idx(paths[0], 8), _idx(paths[2], 8)
    train = (_idx(paths[1], 16).reshape(len(y_train), 28, 28), y_train)
    test = (_idx(paths[3], 16).reshape(len(y_test), 28, 28), y_test)
    return _images(train, test, spec, seed, FASHION_CLASSES, "fashion-mnist")


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    d = load_pickle(path, "cifar10")  # Keras's own format, read as Keras reads it but refusing code
    if not isinstance(d, dict):
        raise DataProblem(("data", "dataset"), f"cifar10: {path} is not a CIFAR-10 batch; delete it to download again")
    d = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in d.items()}
    return np.asarray(d["data"], dtype="uint8").reshape(-1, 3, 32, 32), np.asarray(d["labels"])


def load_cifar10(spec: DataSpec, seed: int, base: Path) -> Raw:
    folder = fetch(CIFAR10, "cifar10") / "cifar-10-batches-py"
    if not folder.is_dir():
        raise DataProblem(
            ("data", "dataset"), f"cifar10: {folder} is missing; delete {folder.parent} to download again"
        )
    parts = [_cifar_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
    train = (np.concatenate([p[0] for p in parts]).transpose(0, 2, 3, 1), np.concatenate([p[1] for p in parts]))
    x_test, y_test = _cifar_batch(folder / "test_batch")
    return _images(train, (x_test.transpose(0, 2, 3, 1), y_test), spec, seed, CIFAR10_CLASSES, "cifar-10")


#: IMDB's reserved indices, as `keras.datasets.imdb.load_data` has them: 0 padding, 1 start, 2 unknown.
START, OOV, INDEX_FROM = 1, 2, 3


def load_imdb(spec: DataSpec, seed: int, base: Path) -> Raw:
    """Reviews as word indices (Keras's `load_data` conventions: start 1, out-of-vocabulary 2,
    words from 3, the `num_words` most frequent kept), padded or cut to `sequence_length` at the
    front, as `keras.utils.pad_sequences` does by default."""
    # Ragged sequences are object arrays in the npz (pickled, as Keras stores them): read without
    # running code from the file, which may come from a mirror or a copy (nnrun.data.safe_pickle).
    f = load_npz(fetch(IMDB, "imdb"), "imdb")
    train, test = (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    words = spec.num_words or 10_000
    length = spec.sequence_length or 200

    def indices(reviews: np.ndarray) -> np.ndarray:
        seqs = [[START] + [w + INDEX_FROM if w + INDEX_FROM < words else OOV for w in map(int, r)] for r in reviews]
        return pad(seqs, length)

    x, y, test_rows = joined((indices(train[0]), train[1]), (indices(test[0]), test[1]), spec, seed)
    names = [f"word_{i}" for i in range(x.shape[1])]
    raw = Raw.from_array(x.astype("float32"), y, "binary", names, ["negative", "positive"], source=IMDB.fname)
    raw.test_rows = test_rows
    raw.input_shape = (length,)  # a sequence: predictions.csv does not list 200 word columns
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
