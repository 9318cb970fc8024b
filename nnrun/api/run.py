"""`Run`: one run folder, as a Python object (what `nnrun.train` and `nnrun.load` return).

Everything comes from the folder (through `nnrun.runs.reader`), so a `Run` made from Python
and one loaded from a folder the CLI made are the same thing. The Keras model is loaded on
first use only: reading a run never imports TensorFlow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nnrun.api.folder import FolderObject
from nnrun.errors import NnrunError
from nnrun.runs.layout import RunFolder
from nnrun.runs.reader import RunInfo, read_run

#: Test metrics shown first in a run's one-line summary and its HTML, when present.
HEADLINE = ("accuracy", "r2", "mae", "loss")


class Run(FolderObject):
    """A run folder: its status, config, history, metrics, diagnosis, model and predictions.

    Attributes:
        dir: the run folder.
    """

    def __init__(self, run_dir: str | Path) -> None:
        super().__init__(run_dir)
        self._info: RunInfo | None = None
        self._model: Any = None
        self.info  # noqa: B018 - a folder that is not a run fails here, with the reason

    @property
    def info(self) -> RunInfo:
        """The folder as read (cached; `status` always reads run.json again)."""
        if self._info is None:
            self._info = read_run(self.dir)
        return self._info

    def refresh(self) -> Run:
        """Read the folder again (a run that was still training when loaded)."""
        self._info = None
        return self

    @property
    def status(self) -> str:
        """completed, diverged, interrupted, failed, running, or crashed (a dead "running" run)."""
        if self._info is not None and self._info.status in ("running", "crashed"):
            self._info = None
        return str(self.info.status)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def config(self) -> dict[str, Any]:
        """The run's config.yaml (the resolved spec, defaults included) as a dict."""
        return self.info.config

    @property
    def record(self) -> dict[str, Any]:
        """run.json as a dict: status, seed, timings, epochs, split, command, versions..."""
        return self.info.record

    @property
    def metrics(self) -> dict[str, Any]:
        """metrics.json: `test` metrics, and the `final`, `kept`, `best_val_loss` epochs."""
        return self.info.metrics

    @property
    def test(self) -> dict[str, Any]:
        """The test-split metrics ({} for a run that did not finish)."""
        return self.info.test

    @property
    def train_seconds(self) -> float | None:
        return self.info.train_seconds

    @property
    def diagnosis(self) -> dict[str, Any] | None:
        """The fit diagnosis: `verdict`, `label`, the `epoch` it refers to and a `hint` on what to try."""
        return self.info.diagnosis

    @property
    def history(self) -> Any:
        """history.csv as a pandas DataFrame, one row per epoch."""
        import pandas as pd

        return pd.DataFrame(self.info.history())

    def plot(self, metric: str = "loss") -> Any:
        """A matplotlib Figure: `metric` by epoch, training and validation, the kept epoch marked."""
        from nnrun.api.figures import run_curves

        return run_curves(self, metric)

    @property
    def model(self) -> Any:
        """The trained Keras model (model.keras), loaded on first use."""
        if self._model is None:
            from nnrun.predict import load_model

            self._model = load_model(self.dir)
        return self._model

    def predict(self, data: Any, threshold: float | None = None) -> Any:
        """Predict new rows: a pandas DataFrame (the training columns by name) or a CSV path.

        The run's own preprocessing (scaler, encoders) is applied, as `nnrun predict` does;
        returns a DataFrame with the columns of the run's predictions.csv.
        """
        import pandas as pd

        from nnrun.predict import input_frames, load_run, predict_frames

        saved = load_run(self.dir)
        if isinstance(data, str | Path):
            frames, source = input_frames(Path(data), saved), Path(data).name  # an .npz batch by batch
        elif isinstance(data, pd.DataFrame):
            frames, source = iter([data]), "the DataFrame"
        else:
            raise NnrunError(f"predict: expected a pandas DataFrame or a CSV path. Received: {type(data).__name__}")
        result = predict_frames(saved, frames, threshold, source=source, model=self.model)
        return pd.DataFrame(result.rows)

    @property
    def files(self) -> RunFolder:
        """The paths of the folder's files (`run.files.model`, `run.files.history`...)."""
        return RunFolder(self.dir)

    def headline(self) -> str:
        """`completed, test accuracy 1.0000, 500 epochs in 0.61 s, good fit`."""
        parts = [self.status]
        for key in HEADLINE:
            value = self.test.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                parts.append(f"test {key} {value:.4f}")
                break
        seconds = self.train_seconds
        parts.append(f"{self.record.get('epochs_run') or 0} epochs in {seconds or 0:.2f} s")
        verdict = (self.diagnosis or {}).get("verdict")
        if verdict:
            parts.append(str(verdict))
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"Run({str(self.dir)!r}: {self.headline()})"

    def _repr_html_(self) -> str:
        from nnrun.api.html import run_html

        return run_html(self)
