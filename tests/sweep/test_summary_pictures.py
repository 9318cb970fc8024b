"""The sweep's pictures agree with its text: a real sweep of a line fit over four learning
rates, the largest of which diverges (NaN/inf) and the next explodes while staying finite
(test R^2 about -2e5). curves.png and lr_vs_metric.png mark the point the summary calls best,
show the diverged one as diverged and the exploded one as exploded, on axes the others can be
read on; so does `nnrun compare --plot` over the same runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

LINE = """
name: line
data: {dataset: linear, n_samples: 60}
model: {layers: [{type: dense, units: 1}]}
optimizer: {name: sgd, learning_rate: 0.1}
loss: mse
training: {epochs: 10, batch_size: full}
"""


def _inline(config: Path, out: Path, **grid: object) -> Path:
    """The sweep trained point after point in this process (`nnrun.sweep(workers=0)`, what
    `nnrun sweep --backend inline` does), so TensorFlow is imported once for the module: its folder."""
    import nnrun

    return nnrun.sweep(config, workers=0, out=out, **grid).dir  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pictures")
    config = root / "line.yaml"
    config.write_text(LINE)
    return _inline(config, root / "runs", lr=[0.01, 0.1, 1.6, 100])


def _summary(sweep_dir: Path):  # noqa: ANN202
    from nnrun.sweep import summary
    from nnrun.sweep.record import SweepRecord

    record = SweepRecord.load(sweep_dir)
    groups, varied, rows, best = summary.build(record)
    return groups, varied, rows, best


def test_the_curves_name_the_best_point_and_mark_the_diverged_one(sweep: Path) -> None:
    from nnrun.sweep.summary import curves_figure

    groups, _, _, best = _summary(sweep)
    statuses = [p["status"] for p in json.loads((sweep / "sweep.json").read_text())["points"]]
    assert statuses == ["completed", "completed", "completed", "diverged"]
    assert [g.runs[0].blew_up for g in groups] == [False, False, True, True]  # 1.6 exploded, finite
    fig = curves_figure(groups, "line", best["metric"], best["mode"], best["point"])
    (ax,) = fig.axes
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[0] == f"best: learning_rate={best['values']['optimizer.learning_rate']:g}"
    assert "learning_rate=100 (diverged)" in texts
    assert ax.get_ylabel() == "val_loss"  # not the training loss of the diverged run
    # the exploded line is drawn whole and named, on a log axis where the others stay readable
    assert "learning_rate=1.6 (exploded)" in texts and "exploded: the loss grew, still finite" in texts
    exploded = next(line for line in ax.get_lines() if line.get_label() == "learning_rate=1.6 (exploded)")
    assert ax.get_yscale() == "log" and max(exploded.get_ydata()) > 1e4
    assert ax.get_ylim()[1] < 1e7  # its finite values set the scale, the diverged 10^35 does not
    assert (sweep / "curves.png").stat().st_size > 10_000


def test_lr_vs_metric_rings_the_best_point_and_crosses_the_diverged_one(sweep: Path) -> None:
    from nnrun.sweep.summary import lr_vs_metric_figure

    groups, varied, rows, best = _summary(sweep)
    fig = lr_vs_metric_figure(groups, rows, varied, "line", best)
    for ax in fig.axes:
        lines = {line.get_label(): line for line in ax.get_lines()}
        ring = lines[f"best: learning_rate={best['values']['optimizer.learning_rate']:g}"]
        assert list(ring.get_xdata()) == [best["values"]["optimizer.learning_rate"]]
        assert list(lines["diverged (no value)"].get_xdata()) == [100.0]
        assert ax.get_xscale() == "log"


def test_lr_vs_metric_keeps_the_r2_axis_to_the_sensible_points_and_writes_the_blown_up_one(sweep: Path) -> None:
    from nnrun.sweep.summary import lr_vs_metric_figure

    groups, varied, rows, best = _summary(sweep)
    r2 = {row["optimizer.learning_rate"]: row["test_r2"] for row in rows}
    assert r2[1.6] < -1000 < 0.9 < r2[0.01] and r2[100] is None  # the fixture is what it says
    loss_ax, r2_ax = lr_vs_metric_figure(groups, rows, varied, "line", best).axes
    low, high = r2_ax.get_ylim()
    assert 0.9 < low < min(r2[0.01], r2[0.1]) and max(r2[0.01], r2[0.1]) < high < 1.01  # not flattened
    (mark,) = [line for line in r2_ax.get_lines() if line.get_label().startswith("off the scale")]
    assert list(mark.get_xdata()) == [1.6] and mark.get_marker() == "v" and low <= mark.get_ydata()[0] < high
    assert [t.get_text() for t in r2_ax.texts] == [f"{r2[1.6]:.3g}"]
    assert loss_ax.get_yscale() == "log" and not loss_ax.texts  # the loss panel spans the decades on a log axis


def _compare_figure(runs, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN001, ANN202
    """`nnrun compare --plot`'s figure for `runs`, as drawn."""
    from nnrun import plots
    from nnrun.compare.plot import curves_png

    drawn = []
    real = plots.png_bytes
    monkeypatch.setattr(plots, "png_bytes", lambda fig: drawn.append(fig) or real(fig))
    assert curves_png(runs).startswith(b"\x89PNG")
    return drawn[0]


def test_compare_names_the_exploded_run_alone_and_among_others(sweep: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nnrun.compare import collect

    runs, _ = collect([sweep])
    (blown,) = [r for r in runs if r.flat_config["optimizer.learning_rate"] == 1.6]
    for shown in ([blown], runs):
        (ax,) = _compare_figure(shown, monkeypatch).axes
        texts = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any(t.endswith("(exploded)") for t in texts), texts
        assert "exploded: the loss grew, still finite" in texts
        assert ax.get_yscale() == "log" and ax.get_ylim()[1] < 1e7


def test_the_api_figure_names_the_same_best_point_whatever_metric_it_draws(sweep: Path) -> None:
    from nnrun.api.sweeps import Sweep

    best = json.loads((sweep / "sweep.json").read_text())["best"]
    for metric in (None, "val_mae"):
        (ax,) = Sweep(sweep).plot(metric).axes
        first = ax.get_legend().get_texts()[0].get_text()
        assert first == f"best: learning_rate={best['values']['optimizer.learning_rate']:g}", metric


def test_the_report_states_the_best_point_and_shows_the_pictures_wide(sweep: Path) -> None:
    import re

    from nnrun.compare import collect
    from nnrun.compare.report import build_report

    runs, _ = collect([sweep])
    page = build_report(runs)
    best = json.loads((sweep / "sweep.json").read_text())["best"]
    assert (
        '<pre class="grid">optimizer.learning_rate: 0.01, 0.1, 1.6, 100 (4 values)</pre>' in page
    )  # one line, not a JSON column
    assert f"<b>best point {best['point']}</b> (optimizer.learning_rate=0.1): mean val_loss" in page
    figures = re.search(r'<div class="figs wide">(.*?)</div>', page.split("<h2>Sweeps</h2>")[1], re.S)
    assert figures and {"curves.png", "lr_vs_metric.png"} <= set(re.findall(r'alt="sweep [^:]*: ([^"]+)"', figures[1]))


DIABETES = """
name: dia
data: {dataset: diabetes}
model: {layers: [{type: dense, units: 1}]}
optimizer: {name: sgd, learning_rate: 0.001}
loss: mse
training: {epochs: 2, batch_size: 16}
"""


def test_points_that_diverge_before_any_finite_value_are_named_on_the_curves(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from nnrun.sweep.summary import curves_figure

    root = tmp_path_factory.mktemp("early")
    (root / "dia.yaml").write_text(DIABETES)
    sweep_dir = _inline(root / "dia.yaml", root, lr=[0.001, 10, 100])
    groups, _, _, best = _summary(sweep_dir)
    assert [g.statuses for g in groups] == [["completed"], ["diverged"], ["diverged"]]
    (ax,) = curves_figure(groups, "dia", best["metric"], best["mode"], best["point"]).axes
    assert ax.get_ylabel() == "val_loss"  # no switch to a training loss that is NaN too
    assert ax.get_title() == "dia: val_loss per epoch"  # one line drawn, but three points
    assert any(
        t.get_text() == "diverged before a finite val_loss, not drawn: learning_rate = 10, 100" for t in ax.texts
    )


UNITS = """
name: wide
data: {dataset: linear, n_samples: 60}
model: {layers: [{type: dense, units: 2, activation: tanh}, {type: dense, units: 1}]}
optimizer: {name: adam, learning_rate: 0.05}
loss: mse
training: {epochs: 5, batch_size: full}
"""


def test_a_sweep_of_another_number_gets_its_metric_against_that_number(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from nnrun.sweep.summary import lr_vs_metric_figure

    root = tmp_path_factory.mktemp("units")
    (root / "wide.yaml").write_text(UNITS)
    sweep_dir = _inline(root / "wide.yaml", root, grid={"model.layers.0.units": [1, 4, 16]})
    assert (sweep_dir / "value_vs_metric.png").stat().st_size > 10_000 and not (sweep_dir / "lr_vs_metric.png").exists()
    groups, varied, rows, best = _summary(sweep_dir)
    fig = lr_vs_metric_figure(groups, rows, varied, "wide", best, "model.layers.0.units")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "units" and ax.get_xscale() == "log"  # 1 to 16: sixteen times
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "4", "16"]
    units = best["values"]["model.layers.0.units"]
    assert list(next(line for line in ax.get_lines() if line.get_label() == f"best: units={units}").get_xdata()) == [
        units
    ]


def test_no_lr_picture_when_no_point_has_a_value(sweep: Path) -> None:
    from nnrun.sweep.summary import lr_vs_metric_figure

    groups, varied, rows, _ = _summary(sweep)
    # only the diverged point: a picture of empty axes with a -0.04..0.04 scale would say nothing
    assert lr_vs_metric_figure(groups[3:], rows[3:], varied, "line", None) is None


@pytest.mark.parametrize(
    ("values", "far"),
    [
        ([0.97, 0.99, -2.1e5], {2}),  # a blown-up R^2
        ([1.0, 1.0, 1.0, 0.5], set()),  # a poor accuracy is a result, not an outlier
        ([0.4, 0.45, 0.3, -0.5], set()),  # an R^2 below 0 still fits on the axis
        ([0.4, 0.45, -30.0, -2e5, 0.5, 0.42, 0.41, 0.44], {2, 3}),  # one in four at most
        ([0.1, -2e5], set()),  # two points: no telling which one is off
    ],
)
def test_off_scale_picks_only_far_off_points(values: list[float], far: set[int]) -> None:
    from nnrun.sweep.summary import off_scale

    assert off_scale(values) == far
