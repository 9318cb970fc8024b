"""Raw -> Dataset: split (stratified for classes), scale on train only, encode labels to
suit the loss. The fitted scaler and encoders are returned as JSON-able data so a saved
run can predict on new rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nnrun.data.base import DataProblem, Dataset, Raw
from nnrun.data.sources import SOURCES
from nnrun.spec.config import Spec

ONE_HOT_LOSSES = frozenset({"categorical_crossentropy", "mse", "mae"})


def encode_labels(y: np.ndarray, task: str, n_classes: int | None, loss: str) -> np.ndarray:
    """Integer classes -> the array the loss expects (one-hot or not, automatically)."""
    if task == "regression":
        return y.reshape(len(y), -1).astype("float32")
    if task == "binary" and loss != "categorical_crossentropy" and loss != "sparse_categorical_crossentropy":
        return y.reshape(-1, 1).astype("float32")
    if loss == "sparse_categorical_crossentropy":
        return y.astype("int32")
    return np.eye(n_classes or int(y.max()) + 1, dtype="float32")[y]


def load_raw(spec: Spec, base: Path) -> Raw:
    return SOURCES[spec.data.dataset](spec.data, spec.seed, base)


def _split(raw: Raw, size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(raw.y))
    stratify = raw.y if raw.task != "regression" else None
    try:
        a, b = train_test_split(idx, test_size=size, random_state=seed, stratify=stratify)
    except ValueError:
        a, b = train_test_split(idx, test_size=size, random_state=seed)
    return np.sort(a), np.sort(b)


def prepare(spec: Spec, base: Path, raw: Raw | None = None) -> Dataset:
    """Load and split the data a spec names."""
    raw = raw if raw is not None else load_raw(spec, base)
    d = spec.data
    if raw.no_split:
        train_idx = test_idx = val_idx = np.arange(len(raw.y))
    else:
        if len(raw.y) * d.test_size < 1:
            raise DataProblem(
                ("data", "test_size"),
                f"test_size {d.test_size} of {len(raw.y)} rows leaves no test rows",
            )
        train_idx, test_idx = _split(raw, d.test_size, spec.seed)
        val_idx = test_idx
        if d.validation != "test":
            sub = Raw(raw.x[train_idx], raw.y[train_idx], raw.task, raw.feature_names)
            a, b = _split(sub, float(d.validation), spec.seed)
            train_idx, val_idx = train_idx[a], train_idx[b]

    x = raw.x
    scaler: dict[str, Any] | None = None
    if d.standardize:
        flat = x.reshape(len(x), -1)
        mean = flat[train_idx].mean(axis=0)
        scale = flat[train_idx].std(axis=0)
        scale[scale == 0] = 1.0
        x = ((flat - mean) / scale).reshape(x.shape).astype("float32")
        scaler = {"mean": mean.tolist(), "scale": scale.tolist()}

    n_classes = len(raw.class_names) if raw.class_names else None
    y = encode_labels(raw.y, raw.task, n_classes, spec.loss)
    preprocessing = {
        "task": raw.task,
        "feature_names": raw.feature_names,
        "class_names": raw.class_names,
        "input_shape": list(x.shape[1:]),
        "scaler": scaler,
        "label_encoding": "one_hot"
        if y.ndim == 2 and raw.task == "multiclass" or (raw.task == "binary" and y.ndim == 2 and y.shape[1] == 2)
        else "index",
        **raw.encoders,
    }
    return Dataset(
        x[train_idx],
        y[train_idx],
        x[val_idx],
        y[val_idx],
        x[test_idx],
        y[test_idx],
        task=raw.task,
        n_classes=n_classes,
        class_names=raw.class_names,
        feature_names=raw.feature_names,
        preprocessing=preprocessing,
    )
