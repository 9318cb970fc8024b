"""Raw -> Dataset: split (stratified for classes), fit the `Preprocessor` on the training
rows only, encode labels to suit the loss. The fitted Preprocessor travels with the
Dataset so the run folder can save it for `predict`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnrun.data.base import DataProblem, Dataset, Raw
from nnrun.data.preprocess import InputProblem, Preprocessor, Target, text_levels
from nnrun.data.sources import SOURCES
from nnrun.spec.config import Spec
from nnrun.spec.losses import LOSSES

if TYPE_CHECKING:
    from nnrun.data.stream import Streamed


def encode_labels(y: np.ndarray, task: str, n_classes: int | None, loss: str) -> np.ndarray:
    """Integer classes -> the array the loss expects (`LossEntry.labels`: one-hot or not)."""
    if task == "regression":
        return y.reshape(len(y), -1).astype("float32")
    labels = LOSSES.get(loss).labels
    if task == "binary" and labels == "auto":
        return y.reshape(-1, 1).astype("float32")
    if labels == "indices":
        return y.astype("int32")
    return np.eye(n_classes or int(y.max()) + 1, dtype="float32")[y]


def load_raw(spec: Spec, base: Path) -> Raw:
    return SOURCES.get(spec.data.dataset)(spec.data, spec.seed, base)


#: Datasets with fewer rows than this train, validate and test on the same rows.
MIN_ROWS_TO_SPLIT = 10


def _split_indices(y: np.ndarray, task: str, size: float, seed: int, stratify: bool) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's `train_test_split` of the row indices: with `stratify=False` exactly the rows
    `train_test_split(X, y, test_size=size, random_state=seed)` gives (in sorted order)."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    strata = y if stratify and task != "regression" else None
    try:
        a, b = train_test_split(idx, test_size=size, random_state=seed, stratify=strata)
    except ValueError:  # a class too small to stratify
        a, b = train_test_split(idx, test_size=size, random_state=seed)
    return np.sort(a), np.sort(b)


def too_small(raw: Raw) -> bool:
    return raw.no_split or len(raw.y) < MIN_ROWS_TO_SPLIT


def split(raw: Raw, spec: Spec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices of the train, validation and test splits: test first, then validation as a
    fraction of the rest, both seeded with `data.split_seed` (default `seed`) and stratified for
    classes unless `data.stratify: false`. A dataset under `MIN_ROWS_TO_SPLIT` rows (the logic
    gates) is all three."""
    d = spec.data
    if too_small(raw):
        every = np.arange(len(raw.y))
        return every, every, every
    if len(raw.y) * d.test_size < 1:
        raise DataProblem(
            ("data", "test_size"),
            f"test_size {d.test_size} of {len(raw.y)} rows leaves no test rows",
        )
    seed = spec.seed if d.split_seed is None else d.split_seed
    if raw.test_rows is not None:  # the source's own test split
        test_idx = np.sort(np.asarray(raw.test_rows, dtype="int64"))
        train_idx = np.setdiff1d(np.arange(len(raw.y)), test_idx)
    else:
        train_idx, test_idx = _split_indices(raw.y, raw.task, d.test_size, seed, d.stratify)
    val_idx = test_idx
    if d.validation != "test":
        if len(train_idx) * float(d.validation) < 1:
            raise DataProblem(
                ("data", "validation"),
                f"validation {d.validation} of {len(train_idx)} training rows leaves no validation rows",
                "a larger fraction, or validation: test",
            )
        a, b = _split_indices(raw.y[train_idx], raw.task, float(d.validation), seed, d.stratify)
        train_idx, val_idx = train_idx[a], train_idx[b]
    return train_idx, val_idx, test_idx


def _n_classes(source: Raw | Streamed) -> int | None:
    return len(source.class_names) if source.class_names else None


def _labels(raw: Raw | Streamed, loss: str) -> tuple[np.ndarray, Target]:
    """The targets encoded for the loss, and what predict needs to decode them."""
    y = encode_labels(raw.y, raw.task, _n_classes(raw), loss)
    one_hot = y.ndim == 2 and raw.task == "multiclass" or (raw.task == "binary" and y.ndim == 2 and y.shape[1] == 2)
    encoding = "one_hot" if one_hot else "index"
    return y, Target(task=raw.task, class_names=raw.class_names, column=raw.target, label_encoding=encoding)


def prepare(spec: Spec, base: Path, raw: Raw | None = None) -> Dataset:
    """Load, split, encode and scale the data a spec names (or stream it: `nnrun.data.stream`)."""
    if raw is None:
        from nnrun.data.stream import plan

        streamed = plan(spec.data, base)
        if streamed is not None:
            return prepare_streamed(streamed, spec)
    raw = raw if raw is not None else load_raw(spec, base)
    train_idx, val_idx, test_idx = split(raw, spec)
    same = too_small(raw)
    notes = list(raw.notes)
    shown = raw.frame if raw.input_shape is None else None  # predictions.csv's input columns
    vectorizer = None
    if spec.data.text is not None:
        from nnrun.data.text import as_sequences

        raw, vectorizer, note = as_sequences(raw, spec.data, train_idx)
        shown = shown[[spec.data.text]] if shown is not None else None  # the text itself
        notes.append(note)
    if same:
        notes.append(
            f"{len(raw.y)} rows: too few to split, so train, validation and test are the same rows "
            "(the test figures say how well the net fits them, not how it does on new rows)"
        )
    y, target = _labels(raw, spec.loss)
    try:
        # Categories come from every row, so a value seen only in the test split is known;
        # the scaler learns from the training rows only.
        pre = Preprocessor(
            standardize=bool(spec.data.standardize) and vectorizer is None,  # word indices stay indices
            input_shape=raw.input_shape,
            categories=text_levels(raw.frame, raw.source),
            target=target,
        )
        pre.fit(raw.frame.iloc[train_idx], raw.source)
        x = pre.transform(raw.frame, raw.source)
    except InputProblem as exc:
        raise DataProblem(("data", "path"), str(exc)) from None
    return _dataset(
        raw,
        lambda idx: x[idx],
        y,
        (train_idx, val_idx, test_idx),
        pre,
        notes=notes,
        same_rows=same,
        test_inputs=shown.iloc[test_idx].reset_index(drop=True) if shown is not None else None,
        text=vectorizer,
    )


def _dataset(
    source: Raw | Streamed,
    x_of: Callable[[np.ndarray], Any],
    y: np.ndarray,
    splits: tuple[np.ndarray, np.ndarray, np.ndarray],
    pre: Preprocessor,
    **extra: Any,
) -> Dataset:
    """The `Dataset` of the split rows: `x_of(rows)` gives a split's inputs (arrays or streamed `Rows`)."""
    train_idx, val_idx, test_idx = splits
    return Dataset(
        x_of(train_idx),
        y[train_idx],
        x_of(val_idx),
        y[val_idx],
        x_of(test_idx),
        y[test_idx],
        task=source.task,
        n_classes=_n_classes(source),
        class_names=source.class_names,
        feature_names=pre.feature_names,
        preprocessor=pre,
        test_rows=test_idx,
        **extra,
    )


def prepare_streamed(s: Streamed, spec: Spec) -> Dataset:
    """`prepare` for data that stays in its files: the same split, labels and Preprocessor; the
    inputs are `Rows` that read and transform batches as training asks for them."""
    from nnrun.data.stream import Rows, fitting_chunks

    train_idx, val_idx, test_idx = split(s, spec)  # type: ignore[arg-type]
    y, target = _labels(s, spec.loss)
    standardize = bool(spec.data.standardize)
    pre = Preprocessor(standardize=standardize, input_shape=s.input_shape, target=target)
    try:
        pre.fit_numeric(s.feature_names, fitting_chunks(s, train_idx, standardize), s.source)
    except InputProblem as exc:
        raise DataProblem(("data", "path"), str(exc)) from None
    splits = (train_idx, val_idx, test_idx)

    def rows(idx: np.ndarray) -> Rows:  # every value was checked finite by fitting_chunks (or cannot be anything else)
        return Rows(s.reader, idx, pre, s.source, checked=True)

    return _dataset(s, rows, y, splits, pre, notes=list(s.notes), same_rows=too_small(s))
