"""A loss that explodes while staying finite is called what a teacher would call it, and the
pictures say so; ordinary (noisy) training is not.

One linear neuron on y = 2x with full-batch SGD: the mean squared error has curvature about 2,
so a learning rate of 1.2 overshoots the minimum by 1.4x more every step and the loss roughly
doubles every epoch (finite for all 20: about 10^5x its lowest), while 0.1 converges. Small
batches (noisy updates) and the XOR example must get no such mark."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from nnrun.diagnose import DIVERGED, explosion
from nnrun.inspect.verdicts import EXPLODING, Verdict
from nnrun.runs.layout import RunFolder
from nnrun.runs.reader import read_history
from tests.conftest import CONFIGS

pytestmark = pytest.mark.slow

LINE = {
    "seed": 4,
    "data": {"dataset": "linear", "n_samples": 60, "noise": 0.1},
    "model": {"layers": [{"type": "dense", "units": 1}]},
    "optimizer": {"name": "sgd", "learning_rate": 1.2},
    "loss": "mse",
    "training": {"epochs": 20, "batch_size": "full"},
}
#: name: overrides. `exploding` is the only one that should be marked.
RUNS: dict[str, list[str]] = {
    "exploding": [],
    "normal": ["optimizer.learning_rate=0.1"],
    "noisy": ["optimizer.learning_rate=0.05", "training.batch_size=4", "training.epochs=30"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from nnrun.experiment import execute, prepare_experiment

    root = tmp_path_factory.mktemp("exploding")
    config = root / "line.yaml"
    config.write_text(yaml.safe_dump({**LINE, "name": "line"}))
    out = {
        name: execute(prepare_experiment(config, overrides), root / "runs", command=["test"]).run_dir
        for name, overrides in RUNS.items()
    }
    out["xor"] = execute(prepare_experiment(CONFIGS / "xor.yaml", []), root / "runs", command=["test"]).run_dir
    return out


def _record(run_dir: Path) -> dict[str, Any]:
    return json.loads(RunFolder(run_dir).run_json.read_text())


def _texts(fig: Any) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def _loss_texts(run_dir: Path) -> list[str]:
    from nnrun import plots

    history = read_history(RunFolder(run_dir).history)
    fig, ax = plots.new_figure(figsize=(6, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plots.draw_curve(ax, history, "loss", "line", _record(run_dir)["kept_epoch"])
        fig.canvas.draw()
    return _texts(fig)


def _gradient_texts(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What gradients.png says, drawn again as the run drew it."""
    from nnrun.inspect import internals
    from nnrun.inspect import plots as inside

    record = _record(run_dir)
    found = explosion(read_history(RunFolder(run_dir).history))
    notes = [v.label for v in map(Verdict.from_dict, record["internals_verdicts"]) if v is not None]
    texts: list[str] = []
    save = inside._save
    monkeypatch.setattr(inside, "_save", lambda fig, path: (texts.extend(_texts(fig)), save(fig, path))[1])
    rows = internals.read(RunFolder(run_dir).internals)
    inside.gradients(rows, run_dir / "again.png", "line", notes, None, found.epoch if found else None)
    return texts


def test_the_exploding_run_is_diagnosed_diverged_where_the_loss_passed_10x_its_lowest(runs) -> None:
    record = _record(runs["exploding"])
    history = read_history(RunFolder(runs["exploding"]).history)
    losses = [row["loss"] for row in history]
    assert record["status"] == "completed"  # finite all along: training ran to the end
    assert losses[-1] > 1e4 * min(losses)  # orders of magnitude
    first = next(i for i, v in enumerate(losses, start=1) if v > 10 * min(losses[:i]))
    diagnosis = record["diagnosis"]
    assert (diagnosis["verdict"], diagnosis["epoch"]) == (DIVERGED, first)
    assert f"the loss exploded at epoch {first} (it stayed finite" in diagnosis["hint"]
    assert "learning_rate" in diagnosis["hint"]
    found = explosion(history)
    assert found is not None and found.epoch == first and found.factor > 1e4
    (verdict,) = [Verdict.from_dict(v) for v in record["internals_verdicts"]]
    assert verdict is not None and verdict.verdict == EXPLODING and "as the loss exploded" in verdict.hint


def test_loss_png_and_gradients_png_mark_the_explosion(runs, monkeypatch: pytest.MonkeyPatch) -> None:
    epoch = _record(runs["exploding"])["diagnosis"]["epoch"]
    texts = _loss_texts(runs["exploding"])
    assert any(t.startswith(f"loss exploded from epoch {epoch}\n(finite, up to about 10") for t in texts), texts
    grads = _gradient_texts(runs["exploding"], monkeypatch)
    assert f"loss exploded from epoch {epoch}" in grads, grads
    assert any(t.startswith("exploding gradients from epoch") for t in grads), grads  # the verdict's note
    for name in ("loss.png", "gradients.png"):
        assert (runs["exploding"] / name).stat().st_size > 1000


@pytest.mark.parametrize("name", ["normal", "noisy", "xor"])
def test_ordinary_training_gets_no_mark(runs, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = runs[name]
    record = _record(run_dir)
    history = read_history(RunFolder(run_dir).history)
    assert explosion(history) is None
    assert record["diagnosis"]["verdict"] != DIVERGED, record["diagnosis"]
    assert record.get("internals_verdicts") == [], record.get("internals_verdicts")
    assert not any("exploded" in t for t in _loss_texts(run_dir))
    if name != "xor":  # a noisy run really is noisy: its loss rose somewhere along the way
        assert not any("exploded" in t for t in _gradient_texts(run_dir, monkeypatch))
    if name == "noisy":
        losses = [row["loss"] for row in history]
        assert any(b > a for a, b in zip(losses, losses[1:], strict=False)), losses


def test_a_noisy_tail_or_one_last_spike_is_not_an_explosion() -> None:
    """The rule reads the median of the last three epochs: one wild epoch never decides it, and a
    loss near zero that jitters by 10x is still below where it started."""
    falling = [1.0 / (1 + e) for e in range(30)]
    assert explosion([{"epoch": e + 1, "loss": v} for e, v in enumerate([*falling, 50.0])]) is None
    tiny = [*falling[:10], *(1e-6 * (1 + 9 * (e % 2)) for e in range(20))]
    assert explosion([{"epoch": e + 1, "loss": v} for e, v in enumerate(tiny)]) is None


def test_a_sweep_never_recommends_the_exploded_run(tmp_path: Path) -> None:
    """A sweep whose only point exploded (finite; early stopping kept epoch 1, before it did)
    has no best point: completed is not enough, a run that blew up is not the one to pick."""
    import nnrun
    from nnrun.sweep import summary
    from nnrun.sweep.record import SweepRecord

    config = tmp_path / "line.yaml"
    keep = {"monitor": "val_loss", "patience": 30, "restore_best_weights": True}
    config.write_text(
        yaml.safe_dump({**LINE, "name": "line", "training": {**LINE["training"], "early_stopping": keep}})
    )
    sweep_dir = nnrun.sweep(config, workers=0, out=tmp_path / "runs", lr=[1.2]).dir  # type: ignore[arg-type]
    (group,), _, _, best = summary.build(SweepRecord.load(sweep_dir))
    (run,) = group.runs
    assert run.status == "completed" and group.all_completed and run.kept_epoch == 1
    assert run.blew_up and run.diagnosis is not None and run.diagnosis["verdict"] == DIVERGED
    assert best is None
    text = (sweep_dir / "summary.md").read_text()
    assert "No best point: no grid point has all its runs completed without diverging." in text
    assert "Points whose runs diverged are never chosen" in text
