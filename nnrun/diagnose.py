"""The fit diagnosis: a verdict on a run from its learning curves, with a hint of what to try next.

Pure Python and NumPy (no TensorFlow, no pandas): the runner calls it when a run ends and
`nnrun compare` calls it again for runs whose run.json lacks it (older or failed runs).

The input is history.csv as rows (`epoch`, `loss`, `val_loss`, ...). Only `loss` (training)
and `val_loss` (validation, when present) are used. "Noise" is a robust estimate of how much
a curve jitters around its running median (1.4826 x the median absolute deviation of the
residuals), so a single bumpy epoch never decides a verdict. "Level at the end" is the median
of the last three epochs. The rules, checked in this order; the first that matches wins:

1. **diverged**: the run's status is `diverged`, or a loss is NaN/inf, or the training loss
   exploded (at the end it is more than 10x its lowest value and above where it started).
   Hint: lower the learning rate.
2. **not converged** (too short): fewer than 3 epochs; too few to judge. Hint: more epochs.
3. **overfitting from epoch N**: N is the epoch of the lowest (running-median smoothed)
   validation loss; after it validation rose beyond noise (level at the end above the minimum
   by more than max(3 x noise, 5 % of the minimum)) while the training loss kept falling (level
   at the end below its value at epoch N by more than max(2 x noise, 1 %)). At least two epochs
   must follow N. Hint: stop near epoch N (early stopping), dropout/L2, more data.
4. **not converged** (oscillating): over the second half of training the training loss jitters
   (noise) by more than 10 % of its level. Hint: lower the learning rate or use larger batches.
5. **underfitting** (barely learned): the training loss at the end is still above 70 % of its
   first-epoch value. Hint: grow the model, train longer or raise the learning rate.
6. **underfitting** (still falling): over the last fifth of training (at least 3 epochs) the
   training loss fell by more than 10 % of its whole drop and by more than 3 x noise, and the
   validation loss (if any) was falling too. Hint: train for more epochs.
7. **good fit**: none of the above: the curves have flattened and validation does not rise.

The history carries no notion of the best attainable loss, so "high" in rule 4 is relative to
where training started.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

GOOD_FIT = "good fit"
OVERFITTING = "overfitting"
UNDERFITTING = "underfitting"
DIVERGED = "diverged"
NOT_CONVERGED = "not converged"
VERDICTS = (GOOD_FIT, OVERFITTING, UNDERFITTING, DIVERGED, NOT_CONVERGED)

MIN_EPOCHS = 3
EXPLODE_FACTOR = 10.0
RISE_NOISE = 3.0
RISE_RELATIVE = 0.05
TRAIN_FALL_RELATIVE = 0.01
BARELY_LEARNED = 0.7
OSCILLATION = 0.10
TAIL_FRACTION = 0.2
TAIL_DROP = 0.10


@dataclass(frozen=True)
class Diagnosis:
    """A verdict (one of `VERDICTS`), the epoch it refers to, a label and a one-line hint."""

    verdict: str
    label: str
    hint: str
    epoch: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "epoch": self.epoch, "label": self.label, "hint": self.hint}


def _series(history: Sequence[Mapping[str, Any]], key: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The column `key` as floats and a mask of the rows that have a value; None if none has.

    A missing or unparsable value is NaN but not "present": only a recorded NaN/inf counts
    as a divergence.
    """
    values = np.full(len(history), math.nan)
    present = np.zeros(len(history), dtype=bool)
    for i, row in enumerate(history):
        v = row.get(key)
        if v is None or v == "":
            continue
        try:
            values[i] = float(v)
        except (TypeError, ValueError):
            continue
        present[i] = True
    return (values, present) if present.any() else None


def _epoch(history: Sequence[Mapping[str, Any]], index: int) -> int:
    try:
        return int(float(history[index]["epoch"]))
    except (KeyError, TypeError, ValueError):
        return index + 1


def running_median(y: np.ndarray, window: int = 5) -> np.ndarray:
    """Centred running median; the window shrinks at the edges."""
    half = window // 2
    n = len(y)
    width = 2 * half + 1
    out = np.empty(n)
    if n < width:
        edges = range(n)
    else:  # the full windows in one call (10 000 epochs in milliseconds), then the edges
        out[half : n - half] = np.median(np.lib.stride_tricks.sliding_window_view(y, width), axis=1)
        edges = [*range(half), *range(n - half, n)]
    for i in edges:
        out[i] = np.median(y[max(0, i - half) : min(n, i + half + 1)])
    return out


def noise(y: np.ndarray) -> float:
    """Robust standard deviation of a curve's epoch-to-epoch jitter.

    Second differences cancel any locally linear trend; for independent noise of standard
    deviation s they have standard deviation s * sqrt(6). 1.4826 x their median absolute
    deviation estimates that robustly (a few wild epochs do not move it).
    """
    if len(y) < 4:
        return 0.0
    d2 = y[:-2] - 2 * y[1:-1] + y[2:]
    return float(1.4826 * np.median(np.abs(d2 - np.median(d2))) / math.sqrt(6))


def _end(y: np.ndarray) -> float:
    return float(np.median(y[-3:]))


def _diverged(history: Sequence[Mapping[str, Any]], train: np.ndarray, bad: np.ndarray) -> Diagnosis | None:
    if bad.any():
        return _diverged_at(_epoch(history, int(np.argmax(bad))), "became NaN/inf")
    if len(train) >= 2:
        lowest = np.minimum.accumulate(train)
        end = _end(train)
        if end > EXPLODE_FACTOR * max(float(lowest[-1]), 1e-12) and end > train[0]:
            first = int(np.argmax(train > EXPLODE_FACTOR * np.maximum(lowest, 1e-12)))
            return _diverged_at(_epoch(history, first), "exploded")
    return None


def _diverged_at(epoch: int | None, how: str) -> Diagnosis:
    where = f" at epoch {epoch}" if epoch is not None else ""
    return Diagnosis(
        DIVERGED,
        f"diverged{where}",
        f"the loss {how}{where}: lower optimizer.learning_rate (try 10x smaller) or standardize the inputs",
        epoch,
    )


def _overfitting(history: Sequence[Mapping[str, Any]], train: np.ndarray, val: np.ndarray) -> Diagnosis | None:
    smooth = running_median(val, 3)
    best = int(np.argmin(smooth))
    if len(val) - 1 - best < 2:
        return None
    rise = _end(val) - float(smooth[best])
    if rise <= max(RISE_NOISE * noise(val), RISE_RELATIVE * abs(float(smooth[best])), 1e-12):
        return None
    train_at_best = float(running_median(train, 3)[best])
    fall = train_at_best - _end(train)
    if fall <= max(2 * noise(train), TRAIN_FALL_RELATIVE * abs(train_at_best)):
        return None
    epoch = _epoch(history, best)
    return Diagnosis(
        OVERFITTING,
        f"overfitting from epoch {epoch}",
        f"validation loss is lowest at epoch {epoch} and rises after it while training loss keeps falling: "
        "stop there (training.early_stopping with restore_best_weights), add dropout or L2, or use more data",
        epoch,
    )


def diagnose(history: Sequence[Mapping[str, Any]], status: str | None = None) -> Diagnosis:
    """The fit verdict for one run's history (rows of history.csv; values may be strings).

    Args:
        history: one mapping per epoch with at least `loss`; `val_loss` when validated.
        status: the run's status, if known; `diverged` always gives the verdict `diverged`.
    """
    train_col = _series(history, "loss")
    if train_col is None:
        if status == DIVERGED:
            return _diverged_at(None, "became NaN/inf")
        return Diagnosis(NOT_CONVERGED, NOT_CONVERGED, "no epoch finished: nothing to judge; train for more epochs")
    val_col = _series(history, "val_loss")
    bad = train_col[1] & ~np.isfinite(train_col[0])
    if val_col is not None:
        bad |= val_col[1] & ~np.isfinite(val_col[0])
    # rows without a training loss carry nothing to judge
    keep = train_col[1]
    history = [row for row, k in zip(history, keep, strict=True) if k]
    train, bad = train_col[0][keep], bad[keep]
    found = _diverged(history, train, bad)
    if found is not None:
        return found
    if status == DIVERGED:
        return _diverged_at(None, "became NaN/inf")
    val = None
    if val_col is not None:
        val = val_col[0][keep]
        # a missing validation value takes its neighbour's, so it never decides anything
        val = val if np.isfinite(val).all() else _fill(val)
    n = len(train)
    if n < MIN_EPOCHS:
        return Diagnosis(
            NOT_CONVERGED,
            NOT_CONVERGED,
            f"only {n} epoch{'s' if n != 1 else ''}: too few to judge; train for more epochs",
        )
    if val is not None:
        found = _overfitting(history, train, val)
        if found is not None:
            return found
    second_half = train[n // 2 :]
    level = abs(float(np.median(second_half)))
    if len(second_half) >= 3 and noise(second_half) > OSCILLATION * max(level, 1e-12):
        return Diagnosis(
            NOT_CONVERGED,
            NOT_CONVERGED,
            "the loss jumps around without settling: lower the learning rate or use larger batches",
        )
    if _end(train) > BARELY_LEARNED * float(train[0]):
        return Diagnosis(
            UNDERFITTING,
            UNDERFITTING,
            "the training loss barely went down: grow the model (more units or layers), "
            "train longer or raise the learning rate",
        )
    k = max(3, math.ceil(TAIL_FRACTION * n))
    if k < n:
        smooth = running_median(train, 3)
        tail_drop = float(smooth[-k] - smooth[-1])
        total_drop = float(smooth[0] - smooth[-1])
        val_drop = -_slope(val[-k:]) * (k - 1) if val is not None else math.inf
        val_falling = val is None or val_drop > max(2 * noise(val), TRAIN_FALL_RELATIVE * abs(_end(val)))
        if tail_drop > TAIL_DROP * total_drop and tail_drop > RISE_NOISE * noise(train) and val_falling:
            return Diagnosis(
                UNDERFITTING,
                UNDERFITTING,
                "both losses are still falling at the end: train for more epochs (or raise the learning rate)",
            )
    hint = "the curves have flattened and validation does not rise; for better scores try a larger model or more data"
    if val is not None:
        gap = _end(val) / max(_end(train), 1e-12)
        if gap > 2 and _end(val) - _end(train) > RISE_RELATIVE * abs(_end(val)):
            hint = (
                f"the curves have flattened, but validation loss is {gap:.1f}x the training loss: "
                "more data, dropout or L2 could close the gap"
            )
    return Diagnosis(GOOD_FIT, GOOD_FIT, hint)


def _fill(y: np.ndarray) -> np.ndarray | None:
    """Missing values replaced by the previous (or first) recorded one; None if none is recorded."""
    finite = np.isfinite(y)
    if not finite.any():
        return None
    idx = np.where(finite, np.arange(len(y)), 0)
    np.maximum.accumulate(idx, out=idx)
    out = y[idx]
    out[: int(np.argmax(finite))] = y[int(np.argmax(finite))]
    return out


def _slope(y: np.ndarray) -> float:
    """Least-squares slope per epoch."""
    if len(y) < 2:
        return 0.0
    x = np.arange(len(y), dtype="float64")
    return float(np.polyfit(x, y, 1)[0])
