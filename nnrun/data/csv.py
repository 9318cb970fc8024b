"""Any CSV with a target column: numeric features kept, text features one-hot encoded,
missing values refused. Paths are relative to the config file and must stay files."""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np

from nnrun.data.base import DataProblem, Raw
from nnrun.spec.data import DataSpec

MAX_ROWS = 2_000_000
MAX_CLASSES = 1000


def resolve_path(spec: DataSpec, base: Path) -> Path:
    assert spec.path is not None
    p = Path(spec.path)
    p = p if p.is_absolute() else base / p
    if not p.exists():
        raise DataProblem(("data", "path"), f"no such file: {p}")
    if not p.is_file():
        raise DataProblem(("data", "path"), f"not a file: {p}")
    return p


def load_csv(spec: DataSpec, base: Path) -> Raw:
    import pandas as pd

    path = resolve_path(spec, base)
    try:
        frame = pd.read_csv(path, nrows=MAX_ROWS + 1)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataProblem(("data", "path"), f"cannot read {path} as CSV: {str(exc).splitlines()[0]}") from None
    if len(frame) > MAX_ROWS:
        raise DataProblem(("data", "path"), f"{path} has more than {MAX_ROWS} rows; nnrun trains in memory")
    columns = [str(c) for c in frame.columns]
    if spec.target not in columns:
        near = difflib.get_close_matches(str(spec.target), columns, n=1)
        raise DataProblem(
            ("data", "target"),
            f"no column {spec.target!r} in {path.name}; columns: {', '.join(columns[:20])}",
            near[0] if near else None,
        )
    if len(frame) < 4:
        raise DataProblem(("data", "path"), f"{path.name} has {len(frame)} rows; need at least 4")
    missing = frame.isna().sum()
    missing = missing[missing > 0]
    if len(missing):
        where = ", ".join(f"{c} ({n} rows)" for c, n in missing.items())
        raise DataProblem(
            ("data", "path"),
            f"{path.name} has missing values in {where}; fill or drop them first (nnrun does not guess)",
        )
    target = frame.pop(spec.target)
    if frame.shape[1] == 0:
        raise DataProblem(("data", "path"), f"{path.name} has no feature columns besides the target")

    categorical = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    levels = {str(c): sorted(str(v) for v in frame[c].unique()) for c in categorical}
    for c in categorical:
        frame[c] = frame[c].astype(str)
    encoded = pd.get_dummies(frame, columns=categorical, dtype="float32") if categorical else frame
    x = encoded.to_numpy(dtype="float32")
    names = [str(c) for c in encoded.columns]
    encoders = {
        "csv_columns": [str(c) for c in frame.columns],
        "categorical_levels": levels,
        "target": spec.target,
    }

    task = spec.task
    numeric = pd.api.types.is_numeric_dtype(target) and not pd.api.types.is_bool_dtype(target)
    if task == "auto":
        distinct = target.nunique()
        if not numeric or pd.api.types.is_integer_dtype(target) and distinct <= 20:
            task = "binary" if distinct == 2 else "multiclass"
        else:
            task = "regression"
    if task == "regression":
        if not numeric:
            raise DataProblem(
                ("data", "task"),
                f"target {spec.target!r} is not numeric; it cannot be a regression target",
            )
        return Raw(x, target.to_numpy(dtype="float32"), "regression", names, encoders=encoders)
    classes = sorted(target.astype(str).unique())
    if len(classes) < 2:
        raise DataProblem(("data", "target"), f"target {spec.target!r} has a single class; nothing to learn")
    if len(classes) > MAX_CLASSES:
        raise DataProblem(
            ("data", "task"),
            f"target {spec.target!r} has {len(classes)} classes; set task: regression?",
        )
    if task == "binary" and len(classes) != 2:
        raise DataProblem(("data", "task"), f"task is binary but {spec.target!r} has {len(classes)} classes")
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[v] for v in target.astype(str)], dtype="int64")
    return Raw(x, y, task, names, classes, encoders=encoders)  # type: ignore[arg-type]
