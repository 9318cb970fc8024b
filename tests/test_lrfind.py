"""The range test's pieces: the suggestion rule on known curves, and a real run on a
config with a schedule (the test replaces it with its own rising rate)."""

from __future__ import annotations

import numpy as np
import pytest

from nnrun import lrfind
from nnrun.errors import NnrunError
from nnrun.experiment import prepare_experiment
from tests.conftest import CONFIGS


def _curve(centre: float, n: int = 250, noise: float = 0.0, seed: int = 0) -> tuple[list[float], list[float]]:
    """A loss that falls from 1 to 0.2 around `centre` (a logistic in log10 rate), then blows up."""
    rates = np.geomspace(1e-7, 10, n)
    x = np.log10(rates)
    loss = 0.2 + 0.8 / (1 + np.exp(3 * (x - np.log10(centre))))
    loss = loss + np.where(x > 0, 5 * x**2, 0.0)
    loss = loss + noise * np.random.default_rng(seed).standard_normal(n)
    return rates.tolist(), loss.tolist()


@pytest.mark.parametrize("centre", [1e-4, 3e-3, 0.05])
def test_suggestion_is_the_steepest_descent(centre: float) -> None:
    rates, loss = _curve(centre)
    suggestion, why = lrfind.suggest(rates, loss)
    assert why is None
    assert suggestion == pytest.approx(centre, rel=0.25)


def test_suggestion_ignores_a_noisy_drop_near_the_blow_up() -> None:
    rates, loss = _curve(1e-3, noise=0.0)
    loss = np.asarray(loss)
    # One bad batch then a lucky one near the end: neighbour-to-neighbour it is the
    # steepest drop of the whole curve, but it is not where the loss really falls.
    spike = int(np.searchsorted(rates, 0.5))
    loss[spike - 1 : spike + 1] = [5.0, 0.19]
    suggestion, _ = lrfind.suggest(rates, loss.tolist())
    assert suggestion == pytest.approx(1e-3, rel=0.25)


def test_no_suggestion_when_the_loss_never_falls() -> None:
    rates = np.geomspace(1e-7, 10, 100).tolist()
    suggestion, why = lrfind.suggest(rates, np.linspace(1, 3, 100).tolist())
    assert suggestion is None and "never decreased" in why
    suggestion, why = lrfind.suggest(rates[:8], np.linspace(1, 0.5, 8).tolist())
    assert suggestion is None and "diverged after 8 steps" in why


@pytest.mark.parametrize(
    ("start", "end", "steps"), [(0.0, 1.0, 100), (1.0, 0.1, 100), (1e-7, float("inf"), 100), (1e-7, 10, 5)]
)
def test_bad_ranges_are_refused(start: float, end: float, steps: int) -> None:
    with pytest.raises(NnrunError, match="expected"):
        lrfind.check_range(start, end, steps)


@pytest.mark.slow
def test_run_on_a_scheduled_config_uses_the_rising_rate() -> None:
    prepared = prepare_experiment(CONFIGS / "step_decay.yaml")
    assert prepared.spec.optimizer.schedule is not None
    result = lrfind.run(prepared, start=1e-5, end=1.0, steps=40)
    assert 20 < result.steps_run <= 40
    np.testing.assert_allclose(result.learning_rates, np.geomspace(1e-5, 1.0, 40)[: result.steps_run])
    assert all(np.isfinite(result.losses))
    assert result.settings["optimizer"] == prepared.spec.optimizer.name
    assert prepared.spec.optimizer.schedule is not None  # the spec itself is untouched
