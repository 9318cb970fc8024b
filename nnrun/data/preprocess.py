"""One `Preprocessor` for training and prediction: named input columns -> the float array a
model takes.

Numbers pass through, text columns are one-hot encoded, every feature is then standardised
with the training rows' mean and scale (scikit-learn's `ColumnTransformer`, `OneHotEncoder`
and `StandardScaler`), and the result is reshaped to the model's input shape. Training fits
it, the run folder keeps it as preprocessing.json (a readable `PreprocessingRecord`, never a
pickle), and `nnrun predict` loads it and calls the same `transform`: training and
prediction cannot drift apart. The record is the format nnrun has always written, so run
folders made by earlier versions load unchanged.

Every check on the rows themselves (a missing column, a missing or infinite value, text in
a numeric column, a category training never saw) lives here too, for the same reason.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from nnrun.errors import NnrunError
from nnrun.runs.records import written
from nnrun.spec.data import Task

if TYPE_CHECKING:
    import pandas as pd

#: A text column with more distinct values than this is refused: one-hot encoding would make
#: that many feature columns (an ID or free text, not a category).
MAX_LEVELS = 1000
#: ... and so is one whose distinct values are more than this fraction of the rows (once it
#: has more than `FEW_LEVELS`): nearly every row is its own category.
MAX_LEVEL_FRACTION = 0.5
FEW_LEVELS = 20

#: The target column name of a built-in dataset (the name predictions.csv uses).
BUILTIN_TARGET = "target"


class InputProblem(NnrunError):
    """Rows a Preprocessor cannot take; the message names the column (and line)."""


class UnusableRecord(NnrunError):
    """A preprocessing.json that cannot be read back into a Preprocessor."""


class ScalerState(BaseModel):
    """A fitted StandardScaler: one mean and one scale per feature."""

    model_config = ConfigDict(extra="ignore")

    mean: list[float]
    scale: list[float]


class PreprocessingRecord(BaseModel):
    """preprocessing.json. Tolerant of keys added later; `csv_columns` and `target` are
    absent in files written for built-in datasets by earlier versions."""

    model_config = ConfigDict(extra="ignore")

    task: Task
    #: The model's input features, in order (one-hot columns are `<column>_<value>`).
    feature_names: list[str]
    class_names: list[str] | None = None
    input_shape: list[int]
    scaler: ScalerState | None = None
    label_encoding: Literal["one_hot", "index"] = "index"
    #: The input columns, in the order of the file training read.
    csv_columns: list[str] | None = None
    #: Text column -> its values, sorted; each becomes one feature.
    categorical_levels: dict[str, list[str]] = {}
    target: str | None = None


class Target(BaseModel):
    """What the model predicts: the task, the class names and the target column's name."""

    task: Task
    class_names: list[str] | None = None
    column: str = BUILTIN_TARGET
    label_encoding: Literal["one_hot", "index"] = "index"


def _line(position: int) -> int:
    """A row's line in its CSV file (line 1 is the header)."""
    return position + 2


def text_columns(frame: pd.DataFrame) -> list[str]:
    import pandas as pd

    return [str(c) for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]


def text_levels(frame: pd.DataFrame, source: str = "the data") -> dict[str, list[str]]:
    """Each text column's values, sorted; refuses ID-like columns before anything is allocated."""
    levels: dict[str, list[str]] = {}
    rows = len(frame)
    for name in text_columns(frame):
        values = frame[name].astype(str)
        count = int(values.nunique())
        if count > MAX_LEVELS or (count > FEW_LEVELS and count > MAX_LEVEL_FRACTION * rows):
            raise InputProblem(
                f"{source}: the text column {name!r} has {count} distinct values in {rows} rows; one-hot "
                f"encoding it would make {count} feature columns (it looks like an ID or free text, not a "
                f"category). Drop the column, or turn it into a number or into at most {MAX_LEVELS} categories"
            )
        levels[name] = sorted(values.unique())
    return levels


def refuse_missing(frame: pd.DataFrame, source: str, hint: str = "fill or drop them first") -> None:
    """One error naming every column with missing values and how many rows."""
    empty = frame.isna().sum()
    empty = empty[empty > 0]
    if len(empty):
        where = ", ".join(f"{c} ({n} rows)" for c, n in empty.items())
        raise InputProblem(f"{source} has missing values in {where}; {hint}")


def refuse_non_finite(frame: pd.DataFrame, source: str) -> None:
    """Infinite numbers (`inf`, `1e400`) are refused as missing values are: naming column and line."""
    import pandas as pd

    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    if not numeric:
        return
    values = frame[numeric].to_numpy(dtype="float64")
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    row, col = (int(i) for i in np.argwhere(bad)[0])
    others = int(bad.any(axis=1).sum()) - 1
    more = f" (and {others} more row{'s' if others != 1 else ''})" if others else ""
    raise InputProblem(
        f"{source}: column {numeric[col]!r} has the non-finite value {float(values[row, col])} on line {_line(row)}"
        f"{more}; replace or drop such rows first (nnrun does not guess)"
    )


def _encoded_names(numeric: Sequence[str], levels: Mapping[str, Sequence[str]]) -> list[str]:
    return list(numeric) + [f"{name}_{value}" for name, values in levels.items() for value in values]


def _refuse_clashes(numeric: Sequence[str], levels: Mapping[str, Sequence[str]], source: str) -> None:
    """One-hot names must be unique: `color` = red beside a numeric `color_red` would share a feature."""
    made_by: dict[str, list[str]] = {}
    for name in numeric:
        made_by.setdefault(name, []).append(f"the column {name!r}")
    for name, values in levels.items():
        for value in values:
            made_by.setdefault(f"{name}_{value}", []).append(f"the text column {name!r} (value {value!r})")
    clashes = {feature: who for feature, who in made_by.items() if len(who) > 1}
    if clashes:
        feature, who = next(iter(clashes.items()))
        raise InputProblem(
            f"{source}: the feature name {feature!r} would come from both {' and '.join(who)}; "
            "one-hot columns are named <column>_<value>, so rename one of the columns"
        )


class Preprocessor:
    """Fit on training rows, transform any rows with the same columns, save, load.

    Args:
        standardize: scale every feature by the training rows' mean and standard deviation.
        input_shape: one sample's shape for the model (e.g. `(8, 8, 1)`); default flat.
        categories: text column -> its values. Training passes the values of *all* rows,
            so a category that only occurs in the test split is still known.
        target: what the model predicts; saved with the features for `predict`.
    """

    def __init__(
        self,
        standardize: bool = True,
        input_shape: Sequence[int] | None = None,
        categories: Mapping[str, Sequence[str]] | None = None,
        target: Target | None = None,
    ) -> None:
        self.standardize = standardize
        self.input_shape = tuple(int(d) for d in input_shape) if input_shape else None
        self.categories = {k: list(v) for k, v in categories.items()} if categories is not None else None
        self.target = target
        self.columns_: list[str] = []
        self.numeric_: list[str] = []
        self.levels_: dict[str, list[str]] = {}
        self.feature_names_: list[str] = []
        self.encoder_: Any = None
        self.scaler_: Any = None

    # -- fitting -------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame, source: str = "the data") -> Preprocessor:
        """Learn the columns, the text categories and the scaler from training rows."""
        from sklearn.preprocessing import StandardScaler

        frame = _named(frame)
        levels = self.categories if self.categories is not None else text_levels(frame, source)
        unknown = [c for c in text_columns(frame) if c not in levels]
        if unknown:
            raise InputProblem(f"{source}: no categories given for the text column {unknown[0]!r}")
        columns = [str(c) for c in frame.columns]
        numeric = [c for c in columns if c not in levels]
        self._set_columns(columns, numeric, {c: levels[c] for c in columns if c in levels}, source)
        self.scaler_ = None
        if self.standardize:
            self.scaler_ = StandardScaler().fit(self._encode(frame, source))
        return self

    def fit_numeric(self, columns: list[str], chunks: Iterable[np.ndarray], source: str = "the data") -> Preprocessor:
        """`fit` for numeric training rows that arrive in pieces (a streamed file), in `columns`'
        order: the scaler learns by `StandardScaler.partial_fit`, which gives the mean and scale
        `fit` gives on all the rows at once (up to rounding)."""
        from sklearn.preprocessing import StandardScaler

        self._set_columns(list(columns), list(columns), {}, source)
        scaler = StandardScaler() if self.standardize else None
        for chunk in chunks:
            if scaler is not None:
                scaler.partial_fit(self._numbers(chunk, source))
        self.scaler_ = scaler
        return self

    def _set_columns(self, columns: list[str], numeric: list[str], levels: dict[str, list[str]], source: str) -> None:
        _refuse_clashes(numeric, levels, source)
        self.columns_, self.numeric_, self.levels_ = columns, numeric, levels
        self.feature_names_ = _encoded_names(numeric, levels)
        self.encoder_ = _column_transformer(columns, numeric, levels)
        if self.input_shape is None:
            self.input_shape = (len(self.feature_names_),)
        if math.prod(self.input_shape) != len(self.feature_names_):
            raise UnusableRecord(
                f"{len(self.feature_names_)} features do not fit the input shape {list(self.input_shape)}"
            )

    # -- transforming --------------------------------------------------------------------
    def transform(self, frame: pd.DataFrame, source: str = "the input") -> np.ndarray:
        """Rows -> the float32 array the model takes, exactly as in training."""
        frame = _named(frame)
        x = self._encode(frame, source)
        if self.scaler_ is not None:
            x = self.scaler_.transform(x)
        assert self.input_shape is not None
        return np.asarray(x, dtype="float32").reshape((len(x), *self.input_shape))

    def transform_numeric(self, x: np.ndarray, source: str = "the input", check: bool = True) -> np.ndarray:
        """`transform` for rows that are numbers in the input columns' order already (a streamed
        file's), without building a frame: the same checks (`check=False`: the caller knows every
        value is finite), the same float64 arithmetic (without a scaler the values pass through, so
        float32 gives the same numbers with fewer copies)."""
        flat = self._numbers(x, source, "float64" if self.scaler_ is not None else "float32", check)
        if self.scaler_ is not None:
            flat -= self.scaler_.mean_
            flat /= self.scaler_.scale_
        assert self.input_shape is not None
        return flat.astype("float32", copy=False).reshape((len(flat), *self.input_shape))

    def _numbers(self, x: np.ndarray, source: str, dtype: str = "float64", check: bool = True) -> np.ndarray:
        if self.encoder_ is None:
            raise RuntimeError("this Preprocessor is not fitted yet; call fit() or load()")
        if self.levels_:
            raise ValueError("rows with text columns go through transform(), which encodes them")
        whole = np.issubdtype(np.asarray(x).dtype, np.integer) or np.asarray(x).dtype == bool  # always finite
        flat = np.asarray(x, dtype=dtype).reshape(len(x), -1)
        if flat.shape[1] != len(self.columns_):
            raise InputProblem(f"{source}: rows of {flat.shape[1]} values; the model takes {len(self.columns_)}")
        if check and not whole and not np.isfinite(flat).all():
            row = int(np.argwhere(~np.isfinite(flat))[0][0])
            raise InputProblem(f"{source}: row {row} has a missing or infinite value; replace or drop such rows first")
        return flat

    def fit_transform(self, frame: pd.DataFrame, source: str = "the data") -> np.ndarray:
        return self.fit(frame, source).transform(frame, source)

    def _encode(self, frame: pd.DataFrame, source: str) -> np.ndarray:
        import pandas as pd

        if self.encoder_ is None:
            raise RuntimeError("this Preprocessor is not fitted yet; call fit() or load()")
        present = [str(c) for c in frame.columns]
        missing = [c for c in self.columns_ if c not in present]
        if missing:
            raise _missing_columns(missing, present, source)
        rows = frame[self.columns_].copy()
        refuse_missing(rows, source)
        for name in self.numeric_:
            values = rows[name]
            if pd.api.types.is_numeric_dtype(values):
                continue
            numeric = pd.to_numeric(values, errors="coerce")
            bad = np.flatnonzero(numeric.isna().to_numpy())
            if len(bad):
                raise InputProblem(
                    f"{source}: column {name!r} must be numeric; line {_line(int(bad[0]))} has "
                    f"{str(values.iloc[bad[0]])!r}"
                )
            rows[name] = numeric
        refuse_non_finite(rows[self.numeric_], source)
        for name, known in self.levels_.items():
            text = rows[name].astype(str)
            unseen = sorted(set(text.unique()) - set(known))
            if unseen:
                raise InputProblem(
                    f"{source}: column {name!r} has the value {unseen[0]!r}, which training never saw; "
                    f"known values: {', '.join(known)}"
                )
            rows[name] = text
        return np.asarray(self.encoder_.transform(rows), dtype="float64")

    # -- the record ----------------------------------------------------------------------
    @property
    def feature_names(self) -> list[str]:
        return list(self.feature_names_)

    @property
    def input_columns(self) -> list[str]:
        return list(self.columns_)

    def record(self) -> PreprocessingRecord:
        """The fitted state as preprocessing.json's record (needs `target`: predict reads it)."""
        if self.encoder_ is None or self.target is None:
            raise ValueError("only a fitted Preprocessor with a target can be saved")
        target = self.target
        scaler = None
        if self.scaler_ is not None:
            scaler = ScalerState(mean=self.scaler_.mean_.tolist(), scale=self.scaler_.scale_.tolist())
        assert self.input_shape is not None
        return written(
            PreprocessingRecord,
            task=target.task,
            feature_names=self.feature_names_,
            class_names=target.class_names,
            input_shape=list(self.input_shape),
            scaler=scaler,
            label_encoding=target.label_encoding,
            csv_columns=self.columns_,
            categorical_levels=self.levels_,
            target=target.column,
        )

    def to_json(self) -> str:
        return json.dumps(self.record().model_dump(mode="json"), indent=2) + "\n"

    def save(self, path: Path) -> None:
        """Write preprocessing.json atomically (a crash leaves the old file or the new one)."""
        from nnrun.runs.files import atomic_write_text

        atomic_write_text(Path(path), self.to_json())

    @classmethod
    def from_record(cls, record: PreprocessingRecord) -> Preprocessor:
        """Rebuild the fitted transformers from a record (any version nnrun has written)."""
        from sklearn.preprocessing import StandardScaler

        levels = {str(k): [str(v) for v in vals] for k, vals in record.categorical_levels.items()}
        columns = list(record.csv_columns or record.feature_names)
        target = Target(
            task=record.task,
            class_names=record.class_names,
            column=record.target or BUILTIN_TARGET,
            label_encoding=record.label_encoding,
        )
        pre = cls(record.scaler is not None, record.input_shape, levels, target)
        stray = [c for c in levels if c not in columns]
        if stray:
            raise UnusableRecord(f"the text column {stray[0]!r} is not one of the input columns")
        numeric = [c for c in columns if c not in levels]
        try:
            pre._set_columns(columns, numeric, {c: levels[c] for c in columns if c in levels}, "the run")
        except InputProblem as exc:  # a clash written by a version that did not refuse them
            raise UnusableRecord(str(exc).replace("the run: ", "")) from None
        if pre.feature_names_ != list(record.feature_names):
            raise UnusableRecord(
                "its feature_names do not follow from its csv_columns and categorical_levels "
                f"(expected {pre.feature_names_[:6]}, found {record.feature_names[:6]})"
            )
        if record.scaler is not None:
            n = len(pre.feature_names_)
            if len(record.scaler.mean) != n or len(record.scaler.scale) != n:
                raise UnusableRecord(f"its scaler has {len(record.scaler.mean)} means for {n} features")
            mean = np.asarray(record.scaler.mean, dtype="float64")
            scale = np.asarray(record.scaler.scale, dtype="float64")
            if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
                raise UnusableRecord("its scaler holds a non-finite or non-positive value")
            # A fitted StandardScaler is exactly these attributes (sklearn's own fit sets them).
            scaler = StandardScaler()
            scaler.mean_, scaler.scale_, scaler.var_ = mean, scale, scale**2
            scaler.n_features_in_, scaler.n_samples_seen_ = n, 1
            pre.scaler_ = scaler
        return pre

    @classmethod
    def load(cls, path: Path) -> Preprocessor:
        """Read a run's preprocessing.json; `UnusableRecord` names the file and what is wrong."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            record = PreprocessingRecord.model_validate(data)
            return cls.from_record(record)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UnusableRecord(f"cannot read {path}: {exc}") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top level)"
            raise UnusableRecord(
                f"{path} is unusable: {where}: {first['msg']}; was it written by nnrun, or edited?"
            ) from None
        except UnusableRecord as exc:
            raise UnusableRecord(f"{path} is unusable: {exc}; was it edited?") from None


def _named(frame: pd.DataFrame) -> pd.DataFrame:
    if all(isinstance(c, str) for c in frame.columns):
        return frame
    return frame.rename(columns=str)


class _NumericColumns:
    """The encoder of rows whose columns are all numeric: those columns, in order, as float64
    (exactly what a ColumnTransformer passing them through returns, without importing
    sklearn.compose and running its checks again for every call: the rows are checked
    in `_encode`)."""

    def __init__(self, numeric: list[str]) -> None:
        self.numeric = list(numeric)

    def transform(self, rows: pd.DataFrame) -> np.ndarray:
        return rows[self.numeric].to_numpy(dtype="float64")


def _column_transformer(columns: list[str], numeric: list[str], levels: dict[str, list[str]]) -> Any:
    """The encoder for these columns, fitted.

    With the categories given explicitly its state is fully determined by the column lists,
    so fitting it on a one-row template is exact, in `fit` and in `load` alike.
    """
    if not levels:
        return _NumericColumns(numeric)
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    parts: list[tuple[str, Any, list[str]]] = []
    if numeric:
        parts.append(("numeric", "passthrough", numeric))
    if levels:
        encoder = OneHotEncoder(
            categories=[np.array(v, dtype=object) for v in levels.values()],
            handle_unknown="error",
            sparse_output=False,
            dtype=np.float64,
        )
        parts.append(("text", encoder, list(levels)))
    transformer = ColumnTransformer(parts, remainder="drop", sparse_threshold=0, verbose_feature_names_out=False)
    template = pd.DataFrame(
        {**{c: [0.0] for c in numeric}, **{c: [v[0] if v else ""] for c, v in levels.items()}},
        columns=columns,
    )
    return transformer.fit(template)


def _missing_columns(missing: list[str], present: list[str], source: str) -> InputProblem:
    parts = []
    for name in missing:
        near = difflib.get_close_matches(name, present, n=1, cutoff=0.6)
        parts.append(f"{name!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
    return InputProblem(
        f"{source} lacks {len(missing)} column{'s' if len(missing) != 1 else ''} the model was trained on: "
        + ", ".join(parts)
    )
