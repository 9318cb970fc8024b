"""The run-folder format, written down once: every file name, every status, every record.

    from nnrun.runs.layout import RunFolder, SweepFolder, Status

    run = RunFolder(path)
    run.run_json, run.history, run.model ...       # paths; names live only here

A file of a run folder or a sweep folder is named by one class attribute below; writers and
readers take the path from `RunFolder` / `SweepFolder`, never from a string literal. Adding
a file (say `internals.csv`) is one line in the class and one line in ARCHITECTURE.md.

What the JSON files hold is `nnrun.runs.records` (pydantic models). This module imports
nothing heavy (shell completion uses it on every TAB press) and never TensorFlow.
"""

from __future__ import annotations

import json
import os
import stat
from enum import StrEnum
from pathlib import Path
from typing import Any


class Status(StrEnum):
    """Every status nnrun writes or shows (a `str`, so JSON holds the plain word).

    A run (run.json) is running, then completed / failed / interrupted / diverged. Readers
    derive `crashed` for a "running" run whose process is gone. A sweep point is `pending`
    before it starts and `skipped` when --fail-fast stopped the sweep first; a sweep
    ends completed, interrupted, failed or `stopped` (--fail-fast).
    """

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    DIVERGED = "diverged"
    CRASHED = "crashed"
    PENDING = "pending"
    SKIPPED = "skipped"
    STOPPED = "stopped"


#: Statuses a run.json may hold (`crashed` is derived, but a sweep writes it into attempts).
RUN_STATUSES = (
    Status.RUNNING,
    Status.COMPLETED,
    Status.FAILED,
    Status.INTERRUPTED,
    Status.DIVERGED,
    Status.CRASHED,
)
#: A run that ended with a model and a result worth keeping (a sweep does not rerun it).
FINISHED = (Status.COMPLETED, Status.DIVERGED)


# ---------------------------------------------------------------------------------- folders


class RunFolder:
    """The files of one run folder `<root>/<name>/<YYYYMMDD-HHMMSS>-<6 hex>/`."""

    RUN = "run.json"  # status and facts about the run (`RunJson`)
    CONFIG = "config.yaml"  # the resolved spec, defaults included; `nnrun train` takes it as is
    HISTORY = "history.csv"  # one row per epoch: epoch, loss, val_loss, metrics, learning_rate
    LR_STEPS = (
        "lr_steps.csv"  # with a schedule: the learning rate of every optimizer update (step, epoch, learning_rate)
    )
    METRICS = "metrics.json"  # final test metrics, best/final epoch figures (`MetricsJson`)
    PREPROCESSING = "preprocessing.json"  # what `nnrun predict` needs to transform new rows
    VOCABULARY = "vocabulary.json"  # a CSV text column's words (data.text), for `nnrun predict`
    MODEL = "model.keras"  # the trained model
    MODEL_TMP = ".model.tmp.keras"  # the model while Keras writes it (Keras wants the .keras suffix)
    SUMMARY = "summary.txt"  # the Keras model summary
    PREDICTIONS = "predictions.csv"  # test-split predictions
    LOSS_PLOT = "loss.png"  # loss curves; `<metric>.png` for each metric
    CONFUSION_PLOT = "confusion_matrix.png"
    #: Looking inside (training.inspect; nnrun.inspect): per-epoch internals and their pictures.
    INTERNALS = "internals.csv"  # one row per recorded epoch and layer (nnrun.inspect.internals)
    GRADIENTS_PLOT = "gradients.png"  # gradient norm per layer by epoch, update ratios
    ACTIVATIONS_PLOT = "activations.png"  # dead / saturated fractions per layer by epoch
    WEIGHTS_PLOT = "weights.png"  # weight histograms, after the first epoch vs the saved model
    BOUNDARY_PLOT = "boundary.png"  # decision regions, classification on two features
    BOUNDARY_EPOCHS_PLOT = "boundary_epochs.png"  # the regions at about six epochs
    PREDICTIONS_PLOT = "predictions.png"  # regression: predicted against actual (test split)
    TENSORBOARD = "tensorboard"  # a folder of event files (training.tensorboard: true)
    #: lr-find folders (`nnrun lr-find`) hold these instead of run.json.
    LR_FIND_CSV = "lr_find.csv"
    LR_FIND_JSON = "lr_find.json"
    LR_FIND_PLOT = "lr_find.png"
    #: Folder-name prefix of an lr-find folder.
    LR_FIND_PREFIX = "lr-find-"

    def __init__(self, path: str | Path) -> None:
        self.dir = Path(path)

    def __truediv__(self, name: str) -> Path:
        return self.dir / name

    run_json = property(lambda self: self.dir / self.RUN)
    config = property(lambda self: self.dir / self.CONFIG)
    history = property(lambda self: self.dir / self.HISTORY)
    lr_steps = property(lambda self: self.dir / self.LR_STEPS)
    metrics = property(lambda self: self.dir / self.METRICS)
    preprocessing = property(lambda self: self.dir / self.PREPROCESSING)
    vocabulary = property(lambda self: self.dir / self.VOCABULARY)
    model = property(lambda self: self.dir / self.MODEL)
    model_tmp = property(lambda self: self.dir / self.MODEL_TMP)
    summary = property(lambda self: self.dir / self.SUMMARY)
    predictions = property(lambda self: self.dir / self.PREDICTIONS)
    loss_plot = property(lambda self: self.dir / self.LOSS_PLOT)
    confusion_plot = property(lambda self: self.dir / self.CONFUSION_PLOT)
    internals = property(lambda self: self.dir / self.INTERNALS)
    tensorboard = property(lambda self: self.dir / self.TENSORBOARD)
    lr_find_csv = property(lambda self: self.dir / self.LR_FIND_CSV)
    lr_find_json = property(lambda self: self.dir / self.LR_FIND_JSON)
    lr_find_plot = property(lambda self: self.dir / self.LR_FIND_PLOT)

    def metric_plot(self, metric: str) -> Path:
        """`<metric>.png` (`loss.png` for the loss)."""
        return self.dir / f"{metric}.png"

    @classmethod
    def is_lr_find(cls, path: str | Path) -> bool:
        """An `nnrun lr-find` folder: it has lr_find.json and no run.json."""
        p = Path(path)
        return is_regular_file(p / cls.LR_FIND_JSON) and not (p / cls.RUN).exists()


class SweepFolder:
    """The files of a sweep folder `<root>/<name>/sweep-<YYYYMMDD-HHMMSS>-<6 hex>/`.

    Each point's run folder is a direct child named `p<index>-<YYYYMMDD-HHMMSS>-<6 hex>`.
    """

    SWEEP = "sweep.json"  # the grid, the command and every point's status (`SweepJson`)
    BASE = "base.yaml"  # the config without its sweep: section; every point starts from it
    SUMMARY_CSV = "summary.csv"
    SUMMARY_MD = "summary.md"
    CURVES = "curves.png"
    LR_VS_METRIC = "lr_vs_metric.png"  # learning-rate sweeps only
    VALUE_VS_METRIC = "value_vs_metric.png"  # sweeps of another number (units, dropout rate, ...)
    LOGS = ".logs"  # the local backend's worker-<n>.log files
    PREFIX = "sweep-"
    #: A point folder's name: `p`, the zero-padded index, the time stamp, 6 hex digits.
    POINT_PATTERN = r"p(?P<index>\d{3,})-\d{8}-\d{6}-[0-9a-f]{6}"

    def __init__(self, path: str | Path) -> None:
        self.dir = Path(path)

    def __truediv__(self, name: str) -> Path:
        return self.dir / name

    sweep_json = property(lambda self: self.dir / self.SWEEP)
    base = property(lambda self: self.dir / self.BASE)
    summary_csv = property(lambda self: self.dir / self.SUMMARY_CSV)
    summary_md = property(lambda self: self.dir / self.SUMMARY_MD)
    curves = property(lambda self: self.dir / self.CURVES)
    lr_vs_metric = property(lambda self: self.dir / self.LR_VS_METRIC)
    value_vs_metric = property(lambda self: self.dir / self.VALUE_VS_METRIC)
    logs = property(lambda self: self.dir / self.LOGS)

    @classmethod
    def point_name(cls, index: int, n_points: int, stamp: str, token: str) -> str:
        width = max(3, len(str(n_points - 1)))
        return f"p{index:0{width}d}-{stamp}-{token}"

    @classmethod
    def point_index(cls, name: object) -> int | None:
        """The index in a point folder's name; None if `name` is not one (a path, `..`, anything else)."""
        import re

        if not isinstance(name, str):
            return None
        match = re.fullmatch(cls.POINT_PATTERN, name)
        return int(match["index"]) if match else None


# ---------------------------------------------------------------------------- safe reading

#: Files larger than this are not a run's JSON/YAML (a hostile or broken folder).
MAX_FILE_BYTES = 5_000_000


def is_regular_file(path: Path) -> bool:
    """Whether `path` is a regular file (following symlinks); FIFOs and devices are not."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def read_regular(path: Path, limit: int | None = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file, never blocking on a FIFO or a device.

    Raises FileNotFoundError if it is missing, OSError (with a one-line strerror) if it is
    not a regular file or is larger than `limit`.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(0, "not a regular file", str(path))
        if limit is not None and st.st_size > limit:
            raise OSError(0, f"larger than {limit // 1_000_000} MB", str(path))
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            if limit is not None and sum(map(len, chunks)) > limit:
                raise OSError(0, f"larger than {limit // 1_000_000} MB", str(path))
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_json_object(path: Path) -> dict[str, Any] | None:
    """A JSON object from a regular file; None if the file is missing, unreadable or not one."""
    try:
        data = json.loads(read_regular(path))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
