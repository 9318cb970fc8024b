"""A diverged run's own pictures tell the truth: the curve up to its last finite values, the
epoch where the loss became NaN/inf marked, no kept-weights mark on weights that diverged, a
note instead of empty axes when nothing is finite, and no RuntimeWarning on the terminal."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from nnrun import plots
from nnrun.runs.layout import RunFolder
from tests.conftest import CONFIGS, run_cli

pytestmark = pytest.mark.slow

#: y = 2x with one linear neuron and plain SGD at a rate far too high for it.
LINEAR = {
    "seed": 42,
    "data": {"dataset": "linear", "n_samples": 60, "noise": 0.1},
    "model": {"layers": [{"type": "dense", "units": 1, "activation": "linear"}]},
    "optimizer": {"name": "sgd"},
    "loss": "mse",
    "training": {"epochs": 40},
}
#: name: (learning rate, batch size): NaN within the first epoch, inf after a dozen epochs, and
#: the same with early stopping, which restores the weights of epoch 1 (patience outlasts the blow-up).
RUNS = {"at-once": (100.0, 1), "later": (20.0, "full"), "restored": (20.0, "full")}
RESTORE = {"monitor": "val_loss", "patience": 30, "restore_best_weights": True}
#: A ReLU hidden layer (activations.png) whose loss is NaN at epoch 2.
IRIS = CONFIGS / "iris_softmax.yaml"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], str]:
    """Both runs trained by one `nnrun train` process: {name: run folder}, and what it printed."""
    root = tmp_path_factory.mktemp("diverged")
    paths = []
    for name, (lr, bs) in RUNS.items():
        spec = {**LINEAR, "name": name, "optimizer": {"name": "sgd", "learning_rate": lr}}
        spec["training"] = {**LINEAR["training"], "batch_size": bs}
        if name == "restored":
            spec["training"]["early_stopping"] = RESTORE
        path = root / f"{name}.yaml"
        path.write_text(yaml.safe_dump(spec))
        paths.append(str(path))
    iris = yaml.safe_load(IRIS.read_text())
    iris.update(name="iris", optimizer={"name": "sgd", "learning_rate": 100.0})
    (root / "iris.yaml").write_text(yaml.safe_dump(iris))
    paths.append(str(root / "iris.yaml"))
    proc = run_cli("train", *paths, "--out", str(root / "runs"), "-q")
    folders = {name: next((root / "runs" / name).iterdir()) for name in [*RUNS, "iris"]}
    return folders, proc.stdout + proc.stderr


def _history(run_dir: Path) -> list[dict[str, float]]:
    with open(RunFolder(run_dir).history, newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _texts(fig) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def _drawn(run_dir: Path, key: str = "loss") -> list[str]:
    """The texts of `key`'s curve drawn from the run folder, any warning while drawing an error."""
    record = json.loads(RunFolder(run_dir).run_json.read_text())
    fig, ax = plots.new_figure(figsize=(6, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plots.draw_curve(ax, _history(run_dir), key, run_dir.parent.name, record["kept_epoch"])
        plots.arrange(fig)
        fig.canvas.draw()
    return _texts(fig)


def test_the_runs_diverge_where_the_tests_say(runs) -> None:
    folders, _ = runs
    for name, epoch in (("at-once", 1), ("later", None), ("iris", 2)):
        record = json.loads(RunFolder(folders[name]).run_json.read_text())
        assert record["status"] == "diverged"
        assert record["kept_epoch"] == record["stopped_epoch"]  # the weights of the epoch that diverged
        if epoch is not None:
            assert record["stopped_epoch"] == epoch
        else:
            assert record["stopped_epoch"] > 3


def test_training_a_diverging_run_prints_no_runtime_warning(runs) -> None:
    _, printed = runs
    assert "RuntimeWarning" not in printed, printed
    assert "overflow" not in printed and "invalid value" not in printed, printed


def test_nothing_finite_says_so_and_claims_no_kept_weights(runs) -> None:
    folders, _ = runs
    assert (folders["at-once"] / "loss.png").is_file()
    texts = _drawn(folders["at-once"])
    assert "diverged in epoch 1: nothing finite to draw" in texts
    assert not any("kept weights" in t for t in texts), texts


def test_a_later_divergence_is_marked_and_its_epoch_not_called_kept(runs) -> None:
    folders, _ = runs
    record = json.loads(RunFolder(folders["later"]).run_json.read_text())
    epoch = record["stopped_epoch"]
    texts = _drawn(folders["later"])
    assert any(t.startswith(f"diverged at epoch {epoch}: ") for t in texts), texts
    assert any(f"the saved model holds epoch {epoch}'s weights" in t for t in texts), texts
    assert not any("kept weights" in t for t in texts), texts
    assert "train loss" in texts  # the finite part is drawn
    mae = _drawn(folders["later"], "mae")
    assert any(t.startswith(f"diverged at epoch {epoch}: ") for t in mae), mae


def test_the_kept_epoch_before_a_divergence_is_still_marked(runs) -> None:
    """Early stopping restored the weights of a finite epoch: that mark stays, beside the divergence."""
    folders, _ = runs
    record = json.loads(RunFolder(folders["restored"]).run_json.read_text())
    assert record["status"] == "diverged" and record["kept_epoch"] == 1 < record["stopped_epoch"]
    texts = _drawn(folders["restored"])
    assert "kept weights (epoch 1)" in texts
    assert any(t.startswith(f"diverged at epoch {record['stopped_epoch']}: ") for t in texts), texts
    assert not any("saved model holds" in t for t in texts), texts


def test_weights_of_a_diverged_run_say_so_without_warnings(runs, tmp_path: Path, monkeypatch) -> None:
    """weights.png: a layer with no finite weight says why in its axes, the spread is computed
    over finite weights only (float32 weights near 1e38 square to inf), the title names the epoch."""
    import numpy as np

    from nnrun.inspect import plots as inside

    folders, _ = runs
    assert (folders["at-once"] / RunFolder.WEIGHTS_PLOT).is_file()
    first = np.linspace(-1, 1, 16, dtype="float32")
    huge = (first * 3e37).astype("float32")
    huge[:3] = np.inf
    kernels = {"dense": (first, np.full(16, np.nan, dtype="float32")), "dense_1": (first, huge)}
    texts: list[str] = []
    save = inside._save
    monkeypatch.setattr(inside, "_save", lambda fig, path: (texts.extend(_texts(fig)), save(fig, path))[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inside.weights(kernels, 1, 2, tmp_path / "weights.png", "blown", diverged=2)
        inside.weights({"dense": (kernels["dense"][1],) * 2}, 1, 1, tmp_path / "nothing.png", "blown", diverged=1)
    assert (tmp_path / "weights.png").is_file() and (tmp_path / "nothing.png").is_file()
    assert "epoch 2 (16 not finite)" in texts, texts
    assert "dense: diverged in epoch 1: no finite weights to draw" in texts, texts
    assert any("NaN/inf at epoch\u00a01" in t for t in texts), texts


def test_gradients_and_activations_mark_the_divergence(runs, monkeypatch) -> None:
    """gradients.png and activations.png say where the loss became NaN/inf, and an epoch whose
    activations are NaN is not counted as 0 % dead units."""
    from nnrun.inspect import internals
    from nnrun.inspect import plots as inside

    folders, _ = runs
    texts: list[str] = []
    lines: list[Any] = []
    save = inside._save

    def spy(fig, path):
        texts.extend(_texts(fig))
        lines.extend(line for ax in fig.axes for line in ax.get_lines())
        return save(fig, path)

    monkeypatch.setattr(inside, "_save", spy)
    for name in ("later", "iris"):
        run_dir = folders[name]
        epoch = json.loads(RunFolder(run_dir).run_json.read_text())["stopped_epoch"]
        assert (run_dir / RunFolder.GRADIENTS_PLOT).is_file()
        rows = internals.read(RunFolder(run_dir).internals)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            inside.gradients(rows, run_dir / "again.png", name, (), epoch)
            inside.activations(rows, run_dir / "again.png", name, (), epoch)
        assert f"loss NaN/inf at epoch {epoch}" in texts, texts
        texts.clear()
    # iris: the hidden layer's activations are NaN at epoch 2; only epoch 1 is drawn
    dead = [line for line in lines if line.get_label() == "dense (input side)"]
    assert dead and all(2.0 not in list(line.get_xdata()) for line in dead[-1:])
