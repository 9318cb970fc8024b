"""A gradient norm of exactly 0 (a dead layer: no gradient reaches it) is drawn on gradients.png,
not dropped by its log scale: each layer's zeros as a row of triangles under a floor line below
every positive value, with a label that says they are 0.

The fixture: a ReLU network whose first layer starts with all-zero weights, so both hidden
layers output 0 for every row and get no gradient at all (ReLU's slope at 0 is 0); only the
output layer's bias learns."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nnrun.inspect import internals
from nnrun.inspect import plots as inside
from nnrun.inspect.verdicts import VANISHING, Verdict
from nnrun.runs.layout import RunFolder

pytestmark = pytest.mark.slow

DEAD = """\
name: dead
seed: 2
data: {dataset: moons, n_samples: 100}
model:
  layers:
    - {type: dense, units: 8, activation: relu, kernel_initializer: zeros}
    - {type: dense, units: 8, activation: relu}
    - {type: dense, units: 1, activation: sigmoid}
optimizer: {name: sgd, learning_rate: 0.1}
loss: binary_crossentropy
metrics: [accuracy]
training: {epochs: 15, batch_size: full}
"""


@pytest.fixture(scope="module")
def dead(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from nnrun.experiment import execute, prepare_experiment

    root = tmp_path_factory.mktemp("dead")
    (root / "dead.yaml").write_text(DEAD)
    return execute(prepare_experiment(root / "dead.yaml", []), root / "runs", command=["test"]).run_dir


@dataclass
class Panel:
    """What one axes of the drawn figure held when it was saved (the figure is lent and emptied after)."""

    texts: list[str]
    ylim: tuple[float, float]
    triangles: list[tuple[list[float], list[float]]]


def _drawn(rows: list[dict[str, Any]], path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Panel]:
    panels: list[Panel] = []
    save = inside._save

    def spy(fig: Any, p: Path) -> Path:
        out = save(fig, p)
        for ax in fig.axes:
            lines = [line for line in ax.get_lines() if line.get_marker() == "v"]
            shapes = [(list(map(float, line.get_xdata())), list(map(float, line.get_ydata()))) for line in lines]
            panels.append(Panel([t.get_text() for t in ax.texts], ax.get_ylim(), shapes))
        return out

    monkeypatch.setattr(inside, "_save", spy)
    inside.gradients(rows, path, "dead")
    return panels


def _layers(rows: list[dict[str, Any]]) -> list[str]:
    """The dense layers' names, input to output (Keras numbers them per session: `dense`,
    `dense_1`, ... in a fresh one, later numbers after other tests in the same process)."""
    return list(dict.fromkeys(r["layer"] for r in rows if r.get("grad_norm") is not None))


def test_zero_gradients_are_drawn_at_a_labelled_floor(dead: Path, tmp_path: Path, monkeypatch) -> None:
    rows = internals.read(RunFolder(dead).internals)
    first, second, _ = _layers(rows)
    zero_layers = sorted({r["layer"] for r in rows if r["grad_norm"] == 0.0})
    assert zero_layers == sorted([first, second])  # the fixture is what it says
    grad_ax, update_ax = _drawn(rows, tmp_path / "gradients.png", monkeypatch)[:2]
    assert (tmp_path / "gradients.png").stat().st_size > 1000
    assert f"\u25bc = 0 (no gradient): {first}, {second}" in grad_ax.texts, grad_ax.texts
    assert f"\u25bc = 0 (no update): {first}, {second}" in update_ax.texts, update_ax.texts
    positive = min(r["grad_norm"] for r in rows if r["grad_norm"] > 0)
    low, high = grad_ax.ylim
    assert len(grad_ax.triangles) == 2  # one row per dead layer
    epochs = sorted({float(r["epoch"]) for r in rows})
    for xs, ys in grad_ax.triangles:
        assert xs == epochs  # every epoch, since none had a gradient
        (y,) = set(ys)
        assert low < y < positive < high  # inside the axes, below every real value


def test_without_zeros_nothing_is_added(dead: Path, tmp_path: Path, monkeypatch) -> None:
    every = internals.read(RunFolder(dead).internals)
    rows = [r for r in every if r["layer"] == _layers(every)[2]]
    assert all(r["grad_norm"] > 0 for r in rows)
    panels = _drawn(rows, tmp_path / "g.png", monkeypatch)
    assert not any("= 0" in t for panel in panels for t in panel.texts)
    assert not any(panel.triangles for panel in panels)
    assert np.isfinite(panels[0].ylim).all()


def test_the_verdict_says_the_first_layer_gets_no_gradient(dead: Path) -> None:
    record = json.loads(RunFolder(dead).run_json.read_text())
    found = [Verdict.from_dict(v) for v in record["internals_verdicts"]]
    (vanishing,) = [v for v in found if v is not None and v.verdict == VANISHING]
    first = _layers(internals.read(RunFolder(dead).internals))[0]
    assert f"({first}) is 0: it gets no gradient at all" in vanishing.hint
    assert "10^-" not in vanishing.hint
    # a ReLU net whose first layer starts at zeros: not told to use ReLU, told what it lacks
    assert "the hidden layers already use relu: try leaky_relu" in vanishing.hint, vanishing.hint
    assert "random starting weights (kernel_initializer: he_normal, not zeros)" in vanishing.hint
    assert "use relu (or" not in vanishing.hint


def test_a_run_judged_again_from_its_folder_gets_the_same_hint(dead: Path) -> None:
    """Runs whose run.json has no verdicts are judged from internals.csv and config.yaml."""
    from dataclasses import replace

    from nnrun.inspect.verdicts import of_run
    from nnrun.runs.reader import read_run

    run = read_run(dead)
    stored = of_run(run)
    run = replace(run, run_json=run.run_json.model_copy(update={"internals_verdicts": None}))
    assert of_run(run) == stored
