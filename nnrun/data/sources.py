"""Dataset sources by name: each returns a `Raw`. The tabular sets ship with scikit-learn,
some are generated from the seed, and the Keras datasets come from Keras's cache (downloaded
once on first use: `nnrun.data.keras_datasets`).

Adding a dataset: its static facts in `nnrun.spec.data.DATASETS` (what a config may name),
one `@SOURCES.register(name)` loader here, and a test.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from nnrun.data.base import Raw
from nnrun.registry import Registry
from nnrun.spec.data import DATASETS, DataSpec

Source = Callable[[DataSpec, int, Path], Raw]


class Sources(Registry[Source]):
    """Dataset name -> loader; only names the spec knows (`DATASETS`) can be registered."""

    def register(self, name: str) -> Callable[[Source], Source]:  # type: ignore[override]
        if name not in DATASETS:
            raise ValueError(f"dataset {name!r} has no entry in nnrun.spec.data.DATASETS")
        return super().register(name)


SOURCES = Sources("dataset")
register = SOURCES.register


_GATES = {"and": [0, 0, 0, 1], "or": [0, 1, 1, 1], "xor": [0, 1, 1, 0]}


def _gate(name: str) -> Source:
    def load(spec: DataSpec, seed: int, base: Path) -> Raw:
        x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
        y = np.array(_GATES[name], dtype="int64")
        return Raw.from_array(x, y, "binary", ["x1", "x2"], ["0", "1"], no_split=True)

    return load


for _name in _GATES:
    register(_name)(_gate(_name))


def _sklearn(loader_name: str, task: str) -> Source:
    def load(spec: DataSpec, seed: int, base: Path) -> Raw:
        from sklearn import datasets

        bunch = getattr(datasets, loader_name)()
        x = np.asarray(bunch.data, dtype="float32")
        names = [str(n) for n in getattr(bunch, "feature_names", [f"x{i}" for i in range(x.shape[1])])]
        if task == "regression":
            return Raw.from_array(x, np.asarray(bunch.target, dtype="float32"), "regression", names)
        classes = [str(c) for c in getattr(bunch, "target_names", sorted(set(bunch.target)))]
        return Raw.from_array(x, np.asarray(bunch.target, dtype="int64"), task, names, classes)  # type: ignore[arg-type]

    return load


register("breast_cancer")(_sklearn("load_breast_cancer", "binary"))
register("iris")(_sklearn("load_iris", "multiclass"))
register("wine")(_sklearn("load_wine", "multiclass"))
register("diabetes")(_sklearn("load_diabetes", "regression"))


@register("digits")
def _digits(spec: DataSpec, seed: int, base: Path) -> Raw:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (np.asarray(bunch.data, dtype="float32") / 16.0).astype("float32")
    names = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
    return Raw.from_array(x, np.asarray(bunch.target, dtype="int64"), "multiclass", names, [str(i) for i in range(10)])


@register("moons")
def _moons(spec: DataSpec, seed: int, base: Path) -> Raw:
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=spec.n_samples, noise=spec.noise, random_state=seed)
    return Raw.from_array(x.astype("float32"), y.astype("int64"), "binary", ["x1", "x2"], ["0", "1"])


@register("circles")
def _circles(spec: DataSpec, seed: int, base: Path) -> Raw:
    from sklearn.datasets import make_circles

    x, y = make_circles(n_samples=spec.n_samples, noise=spec.noise, factor=0.5, random_state=seed)
    return Raw.from_array(x.astype("float32"), y.astype("int64"), "binary", ["x1", "x2"], ["0", "1"])


@register("linear")
def _linear(spec: DataSpec, seed: int, base: Path) -> Raw:
    rng = np.random.default_rng(seed)
    n = spec.n_samples or 500
    x = rng.uniform(-1, 1, size=(n, 1)).astype("float32")
    y = (2.0 * x[:, 0] + (spec.noise or 0.0) * rng.standard_normal(n)).astype("float32")
    return Raw.from_array(x, y, "regression", ["x"])


@register("sine")
def _sine(spec: DataSpec, seed: int, base: Path) -> Raw:
    rng = np.random.default_rng(seed)
    n = spec.n_samples or 500
    steps = spec.sequence_length
    t = np.arange(n + steps, dtype="float64")
    wave = np.sin(2 * np.pi * t / 25.0) + (spec.noise or 0.0) * rng.standard_normal(t.shape)
    windows = np.lib.stride_tricks.sliding_window_view(wave, steps + 1)[:n]
    x = windows[:, :steps, None].astype("float32")
    y = windows[:, steps].astype("float32")
    return Raw.from_array(x, y, "regression", [f"t-{steps - i}" for i in range(steps)])


@register("csv")
def _csv(spec: DataSpec, seed: int, base: Path) -> Raw:
    from nnrun.data.csv import load_csv

    return load_csv(spec, base)


def _keras(name: str) -> Source:
    def load(spec: DataSpec, seed: int, base: Path) -> Raw:
        from nnrun.data.keras_datasets import LOADERS

        return LOADERS[name](spec, seed, base)

    return load


for _name in ("mnist", "fashion_mnist", "cifar10", "imdb"):
    register(_name)(_keras(_name))


@register("npz")
def _npz(spec: DataSpec, seed: int, base: Path) -> Raw:
    from nnrun.data.files import load_npz

    return load_npz(spec, base)


@register("images")
def _images(spec: DataSpec, seed: int, base: Path) -> Raw:
    from nnrun.data.files import load_images

    return load_images(spec, base)
