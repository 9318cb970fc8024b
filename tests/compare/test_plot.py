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
