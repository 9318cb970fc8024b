"""Any CSV with a target column: the feature columns as read (the Preprocessor encodes and
scales them), the target as classes or numbers, missing and infinite values refused.
Paths are relative to the config file and must stay files."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nnrun.data.base import DataProblem, Raw
from nnrun.data.preprocess import InputProblem, refuse_missing, refuse_non_finite
from nnrun.spec.data import DataSpec, Task

if TYPE_CHECKING:
    import pandas as pd

MAX_ROWS = 2_000_000
MAX_CLASSES = 1000
#: `task: auto` reads whole-number targets with at most this many values as classes.
MAX_AUTO_CLASSES = 20


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
    if len(frame) < 1:  # a few rows train (on the same rows for train, validation and test: see prepare)
        raise DataProblem(("data", "path"), f"{path.name} has no data rows, only a header")
    try:
        refuse_missing(frame, path.name, "fill or drop them first (nnrun does not guess)")
        refuse_non_finite(frame, path.name)
    except InputProblem as exc:
        raise DataProblem(("data", "path"), str(exc)) from None
    target = frame.pop(spec.target)
    if frame.shape[1] == 0:
        raise DataProblem(("data", "path"), f"{path.name} has no feature columns besides the target")
    task, notes = infer_task(target, spec)
    common = {"target": str(spec.target), "source": path.name, "notes": notes}
    if task == "regression":
        return Raw(frame, target.to_numpy(dtype="float32"), "regression", **common)  # type: ignore[arg-type]
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
    y = pd.Categorical(target.astype(str), categories=classes).codes.astype("int64")
    return Raw(frame, y, task, classes, **common)  # type: ignore[arg-type]


def infer_task(target: pd.Series, spec: DataSpec) -> tuple[Task, list[str]]:
    """`data.task` made concrete, and a note when `auto` had to judge numbers.

    Text is classification, fractional numbers regression; whole numbers (also written
    0.0/1.0) with at most `MAX_AUTO_CLASSES` distinct values are classes, more are a quantity.
    """
    import pandas as pd

    numeric = pd.api.types.is_numeric_dtype(target) and not pd.api.types.is_bool_dtype(target)
    distinct = int(target.nunique())
    name = spec.target
    if spec.task == "regression":
        if not numeric:
            raise DataProblem(
                ("data", "task"),
                f"target {name!r} is not numeric; it cannot be a regression target",
            )
        return "regression", []
    if spec.task in ("binary", "multiclass"):
        return spec.task, []
    classes: Task = "binary" if distinct == 2 else "multiclass"
    if spec.task == "classification" or not numeric:
        return classes, []
    values = target.to_numpy(dtype="float64")
    whole = bool(np.all(values == np.round(values)))
    if whole and distinct <= MAX_AUTO_CLASSES:
        shown = ", ".join(str(v) for v in sorted(target.unique())[:5]) + (", ..." if distinct > 5 else "")
        return classes, [
            f"data.task auto: the target {name!r} holds {distinct} whole numbers ({shown}), so this is "
            f"{classes} classification; set data.task: regression if they are quantities"
        ]
    if whole:
        return "regression", [
            f"data.task auto: the target {name!r} holds {distinct} distinct whole numbers (more than "
            f"{MAX_AUTO_CLASSES}), so this is regression; set data.task: classification if they are classes"
        ]
    return "regression", []
