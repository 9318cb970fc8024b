"""Predict on new rows with a saved run: the run's model, scaler and encoders, the same
probabilities, thresholding and columns as the run's own predictions.csv.

Everything that can fail because of the input (a missing column, an unseen category, a
text value in a numeric column) is checked before TensorFlow is imported, so a bad file
fails in a fraction of a second with a message naming the column.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnrun.data.preprocess import Preprocessor, Target
from nnrun.data.text import TextVectorizer
from nnrun.errors import NnrunError
from nnrun.runs.layout import RunFolder

MODEL_FILE = RunFolder.MODEL
PREPROCESSING_FILE = RunFolder.PREPROCESSING


@dataclass
class SavedRun:
    """What a run folder holds for prediction (everything but the model itself)."""

    dir: Path
    preprocessor: Preprocessor
    threshold: float
    #: A run trained on a CSV text column (data.text): its vocabulary.json.
    text: TextVectorizer | None = None

    @property
    def target(self) -> Target:
        return self.preprocessor.target or Target(task="regression")

    @property
    def task(self) -> str:
        return self.target.task

    @property
    def target_column(self) -> str:
        return self.target.column

    @property
    def input_columns(self) -> list[str]:
        """The columns an input file must have: the raw CSV columns, or the feature names."""
        return self.preprocessor.input_columns


@dataclass
class Prediction:
    """Rows in predictions.csv format, plus accuracy or MAE when the input had targets."""

    rows: list[dict[str, Any]]
    threshold: float | None
    metrics: dict[str, float] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    target_column: str | None = None


def load_run(run_dir: Path) -> SavedRun:
    """Read preprocessing.json and the threshold; refuse folders that cannot predict."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise NnrunError(f"no such run folder: {run_dir}")
    prep_path = RunFolder(run_dir).preprocessing
    if not prep_path.is_file():
        raise NnrunError(f"{run_dir} is not a run folder (no {PREPROCESSING_FILE})")
    if not RunFolder(run_dir).model.is_file():
        status = _status(run_dir)
        raise NnrunError(f"{run_dir} has no {MODEL_FILE} (run status: {status}); it cannot predict")
    vocabulary = RunFolder(run_dir).vocabulary
    text = TextVectorizer.load(vocabulary) if vocabulary.is_file() else None
    return SavedRun(run_dir, Preprocessor.load(prep_path), _threshold(run_dir), text)


def _status(run_dir: Path) -> str:
    """The status `compare` and `show` give the run (`crashed` for a dead "running" run)."""
    from nnrun.runs.liveness import current_status
    from nnrun.runs.reader import read_record

    record = read_record(run_dir)
    status = current_status(record, run_dir) if record is not None else None
    return str(status) if status is not None else "unknown"


def _threshold(run_dir: Path) -> float:
    import yaml

    try:
        config = yaml.safe_load(RunFolder(run_dir).config.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return 0.5
    return float(((config.get("evaluation") or {}).get("threshold")) or 0.5)


#: Rows predicted in one call (and read in one piece from an .npz: `input_frames`).
PREDICT_BATCH = 4096
#: The column naming each picture when predicting a folder of images or an image file.
FILE_COLUMN = "file"


def input_frames(path: Path, run: SavedRun) -> Iterator[Any]:
    """`read_input` in pieces: an .npz's rows `PREDICT_BATCH` at a time, read from the file as
    prediction goes (memory for one batch, whatever the file's size); anything else whole."""
    path = Path(path)
    if path.suffix.lower() == ".npz" and not path.is_dir():
        return _npz_frames(path, run)
    return iter([read_input(path, run)])


def read_input(path: Path, run: SavedRun) -> Any:
    """The input as a DataFrame of the run's input columns: a CSV (categorical columns read as
    text, as in training), an .npz (`x`, optionally `y`), a picture or a folder of pictures
    (read as training read them: `nnrun.data.files`)."""
    import pandas as pd

    from nnrun.data.files import IMAGE_SUFFIXES

    path = Path(path)
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        return _read_images(path, run)
    if path.suffix.lower() == ".npz":
        return _read_npz(path, run)
    if not path.is_file():
        raise NnrunError(f"no such file: {path}")
    text_columns = {c: str for c in run.preprocessor.levels_}
    try:
        frame = pd.read_csv(path, dtype=text_columns)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise NnrunError(f"cannot read {path} as CSV: {str(exc).splitlines()[0]}") from None
    frame.columns = [str(c) for c in frame.columns]
    if len(frame) == 0:
        raise NnrunError(f"{path.name} has no rows")
    if run.text is not None:  # the text column -> the word indices the model takes
        column = run.text.column
        if column not in frame.columns:
            raise NnrunError(f"{path.name} lacks the text column {column!r} the model was trained on")
        if frame[column].isna().any():
            raise NnrunError(f"{path.name}: the text column {column!r} has missing values")
        frame = pd.concat([frame, run.text.frame(frame[column].astype(str))], axis=1)
    return frame


def _read_images(path: Path, run: SavedRun) -> Any:
    import pandas as pd

    from nnrun.data.files import image_files, read_images

    shape = tuple(run.preprocessor.input_shape or ())
    if len(shape) != 3 or shape[2] not in (1, 3):
        raise NnrunError(f"{run.dir} was not trained on pictures (its inputs are {list(shape)}); give it a CSV")
    if path.is_dir():
        paths = image_files(path) or sorted(p for d in sorted(path.iterdir()) if d.is_dir() for p in image_files(d))
        if not paths:
            raise NnrunError(f"{path} holds no pictures")
    elif path.is_file():
        paths = [path]
    else:
        raise NnrunError(f"no such file: {path}")
    x = read_images(paths, (shape[0], shape[1]), "grayscale" if shape[2] == 1 else "rgb")
    frame = pd.DataFrame(x.reshape(len(x), -1), columns=run.input_columns)
    names = [str(p.relative_to(path)) if path.is_dir() else p.name for p in paths]
    frame.insert(0, FILE_COLUMN, names)
    if path.is_dir() and all(p.parent != path for p in paths):  # class sub-folders: their names are the truth
        frame[run.target_column] = [p.parent.name for p in paths]
    return frame


def _read_npz(path: Path, run: SavedRun) -> Any:
    import pandas as pd

    return pd.concat(list(_npz_frames(path, run)), ignore_index=True)


def _npz_frames(path: Path, run: SavedRun) -> Iterator[Any]:
    """An .npz's rows as frames of `rows` rows, `x` read from the file batch by batch (its `y`,
    one value a row, whole); its layout is checked before the first frame is asked for."""
    import pandas as pd

    from nnrun.data.files import npz_error
    from nnrun.data.rows import member_batches

    if not path.is_file():
        raise NnrunError(f"no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as f:
            names = list(f.files)
            y = np.asarray(f["y"]) if "y" in names else None
        if "x" not in names:
            raise NnrunError(f"{path.name} has no array x; it holds {sorted(names)}")
        shape, batches = member_batches(path, "x", PREDICT_BATCH)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise npz_error(path, exc) from None
    if len(shape) < 2 or math.prod(shape[1:]) != len(run.input_columns):
        raise NnrunError(
            f"{path.name}: x is {list(shape)} but the model takes rows of {list(run.preprocessor.input_shape or [])}"
        )
    if y is not None and (y.ndim == 0 or len(y) != shape[0]):
        y = None
    elif y is not None and y.ndim == 2 and y.shape[1] == 1:
        y = np.ravel(y)

    def frames() -> Iterator[Any]:
        start = 0
        try:
            for x in batches:
                frame = pd.DataFrame(x.reshape(len(x), -1), columns=run.input_columns)
                if y is not None:
                    frame[run.target_column] = y[start : start + len(x)]
                start += len(x)
                yield frame
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise npz_error(path, exc) from None

    return frames()


def features(frame: Any, run: SavedRun, source: str = "the input") -> np.ndarray:
    """Input rows -> the scaled, encoded array the model takes: the run's own Preprocessor."""
    return run.preprocessor.transform(frame, source)


def targets(frame: Any, run: SavedRun, source: str = "the input") -> np.ndarray | None:
    """The target column as class indices (classification) or floats (regression), if present."""
    import pandas as pd

    column = run.target_column
    if column not in frame.columns:
        return None
    values = frame[column]
    if values.isna().any():
        raise NnrunError(f"{source}: the target column {column!r} has missing values")
    if run.task == "regression":
        if not pd.api.types.is_numeric_dtype(values):
            raise NnrunError(f"{source}: the target column {column!r} must be numeric for a regression model")
        return values.to_numpy(dtype="float64").reshape(-1, 1)
    names = [str(n) for n in run.target.class_names or []]
    index = {n: i for i, n in enumerate(names)}
    out = np.empty(len(values), dtype="int64")
    for i, raw in enumerate(values):
        text = str(raw)
        if text in index:
            out[i] = index[text]
        elif text.lstrip("-").isdigit() and 0 <= int(text) < len(names):
            out[i] = int(text)  # built-in datasets store classes as 0..k-1
        else:
            raise NnrunError(
                f"{source}: the target column {column!r} has the class {text!r}; the model knows {', '.join(names)}"
            )
    return out


def load_model(run_dir: Path) -> Any:
    """model.keras with nnrun's custom layers and schedules registered, TensorFlow's start-up
    log kept off the terminal; a file Keras cannot read is named with the reason."""
    import zipfile

    path = RunFolder(run_dir).model
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise NnrunError(f"cannot read {path}: {exc.strerror or exc}") from None
    if size == 0:
        raise NnrunError(f"{path} is empty; the run's model is unusable (retrain it: nnrun rerun {run_dir})")
    if not zipfile.is_zipfile(path):
        raise NnrunError(
            f"{path} is not a Keras model file (not a complete .keras archive: truncated or overwritten?); "
            f"the run's model is unusable (retrain it: nnrun rerun {run_dir})"
        )
    from nnrun.tf_import import import_tensorflow

    import_tensorflow()
    import keras

    import nnrun.build.custom  # noqa: F401 - registers Step, TransformerEncoder, schedules

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many kinds for a damaged archive
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise NnrunError(f"{path} cannot be loaded by Keras: {reason}") from None


def check_model_fits(model: Any, run: SavedRun) -> None:
    """model.keras and preprocessing.json must come from the same run: input shape and outputs agree."""
    path = RunFolder(run.dir).model
    try:
        takes = tuple(int(d) for d in model.inputs[0].shape[1:])
        gives = int(model.outputs[0].shape[-1])
    except (AttributeError, IndexError, TypeError):
        raise NnrunError(f"{path} is not a model nnrun can predict with (no single input and output)") from None
    makes = tuple(run.preprocessor.input_shape or ())
    if takes != makes:
        raise NnrunError(
            f"{path} takes inputs of shape {list(takes)} but the run's {PREPROCESSING_FILE} makes "
            f"{list(makes)}: the two files come from different runs"
        )
    classes = len(run.target.class_names or [])
    expected = {"binary": (1, 2), "multiclass": (classes,)}.get(run.task)
    if expected is not None and gives not in expected:
        raise NnrunError(
            f"{path} has {gives} outputs but the run's {PREPROCESSING_FILE} names {classes} classes: "
            "the two files come from different runs"
        )


def predict_frame(
    run: SavedRun, frame: Any, threshold: float | None = None, source: str = "the input", model: Any = None
) -> Prediction:
    """Predict every row of `frame` with the run's model (`model`: already loaded, e.g. by the Python API)."""
    return predict_frames(run, iter([frame]), threshold, source, model)


def predict_frames(
    run: SavedRun, frames: Iterator[Any], threshold: float | None = None, source: str = "the input", model: Any = None
) -> Prediction:
    """`predict_frame` for rows that arrive in frames (`input_frames`): the same rows and metrics
    as for their concatenation. The first frame is checked before the model is loaded."""
    import pandas as pd

    from nnrun.train.evaluate import class_rows, predicted_classes, probabilities, regression_rows, with_inputs

    if threshold is not None and not 0 < threshold < 1:
        raise NnrunError(f"the threshold must be between 0 and 1. Received: threshold={threshold}")
    shown = [run.text.column] if run.text is not None else run.input_columns
    known = {*run.input_columns, *shown, run.target_column, FILE_COLUMN}
    shape = run.preprocessor.input_shape
    tabular = run.text is not None or shape is None or len(shape) == 1
    outputs: list[np.ndarray] = []
    trues: list[np.ndarray | None] = []
    shown_parts: list[Any] = []
    file_parts: list[Any] = []
    ignored: list[str] = []
    for k, frame in enumerate(frames):
        x = features(frame, run, source)
        trues.append(targets(frame, run, source))
        if k == 0:
            ignored = [c for c in frame.columns if c not in known]
            model = model if model is not None else load_model(run.dir)
            check_model_fits(model, run)
        # batches of PREDICT_BATCH rows as `input_frames` cuts them: the same numbers however the rows arrive
        outputs.append(np.asarray(model.predict(x, batch_size=max(min(len(x), PREDICT_BATCH), 1), verbose=0)))
        if tabular:  # the inputs beside each prediction, as in the run's predictions.csv
            shown_parts.append(frame[shown])
        if FILE_COLUMN in frame.columns and FILE_COLUMN not in run.input_columns:
            file_parts.append(frame[[FILE_COLUMN]])
    if not outputs:
        raise NnrunError(f"{source} has no rows")
    output = np.concatenate(outputs)
    true = None if any(t is None for t in trues) else np.concatenate(trues)  # type: ignore[arg-type]
    inputs = pd.concat(shown_parts, ignore_index=True) if shown_parts else None
    if file_parts:
        files = pd.concat(file_parts, ignore_index=True)
        inputs = files if inputs is None else pd.concat([files, inputs], axis=1)

    if run.task == "regression":
        pred = output.astype("float64").reshape(len(output), -1)
        if true is not None and pred.shape[1] != 1:
            true = None  # one target column cannot score several outputs
        result = Prediction(with_inputs(regression_rows(pred, true), inputs), None, ignored_columns=ignored)
        if true is not None:
            result.metrics["mae"] = float(np.mean(np.abs(pred - true)))
            result.target_column = run.target_column
        return result

    used = run.threshold if threshold is None else threshold
    probs = probabilities(output)
    pred = predicted_classes(probs, run.task, used)
    names = [str(n) for n in run.target.class_names or range(probs.shape[1])]
    result = Prediction(
        with_inputs(class_rows(probs, pred, names, true), inputs),
        used if run.task == "binary" else None,
        ignored_columns=ignored,
    )
    if true is not None:
        result.metrics["accuracy"] = float(np.mean(pred == true))
        result.target_column = run.target_column
    return result


def predict_csv(run_dir: Path, input_path: Path, threshold: float | None = None) -> Prediction:
    """`nnrun predict RUN_DIR INPUT.csv` without the output: read, check, predict."""
    run = load_run(run_dir)
    return predict_frames(run, input_frames(input_path, run), threshold, source=Path(input_path).name)


def csv_text(rows: list[dict[str, Any]]) -> str:
    """Rows as CSV text, floats written exactly as in the run's predictions.csv."""
    import csv
    import io

    columns = list(rows[0]) if rows else []
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.items()})
    return buf.getvalue()


def check_output(output: Path, input_path: Path, run_dir: Path | None = None) -> Path:
    """Refuse, before any work, an output that cannot be written (`nnrun.output.check_output`:
    a folder, a missing or read-only folder) or that would overwrite the input (also through a
    symlink, a hard link or another spelling of the path) or a file of the run."""
    from nnrun.output import check_output as check_writable

    output = check_writable(Path(output), "--output")
    if not output.exists():
        return output
    if _same_file(output, input_path):
        raise NnrunError(f"--output: {output} is the input file; predictions would overwrite it. Choose another name")
    if run_dir is not None and Path(run_dir).is_dir():
        for inside in Path(run_dir).iterdir():
            if _same_file(output, inside):
                raise NnrunError(f"--output: {output} is {inside.name} of the run; choose another name")
    return output


def _same_file(a: Path, b: Path) -> bool:
    import os

    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def default_output(input_path: Path) -> Path:
    """`data/new.csv` -> `data/new.predictions.csv`."""
    input_path = Path(input_path)
    return input_path.with_name(f"{input_path.stem}.predictions.csv")
