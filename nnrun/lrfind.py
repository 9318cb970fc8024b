"""The learning-rate range test (Smith, 2017; popularised by fastai's `lr_find`).

Train the config's model for a few hundred mini-batches while the learning rate grows
exponentially from tiny to huge, record the loss of each batch, and suggest the rate
where the (smoothed) loss falls fastest per decade of learning rate. The model is built
exactly as `nnrun train` builds it, except that any schedule is replaced by the test's
own rising rate; its weights are thrown away afterwards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnrun.errors import NnrunError

DEFAULT_START = 1e-7
DEFAULT_END = 10.0
DEFAULT_STEPS = 250
#: Exponential moving average of the batch losses (with bias correction, as in fastai).
SMOOTHING = 0.9
#: Stop once the smoothed loss exceeds this multiple of the best smoothed loss so far.
DIVERGE_FACTOR = 4.0
#: Points left out at each end when looking for the steepest descent: the start is
#: flat and noisy, the end is where the loss blows up.
SKIP_START = 10
SKIP_END = 5
#: The slope of the loss curve is measured across this many decades of learning rate.
SLOPE_WINDOW = 0.5


@dataclass
class LrFindResult:
    """The recorded curve and the suggestion (None when the loss never fell)."""

    learning_rates: list[float]
    losses: list[float]
    smoothed: list[float]
    stop_reason: str
    suggestion: float | None = None
    why_no_suggestion: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def steps_run(self) -> int:
        return len(self.losses)

    @property
    def best_loss_rate(self) -> float | None:
        """The rate at the lowest smoothed loss (typically ~10x too high to train with)."""
        if not self.smoothed:
            return None
        return self.learning_rates[int(np.argmin(self.smoothed))]

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"step": i + 1, "learning_rate": lr, "loss": loss, "smoothed_loss": sm}
            for i, (lr, loss, sm) in enumerate(zip(self.learning_rates, self.losses, self.smoothed, strict=True))
        ]


def check_range(start: float, end: float, steps: int) -> None:
    if not (math.isfinite(start) and math.isfinite(end)) or start <= 0 or end <= start:
        raise NnrunError(f"expected 0 < --start < --end. Received: start={start:g}, end={end:g}")
    if end > 1e4:
        raise NnrunError(f"expected --end of at most 1e4. Received: end={end:g}")
    if steps < SKIP_START + SKIP_END + 5:
        raise NnrunError(f"expected --steps of at least {SKIP_START + SKIP_END + 5}. Received: steps={steps}")


def learning_rates(start: float, end: float, steps: int) -> np.ndarray:
    """`steps` rates spaced evenly on a log scale, `start` and `end` included."""
    return np.geomspace(start, end, steps)


def suggest(rates: list[float], smoothed: list[float]) -> tuple[float | None, str | None]:
    """The rate where the smoothed loss falls fastest per decade on its way to its minimum.

    The slope at each point is taken across `SLOPE_WINDOW` decades rather than between
    neighbours, and only points before the minimum count: batch noise near the blow-up
    otherwise wins over the real descent. Returns (None, why) when there is no descent.
    """
    n = len(smoothed)
    if n < SKIP_START + SKIP_END + 3:
        return None, f"the loss diverged after {n} steps; lower --start or raise --steps"
    log_lr = np.log10(np.asarray(rates, dtype="float64"))
    loss = np.asarray(smoothed, dtype="float64")
    lowest = SKIP_START + int(np.argmin(loss[SKIP_START:]))
    last = min(lowest, n - 1 - SKIP_END)
    if last <= SKIP_START:
        return None, "the loss never decreased over the range; check the data, the loss or the model"
    per_decade = (n - 1) / max(log_lr[-1] - log_lr[0], 1e-12)
    half = max(1, round(SLOPE_WINDOW / 2 * per_decade))
    best_i, best_slope = None, 0.0
    for i in range(SKIP_START, last + 1):
        a, b = max(i - half, 0), min(i + half, lowest)
        if b <= a:
            continue
        slope = (loss[b] - loss[a]) / (log_lr[b] - log_lr[a])
        if slope < best_slope:
            best_i, best_slope = i, slope
    if best_i is None:
        return None, "the loss never decreased over the range; check the data, the loss or the model"
    return float(rates[best_i]), None


def batches(n: int, size: int, shuffle: bool, seed: int):
    """Endless index batches of exactly `size` rows (one shape: Keras traces once)."""
    rng = np.random.default_rng(seed)
    size = min(size, n)
    while True:
        order = rng.permutation(n) if shuffle else np.arange(n)
        for i in range(n // size):
            yield order[i * size : (i + 1) * size]


def range_test(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    rates: np.ndarray,
    seed: int = 0,
    shuffle: bool = True,
) -> LrFindResult:
    """One optimizer step per rate; stops early when the loss explodes."""
    losses: list[float] = []
    smoothed: list[float] = []
    avg, best = 0.0, math.inf
    stop = "completed"
    batch_iter = batches(len(x), batch_size, shuffle, seed)
    for step, lr in enumerate(rates):
        idx = next(batch_iter)
        model.optimizer.learning_rate = float(lr)
        loss = float(model.train_on_batch(x[idx], y[idx], return_dict=True)["loss"])
        if not math.isfinite(loss):
            stop = "diverged"
            break
        avg = SMOOTHING * avg + (1 - SMOOTHING) * loss
        sm = avg / (1 - SMOOTHING ** (step + 1))
        losses.append(loss)
        smoothed.append(sm)
        if sm > DIVERGE_FACTOR * best:
            stop = "diverged"
            break
        best = min(best, sm)
    used = [float(r) for r in rates[: len(losses)]]
    suggestion, why = suggest(used, smoothed)
    return LrFindResult(used, losses, smoothed, stop, suggestion, why)


def run(
    prepared: Any,
    start: float = DEFAULT_START,
    end: float = DEFAULT_END,
    steps: int = DEFAULT_STEPS,
) -> LrFindResult:
    """Build the prepared config's model (seeded, as training does) and run the test."""
    from nnrun.tf_import import import_tensorflow

    import_tensorflow()  # quietly, before anything imports keras (TensorFlow's log lines)
    from nnrun.build.model import build_model
    from nnrun.experiment import seed_everything
    from nnrun.train.base import batch_size

    check_range(start, end, steps)
    spec, data = prepared.spec, prepared.data
    # Same optimizer and hyperparameters, but a plain float rate the test can set per step.
    optimizer = spec.optimizer.model_copy(update={"schedule": None, "learning_rate": start})
    seed_everything(spec.seed)
    model = build_model(spec.model_copy(update={"optimizer": optimizer}), data.input_shape)
    bs = batch_size(spec, len(data.x_train))
    result = range_test(
        model,
        data.x_train,
        data.y_train,
        bs,
        learning_rates(start, end, steps),
        seed=spec.seed,
        shuffle=spec.training.shuffle,
    )
    result.settings = {
        "name": spec.name,
        "seed": spec.seed,
        "optimizer": spec.optimizer.name,
        "loss": spec.loss,
        "batch_size": bs,
        "start": start,
        "end": end,
        "steps": steps,
        "smoothing": SMOOTHING,
        "diverge_factor": DIVERGE_FACTOR,
    }
    return result


def plot(result: LrFindResult, path: Path, title: str) -> Path:
    """Loss vs learning rate (log x), the suggestion marked."""
    from nnrun.plots import pyplot, save_png

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    ax.plot(result.learning_rates, result.losses, color="tab:blue", alpha=0.25, lw=1, label="batch loss")
    ax.plot(result.learning_rates, result.smoothed, color="tab:blue", lw=2, label="smoothed loss")
    if result.suggestion is not None:
        at = float(np.interp(np.log10(result.suggestion), np.log10(result.learning_rates), result.smoothed))
        ax.axvline(result.suggestion, color="tab:red", ls="--", lw=1)
        ax.plot([result.suggestion], [at], "o", color="tab:red", label=f"suggested {result.suggestion:.2g}")
    if result.smoothed:
        low, first, high = min(result.smoothed), result.smoothed[0], max(result.smoothed)
        top = min(high, max(first, low) * 1.5) if high > first else high
        if top > low:
            pad = 0.05 * (top - low)
            ax.set_ylim(low - pad, top + pad)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss")
    ax.set_title(f"{title}: learning-rate range test")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_png(fig, path)  # whole or not at all
    plt.close(fig)
    return path


def save(result: LrFindResult, out_dir: Path, spec: Any) -> None:
    """lr_find.csv, lr_find.json, lr_find.png and the resolved config.yaml."""
    from nnrun.runs.files import atomic_write_json, atomic_write_yaml, write_csv_rows
    from nnrun.runs.layout import RunFolder
    from nnrun.runs.records import LrFindJson

    files = RunFolder(out_dir)
    write_csv_rows(files.lr_find_csv, result.rows())
    record = LrFindJson.new(
        suggestion=result.suggestion,
        why_no_suggestion=result.why_no_suggestion,
        min_loss_learning_rate=result.best_loss_rate,
        steps_run=result.steps_run,
        stop_reason=result.stop_reason,
        **result.settings,
    )
    atomic_write_json(files.lr_find_json, record.to_data())
    atomic_write_yaml(files.config, spec.to_yaml_dict())
    png = files.lr_find_plot
    tmp = out_dir / ".lr_find.tmp.png"
    plot(result, tmp, spec.name)
    tmp.replace(png)
