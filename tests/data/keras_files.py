"""Small files in the formats `keras.datasets` downloads, served from 127.0.0.1.

Each class gets its own bright patch on a noisy background, so a tiny net can learn them in
an epoch or two. Tests point nnrun at the server with `NNRUN_DATASETS_MIRROR` and at an empty
Keras cache with `KERAS_HOME`: the download is Keras's own `get_file`, over real HTTP.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gzip
import http.server
import io
import pickle
import shutil
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest


def images(n: int, h: int, w: int, c: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (n, h, w[, c]) whose class (0-9) is where a bright patch sits."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    rng.shuffle(y)
    x = rng.integers(0, 60, size=(n, h, w, c), dtype=np.uint8)
    for i, k in enumerate(y):
        r, col = (k // 5) * (h // 2), (k % 5) * (w // 5)
        x[i, r : r + h // 2, col : col + w // 5, :] = 230
    return (x[..., 0] if c == 1 else x), y.astype(np.uint8)


def write_mnist(folder: Path, n_train: int = 300, n_test: int = 100) -> None:
    xa, ya = images(n_train, 28, 28, 1, 1)
    xb, yb = images(n_test, 28, 28, 1, 2)
    np.savez(folder / "mnist.npz", x_train=xa, y_train=ya, x_test=xb, y_test=yb)


def _idx(data: np.ndarray, magic: int) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in data.shape)
    return gzip.compress(header + data.tobytes())


def write_fashion_mnist(folder: Path, n_train: int = 300, n_test: int = 100) -> None:
    xa, ya = images(n_train, 28, 28, 1, 3)
    xb, yb = images(n_test, 28, 28, 1, 4)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(_idx(ya, 2049))
    (folder / "train-images-idx3-ubyte.gz").write_bytes(_idx(xa, 2051))
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(_idx(yb, 2049))
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(_idx(xb, 2051))


def write_cifar10(folder: Path, per_batch: int = 40) -> None:
    """cifar-10-python.tar.gz: cifar-10-batches-py/data_batch_1..5 and test_batch, pickled dicts
    of `data` (n, 3072, channels first) and `labels`, as the Toronto archive has them."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for i, name in enumerate([f"data_batch_{b}" for b in range(1, 6)] + ["test_batch"]):
            x, y = images(per_batch, 32, 32, 3, 10 + i)
            body = pickle.dumps(
                {b"data": x.transpose(0, 3, 1, 2).reshape(per_batch, -1), b"labels": [int(v) for v in y]}
            )
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    (folder / "cifar-10-python.tar.gz").write_bytes(buf.getvalue())


def reviews(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Ragged word-index reviews (Keras's raw indices: 1 = the most frequent word): positive ones
    use words 1-49, negative ones words 50-99, plus common words from both."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    xs = np.empty(n, dtype=object)
    for i, label in enumerate(y):
        own = rng.integers(1, 50, size=int(rng.integers(5, 40))) + (0 if label else 49)
        xs[i] = [int(w) for w in np.concatenate([own, rng.integers(100, 2000, size=5)])]
    return xs, y.astype(np.int64)


def write_imdb(folder: Path, n_train: int = 200, n_test: int = 100) -> None:
    xa, ya = reviews(n_train, 5)
    xb, yb = reviews(n_test, 6)
    np.savez(folder / "imdb.npz", x_train=xa, y_train=ya, x_test=xb, y_test=yb)


def write_all(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for write in (write_mnist, write_fashion_mnist, write_cifar10, write_imdb):
        write(folder)
    return folder


def fill_cache(folder: Path, home: Path) -> Path:
    """A Keras home whose cache holds the files of `folder` where `keras.datasets` keeps them."""
    from nnrun.data import keras_datasets as kd

    for remote in (kd.MNIST, *kd.FASHION, kd.IMDB):
        remote_path = home / remote.cache_subdir / remote.fname
        remote_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / remote.fname, remote_path)
    with tarfile.open(folder / "cifar-10-python.tar.gz") as tar:
        tar.extractall(home / kd.CIFAR10.cache_subdir / kd.CIFAR10.fname, filter="data")
    return home


def trust(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In this process, check downloads against the stand-ins' SHA-256 instead of Keras's."""
    from nnrun.data import keras_datasets as kd
    from nnrun.data.download import sha256

    for name in ("MNIST", "CIFAR10", "IMDB"):
        remote = getattr(kd, name)
        standin = sha256(folder / remote.origin.rsplit("/", 1)[1])
        monkeypatch.setattr(kd, name, dataclasses.replace(remote, file_hash=standin))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 (a free port) serving `folder`; yields its base URL."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
