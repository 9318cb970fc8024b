"""Curves that stay legible: panels per dataset and loss, log y over two decades, a colour
bar or the best few labelled beyond ten lines, seeds as a mean with a band (issue 15 item 2)."""

from __future__ import annotations

import pytest

from nnrun.compare.plot import BEST_LABELLED, MAX_LINES, Series, draw, panels, spans_decades
from nnrun.plots import pyplot
from tests.compare.made_runs import MadeRuns


def _series(n: int, runs: int = 1, scale: float = 1.0) -> list[Series]:
    out = []
    for i in range(n):
        mean = [scale * (i + 1) ** 2 / (e + 1) for e in range(5)]
        out.append(
            Series(
                f"lr={10**-i:g}", list(range(5)), mean, [m * 0.9 for m in mean], [m * 1.1 for m in mean], runs, 10.0**-i
            )
        )
    return out


def _draw(series: list[Series], key: str | None):  # noqa: ANN202
    plt = pyplot()
    fig, ax = plt.subplots()
    draw(ax, fig, series, colour_key=key, higher_better=False)
    plt.close(fig)
    return fig, ax


def test_few_lines_get_a_legend_and_seeds_a_band() -> None:
    fig, ax = _draw(_series(3, runs=3), "optimizer.learning_rate")
    assert len(fig.axes) == 1  # no colour bar
    assert len(ax.get_legend().get_texts()) == 3 and "mean of 3" in ax.get_legend().get_texts()[0].get_text()
    assert len(ax.collections) == 3  # one band per line
    assert ax.get_yscale() == "linear"


def test_many_lines_with_a_numeric_key_get_a_log_colour_bar() -> None:
    fig, ax = _draw(_series(MAX_LINES + 5, runs=2), "optimizer.learning_rate")
    assert len(fig.axes) == 2  # the colour bar
    assert fig.axes[1].get_ylabel() == "optimizer.learning_rate" and fig.axes[1].get_yscale() == "log"
    assert ax.get_legend() is None and not ax.collections  # no legend, no pile of bands
    assert ax.get_yscale() == "log"  # 0.2 .. 225: more than two decades


def test_many_lines_without_a_numeric_key_label_the_best_few() -> None:
    fig, ax = _draw(_series(MAX_LINES + 5), None)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(texts) == BEST_LABELLED and texts[0] == "lr=1"  # lowest loss first
    assert len(fig.axes) == 1


def test_spans_decades() -> None:
    assert spans_decades([0.001, 1.0]) and not spans_decades([0.5, 1.0]) and not spans_decades([0.0, 10.0])


@pytest.mark.usefixtures("made")
def test_runs_of_different_datasets_or_losses_get_their_own_panels(made: MadeRuns) -> None:
    from nnrun.compare import collect

    runs, _ = collect([made.root])
    groups = panels(runs)
    assert len(groups) >= 2
    for members in groups.values():
        assert len({(r.flat_config.get("data.dataset"), r.flat_config.get("loss")) for r in members}) == 1


def _lines(values: list[float], **kw) -> list[Series]:  # noqa: ANN003
    return [
        Series(f"lr={v:g}", [1, 2, 3], [1.0 / (k + 1), 0.8 / (k + 1), 0.6 / (k + 1)], [0.0] * 3, [0.0] * 3, 1, v, **kw)
        for k, v in enumerate(values)
    ]


def _legend_texts(ax) -> list[str]:  # noqa: ANN001
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_lines_of_a_swept_number_take_a_ramp_in_value_order_with_the_legend_beside_the_axes() -> None:
    values = [0.1, 0.001, 1.0, 0.01, 0.3, 0.03]
    series = _lines(values)
    for s in series:
        s.low, s.high = s.mean, s.mean
    fig, ax = _draw(series, "optimizer.learning_rate")
    assert _legend_texts(ax) == [f"lr={v:g}" for v in sorted(values)]
    # viridis from dark to light: the swept value orders the lines' brightness
    brightness = {s.value: sum(line.get_color()[:3]) for s, line in zip(series, ax.get_lines(), strict=True)}
    assert [brightness[v] for v in sorted(values)] == sorted(brightness.values())
    fig.canvas.draw()
    assert ax.get_legend().get_window_extent().x0 >= ax.get_window_extent().x1  # hides no curve


def test_the_best_line_is_drawn_on_top_and_named_first() -> None:
    series = _lines([0.001, 0.01, 0.1])
    plt = pyplot()
    fig, ax = plt.subplots()
    draw(ax, fig, series, colour_key="optimizer.learning_rate", higher_better=False, best=1)
    plt.close(fig)
    assert _legend_texts(ax)[0] == "best: lr=0.01"
    best_line = ax.get_lines()[1]
    assert best_line.get_zorder() > max(line.get_zorder() for line in ax.get_lines() if line is not best_line)
    assert best_line.get_path_effects()  # outlined


def test_a_diverged_line_does_not_set_the_scale_and_is_marked_where_it_leaves() -> None:
    series = _lines([0.01, 0.1, 100.0])
    series[2].mean = [1e3, 1e20, 1e35]
    series[2].diverged = True
    fig, ax = _draw(series, "optimizer.learning_rate")
    assert ax.get_ylim()[1] < 2  # scaled to the lines that converged, not to 1e35
    texts = _legend_texts(ax)
    assert "lr=100 (diverged)" in texts and any(t.startswith("diverged") for t in texts)
    cross = next(line for line in ax.get_lines() if line.get_label().startswith("diverged"))
    assert list(cross.get_xdata()) == [1] and cross.get_ydata()[0] == pytest.approx(ax.get_ylim()[1])


def test_a_second_swept_key_gets_a_line_style_per_value() -> None:
    series = _lines([0.001, 0.01, 0.1, 1.0] * 3)
    for n, s in enumerate(series):
        s.style = f"units={2 ** (n // 4 + 1)}"
    fig, ax = _draw(series, "optimizer.learning_rate")
    assert len(fig.axes) == 2  # 12 lines: a colour bar for the learning rate ...
    assert _legend_texts(ax) == ["units=2", "units=4", "units=8"]  # ... and the styles named
    assert {line.get_linestyle() for line in ax.get_lines()} == {"-", "--", ":"}


def _spiky(at: int) -> list[Series]:
    series = []
    for k in range(6):
        mean = [140.0 - k * 15 - e for e in range(25)]
        series.append(Series(f"lr={10.0**-k:g}", list(range(1, 26)), mean, mean, mean, 1, 10.0**-k))
    series[0].mean = series[0].low = series[0].high = [760.0 if e == at else 60.0 for e in range(25)]
    return series


def test_a_start_up_spike_is_cut_off_and_named() -> None:
    fig, ax = _draw(_spiky(at=0), "optimizer.learning_rate")
    assert ax.get_yscale() == "linear" and ax.get_ylim()[1] < 200  # the other lines fill the axes
    (note,) = ax.texts
    assert "cut off: lr=1 (up to 760)" in note.get_text()


def test_a_line_that_jumps_later_in_training_is_left_whole() -> None:
    fig, ax = _draw(_spiky(at=15), "optimizer.learning_rate")
    assert ax.get_ylim()[1] >= 760 and not ax.texts  # instability is worth seeing


def test_a_legend_of_long_labels_leaves_the_axes_beside_or_below_in_a_grid_of_panels() -> None:
    series = _lines([0.01, 0.1])
    for s in series:
        s.label = "diabetes-mae units=32 activation=relu metrics=[mse] epochs=20 " + s.label
    for below in (False, True):
        plt = pyplot()
        fig, ax = plt.subplots()
        draw(ax, fig, series, colour_key=None, higher_better=False, legend_below=below)
        fig.canvas.draw()
        legend, box = ax.get_legend().get_window_extent(), ax.get_window_extent()
        plt.close(fig)
        assert legend.y1 <= box.y0 if below else legend.x0 >= box.x1  # never over the y label or the curves


def test_lines_stopped_early_get_a_dot_at_the_epoch_whose_weights_they_kept() -> None:
    series = _lines([0.01, 0.1, 1.0])
    series[0].kept, series[1].kept, series[2].kept = 3, 2, 1
    fig, ax = _draw(series, "optimizer.learning_rate")
    dots = [line for line in ax.get_lines() if line.get_marker() == "o" and len(line.get_xdata()) == 1]
    assert sorted((line.get_xdata()[0], line.get_ydata()[0]) for line in dots) == sorted(
        (s.kept, s.mean[s.epochs.index(s.kept)]) for s in series
    )
    assert "kept epoch (early stopping kept its weights)" in _legend_texts(ax)
    for s in series:  # every run kept its last epoch: nothing to mark
        s.kept = s.epochs[-1]
    fig, ax = _draw(series, "optimizer.learning_rate")
    assert not any(line.get_marker() == "o" for line in ax.get_lines())


def test_a_few_doubling_values_get_colours_far_enough_apart_to_tell() -> None:
    series = _lines([1.0, 2.0, 4.0, 8.0, 16.0])
    fig, ax = _draw(series, "model.layers.0.units")
    rgb = [line.get_color()[:3] for line in ax.get_lines()[: len(series)]]
    gap = min(sum(abs(a - b) for a, b in zip(rgb[i], rgb[i + 1], strict=True)) for i in range(len(rgb) - 1))
    assert gap > 0.25  # on a linear 1..16 scale units=1 and units=2 were the same dark purple


def test_beside_a_colour_bar_the_legend_of_the_marks_stays_inside_the_axes() -> None:
    series = _series(MAX_LINES + 3)
    series[-1].mean = [1e3, 1e20, 1e35, 1e35, 1e35]
    series[-1].diverged = True
    series[-2].exploded = True
    fig, ax = _draw(series, "optimizer.learning_rate")
    assert len(fig.axes) == 2  # the colour bar
    texts = _legend_texts(ax)
    assert "diverged: off the scale from here" in texts and "exploded: the loss grew, still finite" in texts
    fig.canvas.draw()
    legend, axes, bar = ax.get_legend().get_window_extent(), ax.get_window_extent(), fig.axes[1].get_window_extent()
    assert axes.x0 <= legend.x0 and legend.x1 <= axes.x1 < bar.x0  # not lying on the colour bar
