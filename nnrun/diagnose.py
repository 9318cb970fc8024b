"""The fit diagnosis: a verdict on a run from its learning curves, with a hint of what to try next.

Pure Python and NumPy (no TensorFlow, no pandas): the runner calls it when a run ends and
`nnrun compare` calls it again for runs whose run.json lacks it (older or failed runs).

The input is history.csv as rows (`epoch`, `loss`, `val_loss`, `accuracy`, `val_accuracy`,
...) and, when run.json has them, the run's `Facts`: the epoch whose weights were kept, the
majority-class rate of each split and the loss of the best constant guess (the class
frequencies, or the mean target). Verdicts read the validation columns (never the test
metrics). "Noise" is a robust estimate of how much a curve jitters around its running median
(1.4826 x the median absolute deviation of the residuals), so a single bumpy epoch never
decides a verdict. "Level at the end" is the median of the last three epochs, or the value at
the kept epoch when early stopping restored an earlier one. The rules, checked in this order;
the first that matches wins:

1. **diverged**: the run's status is `diverged`, or a loss is NaN/inf, or the training loss
   exploded (at the end it is more than 10x its lowest value and above where it started).
   Hint: lower the learning rate. When early stopping kept the weights of an epoch before the
   one where it diverged, the label and hint say which (`diverged at epoch 4 (kept epoch 1)`):
   the verdict stays `diverged`, since a run that blew up is not the setting to recommend.
2. **diverged** (blew up): a classifier whose training or validation loss at the end is more
   than 10x the loss of a constant guess, or whose training loss peaked above 100x it and that
   ended stuck at chance level (rule 5): the weights blew up (a too large learning rate) even
   if the loss later came down, whatever the gap between the curves.
3. **not converged** (too short): fewer than 3 epochs; too few to judge. Hint: more epochs.
4. **good fit** (perfect): training and validation accuracy are 100 % at the end and the
   training loss is below 5 % of a constant guess's (or of its first value). Nothing is left
   to learn on these rows.
5. **stuck at chance level**: a classifier whose accuracy at the end (validation, and training
   when recorded) is within noise of the majority-class rate of its split (less than
   min(2 standard errors, half the distance to 100 %) above it) and whose training loss is no
   longer falling (over the last fifth, by less than max(3 x noise, 1 %)). Hint: another seed,
   more units, another learning rate.
6. **overfitting from epoch N**: N is the epoch of the lowest (running-median smoothed)
   validation loss; after it validation rose beyond noise (level at the end above the minimum
   by more than max(3 x noise, 5 % of the minimum)) while the training loss kept falling (level
   at the end below its value at epoch N by more than max(2 x noise, 1 %)). At least two epochs
   must follow N. Hint: stop near epoch N (early stopping), dropout/L2, more data. When early
   stopping restored the weights of an epoch at or before N + 2, the model that was kept did
   not overfit: the verdict is **good fit**, saying which epoch was kept.
7. **not converged** (oscillating): over the second half of training the training loss jitters
   (noise) by more than 10 % of its level (a level below 1 % of where training started counts
   as 1 % of it: jitter around zero is not oscillation). Hint: lower the learning rate or
   use larger batches.
8. **underfitting** (barely learned): the training loss at the end is still above 70 % of its
   first-epoch value. Hint: grow the model, train longer or raise the learning rate.
9. **underfitting** (still falling): over the last fifth of training (at least 3 epochs) the
   training loss fell by more than 10 % of its whole drop and by more than 3 x noise, and the
   validation loss (if any) was falling too. Not for a run that early stopping ended (it found
   no more improvement). Hint: train for more epochs.
    On the logic gates (train, validation and test are the same rows) a flattened loss below
   100 % accuracy is **underfitting** too: the net cannot fit the rows it trains on.
10. **good fit**: none of the above: the curves have flattened and validation does not rise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

GOOD_FIT = "good fit"
OVERFITTING = "overfitting"
UNDERFITTING = "underfitting"
DIVERGED = "diverged"
NOT_CONVERGED = "not converged"
STUCK = "stuck at chance level"
VERDICTS = (GOOD_FIT, OVERFITTING, UNDERFITTING, DIVERGED, NOT_CONVERGED, STUCK)

MIN_EPOCHS = 3
EXPLODE_FACTOR = 10.0
RISE_NOISE = 3.0
RISE_RELATIVE = 0.05
TRAIN_FALL_RELATIVE = 0.01
BARELY_LEARNED = 0.7
OSCILLATION = 0.10
TAIL_FRACTION = 0.2
TAIL_DROP = 0.10
BLOWN_UP = 10.0
BLOWN_UP_PEAK = 100.0
PERFECT_LOSS = 0.05
NEAR_ZERO = 0.01
CHANCE_ERRORS = 2.0
EARLY_STOP_SLACK = 2


@dataclass(frozen=True)
class Chance:
    """A split's majority-class rate and its number of rows."""

    majority_rate: float
    n: int

    @property
    def margin(self) -> float:
        """How far above the majority rate an accuracy must be to be more than chance:
        two binomial standard errors, at most half the way to 100 %."""
        p = self.majority_rate
        return min(CHANCE_ERRORS * math.sqrt(p * (1 - p) / max(self.n, 1)), (1 - p) / 2)


@dataclass(frozen=True)
class Facts:
    """What run.json knows about a run beyond its history (all optional: old runs lack them).

    Attributes:
        kept_epoch: the epoch whose weights the model holds (early stopping may restore an
            earlier one than the last).
        early_stopped: early stopping ended the run.
        chance: majority-class rate and size per split ("train", "validation"), classifiers only.
        constant_loss: the loss of the best constant guess per split ("train", "validation").
        same_rows: train, validation and test are the same rows (a dataset too small to split).
    """

    kept_epoch: int | None = None
    early_stopped: bool = False
    chance: Mapping[str, Chance] = field(default_factory=dict)
    constant_loss: Mapping[str, float] = field(default_factory=dict)
    same_rows: bool = False

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Facts:
        """The facts in a run.json (missing or malformed fields are simply unknown)."""
        kept = record.get("kept_epoch")
        baseline = record.get("baseline") if isinstance(record.get("baseline"), dict) else {}
        split = record.get("split") if isinstance(record.get("split"), dict) else {}
        chance: dict[str, Chance] = {}
        rates = baseline.get("majority_rate") if isinstance(baseline.get("majority_rate"), dict) else {}
        for name, rate in rates.items():
            n = split.get(name)
            if _finite(rate) and isinstance(n, int) and n > 0:
                chance[name] = Chance(float(rate), n)
        losses = baseline.get("constant_loss") if isinstance(baseline.get("constant_loss"), dict) else {}
        return cls(
            kept_epoch=kept if isinstance(kept, int) and not isinstance(kept, bool) and kept > 0 else None,
            early_stopped=record.get("stop_reason") == "early_stopping",
            chance=chance,
            constant_loss={k: float(v) for k, v in losses.items() if _finite(v) and v > 0},
            same_rows=bool(split.get("same_rows")),
        )


def facts_rows(facts: Facts) -> str:
    n = facts.chance.get("train")
    return str(n.n) if n is not None else "few"


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


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


@dataclass(frozen=True)
class Explosion:
    """A training loss that exploded while staying finite (rule 1): the first epoch above
    `EXPLODE_FACTOR` x its lowest value so far, and its peak as a multiple of its lowest."""

    epoch: int
    factor: float

    def times(self) -> str:
        """`350x`, or `about 10⁵x` beyond a thousand."""
        if self.factor < 1000:
            return f"{self.factor:,.0f}x"
        return f"about 10{str(int(math.log10(self.factor))).translate(_SUPERSCRIPT)}x"


_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _exploded(history: Sequence[Mapping[str, Any]], train: np.ndarray) -> Explosion | None:
    """Rule 1's finite explosion: at the end (the median of the last three epochs, so one bumpy
    epoch never decides) the training loss is more than `EXPLODE_FACTOR` x its lowest value and
    above where it started (a loss near zero that jitters by 10x is still near zero)."""
    if len(train) < 2 or not np.isfinite(train).all():
        return None
    lowest = np.minimum.accumulate(train)
    end = _end(train)
    if not (end > EXPLODE_FACTOR * max(float(lowest[-1]), 1e-12) and end > train[0]):
        return None
    first = int(np.argmax(train > EXPLODE_FACTOR * np.maximum(lowest, 1e-12)))
    peak = first + int(np.argmax(train[first:]))
    return Explosion(_epoch(history, first), float(train[peak]) / max(float(lowest[peak]), 1e-12))


def explosion(history: Sequence[Mapping[str, Any]]) -> Explosion | None:
    """Where a run's training loss exploded while staying finite (the `diverged` verdict of a
    run whose loss never became NaN/inf), or None: what loss.png and gradients.png mark."""
    col = _series(history, "loss")
    if col is None:
        return None
    values, present = col
    if not present.all():
        history = [row for row, k in zip(history, present, strict=True) if k]
    return _exploded(history, values[present])


def _diverged(history: Sequence[Mapping[str, Any]], train: np.ndarray, bad: np.ndarray) -> Diagnosis | None:
    if bad.any():
        return _diverged_at(_epoch(history, int(np.argmax(bad))), "became NaN/inf")
    found = _exploded(history, train)
    if found is not None:
        return _diverged_at(
            found.epoch, "exploded", f" (it stayed finite but grew to {found.times()} its lowest value)"
        )
    return None


def _diverged_at(epoch: int | None, how: str, detail: str = "") -> Diagnosis:
    where = f" at epoch {epoch}" if epoch is not None else ""
    return Diagnosis(
        DIVERGED,
        f"diverged{where}",
        f"the loss {how}{where}{detail}: lower optimizer.learning_rate (try 10x smaller) or standardize the inputs",
        epoch,
    )


def _kept_before(
    found: Diagnosis, history: Sequence[Mapping[str, Any]], train: np.ndarray, bad: np.ndarray, facts: Facts
) -> Diagnosis:
    """A divergence whose early stopping kept the weights of an earlier epoch with finite losses
    says so: the verdict stays `diverged` (the lesson is the learning rate), but the saved model
    is that epoch's and is as usable as any run's."""
    kept = facts.kept_epoch
    if kept is None or found.epoch is None or kept >= found.epoch:
        return found
    epochs = [_epoch(history, i) for i in range(len(history))]
    at = epochs.index(kept) if kept in epochs else None
    if at is None or bad[at] or not math.isfinite(float(train[at])):
        return found
    return Diagnosis(
        found.verdict,
        f"{found.label} (kept epoch {kept})",
        f"{found.hint}. Early stopping kept the weights of epoch {kept}, from before it diverged: the saved "
        "model and its test metrics are that epoch's",
        found.epoch,
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


def diagnose(history: Sequence[Mapping[str, Any]], status: str | None = None, facts: Facts | None = None) -> Diagnosis:
    """The fit verdict for one run's history (rows of history.csv; values may be strings).

    Args:
        history: one mapping per epoch with at least `loss`; `val_loss` when validated.
        status: the run's status, if known; `diverged` always gives the verdict `diverged`.
        facts: what run.json knows beyond the history (`Facts.from_record`); None = nothing.
    """
    facts = facts or Facts()
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
    if not keep.all():  # (no copy otherwise: a history may hold a million epochs)
        history = [row for row, k in zip(history, keep, strict=True) if k]
    train, bad = train_col[0][keep], bad[keep]
    found = _diverged(history, train, bad)
    if found is not None:
        return _kept_before(found, history, train, bad, facts)
    if status == DIVERGED:
        return _diverged_at(None, "became NaN/inf")
    val = None
    if val_col is not None:
        val = val_col[0][keep]
        # a missing validation value takes its neighbour's, so it never decides anything
        val = val if np.isfinite(val).all() else _fill(val)
    curves = _Curves(history, train, val, facts)
    found = _blown_up(curves)
    if found is not None:
        return found
    n = len(train)
    if n < MIN_EPOCHS:
        return Diagnosis(
            NOT_CONVERGED,
            NOT_CONVERGED,
            f"only {n} epoch{'s' if n != 1 else ''}: too few to judge; train for more epochs",
        )
    found = _perfect(curves) or _stuck(curves)
    if found is not None:
        return found
    if val is not None:
        found = _overfitting(history, train, val)
        if found is not None:
            return _kept_by_early_stopping(found, curves) or found
    second_half = train[n // 2 :]
    level = max(abs(float(np.median(second_half))), NEAR_ZERO * abs(float(train[0])), 1e-12)
    if len(second_half) >= 3 and noise(second_half) > OSCILLATION * level:
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
    if k < n and not facts.early_stopped:
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
    if facts.same_rows and curves.acc is not None and curves.train_level_acc() < 1.0:
        return Diagnosis(
            UNDERFITTING,
            UNDERFITTING,
            f"the loss has flattened with {curves.train_level_acc():.0%} accuracy on the {facts_rows(facts)} rows "
            "it trains on (a local minimum): try another seed, more units, or another learning rate",
        )
    hint = "the curves have flattened and validation does not rise; for better scores try a larger model or more data"
    if val is not None:
        gap = curves.val_level / max(curves.train_level, 1e-12)
        if gap > 2 and curves.val_level - curves.train_level > RISE_RELATIVE * abs(curves.val_level):
            hint = (
                f"the curves have flattened, but validation loss is {gap:.1f}x the training loss: "
                "more data, dropout or L2 could close the gap"
            )
    if facts.same_rows:
        hint = (
            "the curves have flattened; train, validation and test are the same rows here, so this says the "
            "net fits them, not how it would do on new rows"
        )
    kept = curves.kept_note()
    if kept:
        return Diagnosis(GOOD_FIT, GOOD_FIT, f"{kept}; {hint}", curves.kept_epoch)
    return Diagnosis(GOOD_FIT, GOOD_FIT, hint)


class _Curves:
    """The history's columns and the levels the rules compare, at the epoch that was kept."""

    def __init__(
        self, history: Sequence[Mapping[str, Any]], train: np.ndarray, val: np.ndarray | None, facts: Facts
    ) -> None:
        self.history, self.train, self.val, self.facts = history, train, val, facts
        epochs = [_epoch(history, i) for i in range(len(history))]
        self.kept_index: int | None = None
        if facts.kept_epoch is not None and facts.kept_epoch in epochs:
            self.kept_index = epochs.index(facts.kept_epoch)
        self.last_epoch = epochs[-1] if epochs else None
        acc = _series(history, "accuracy")
        val_acc = _series(history, "val_accuracy")
        self.acc = _fill(acc[0]) if acc is not None else None
        self.val_acc = _fill(val_acc[0]) if val_acc is not None else None

    @property
    def kept_epoch(self) -> int | None:
        return _epoch(self.history, self.kept_index) if self.kept_index is not None else None

    def level(self, y: np.ndarray) -> float:
        """The value at the kept epoch, else the median of the last three."""
        if self.kept_index is not None and self.kept_index < len(y) - 1:
            return float(y[self.kept_index])
        return _end(y)

    def train_level_acc(self) -> float:
        return self.level(self.acc) if self.acc is not None else math.nan

    @property
    def train_level(self) -> float:
        return self.level(self.train)

    @property
    def val_level(self) -> float:
        return self.level(self.val) if self.val is not None else math.nan

    def kept_note(self) -> str:
        """ "early stopping kept epoch K (ran to M)" when it restored an earlier epoch's weights."""
        if self.kept_index is None or self.kept_index >= len(self.train) - 1:
            return ""
        return f"early stopping kept the weights of epoch {self.kept_epoch} (training ran to epoch {self.last_epoch})"


def _blown_up(c: _Curves) -> Diagnosis | None:
    if not c.facts.chance:  # classifiers only: their untrained loss is about a constant guess's
        return None
    reference = c.facts.constant_loss.get("train")
    peak = int(np.argmax(c.train))
    if reference is not None and float(c.train[peak]) > BLOWN_UP_PEAK * reference and _stuck(c) is not None:
        acc = c.val_acc if c.val_acc is not None else c.acc
        chance = c.facts.chance.get("validation" if c.val_acc is not None else "train")
        tail = ""
        if acc is not None and chance is not None:
            tail = f" and ends at accuracy {c.level(acc):.2f}, the majority-class rate ({chance.majority_rate:.2f})"
        return Diagnosis(
            DIVERGED,
            f"{DIVERGED}: the loss blew up",
            f"the training loss peaked at {float(c.train[peak]):.3g} in epoch {_epoch(c.history, peak)}, "
            f"{float(c.train[peak]) / reference:.3g}x that of a constant guess ({reference:.3g}){tail}: the net "
            "collapsed to one answer; lower optimizer.learning_rate (try 10x smaller) or standardize the inputs",
            _epoch(c.history, peak),
        )
    for split, y, name in (("validation", c.val, "validation"), ("train", c.train, "training")):
        reference = c.facts.constant_loss.get(split)
        if y is None or reference is None:
            continue
        level = float(y[c.kept_index if c.kept_index is not None else -1])
        if level > BLOWN_UP * reference:
            acc = c.val_acc if split == "validation" else c.acc
            chance = c.facts.chance.get(split)
            tail = ""
            if acc is not None and chance is not None:
                tail = f", accuracy {c.level(acc):.2f} (the majority class is {chance.majority_rate:.2f})"
            peak = int(np.argmax(c.train))
            return Diagnosis(
                DIVERGED,
                f"{DIVERGED}: the loss blew up",
                f"the {name} loss of the kept weights is {level:.3g}, {level / reference:.3g}x that of a constant guess "
                f"({reference:.3g}){tail}; the training loss peaked at {float(c.train[peak]):.3g} in epoch "
                f"{_epoch(c.history, peak)}: lower optimizer.learning_rate (try 10x smaller) or standardize the inputs",
                _epoch(c.history, peak),
            )
    return None


def _perfect(c: _Curves) -> Diagnosis | None:
    if c.acc is None or c.train_level_acc() < 1.0:
        return None
    if c.val_acc is not None and c.level(c.val_acc) < 1.0:
        return None
    reference = c.facts.constant_loss.get("train") or abs(float(c.train[0]))
    if c.train_level > PERFECT_LOSS * reference:
        return None
    rows = "these rows" if c.facts.same_rows else "the training rows"
    hint = f"100 % accuracy and a loss near zero ({c.train_level:.3g}): nothing is left to learn on {rows}"
    if c.facts.same_rows:
        hint += " (they are also the validation and test rows: this shows the net can represent the function)"
    kept = c.kept_note()
    return Diagnosis(GOOD_FIT, GOOD_FIT, f"{kept}; {hint}" if kept else hint, c.kept_epoch)


def _stuck(c: _Curves) -> Diagnosis | None:
    checks = [(c.val_acc, "validation"), (c.acc, "train")]
    judged = [(acc, c.facts.chance[split]) for acc, split in checks if acc is not None and split in c.facts.chance]
    if not judged or any(ch.majority_rate >= 1 for _, ch in judged):
        return None
    if any(c.level(acc) >= ch.majority_rate + ch.margin for acc, ch in judged):
        return None
    if _still_falling(c.train):  # slowly learning, not stuck: the underfitting rules say so
        return None
    acc, chance = judged[0]
    which = "validation" if acc is c.val_acc else "training"
    return Diagnosis(
        STUCK,
        STUCK,
        f"{which} accuracy {c.level(acc):.2f} is within noise of always answering the majority class "
        f"({chance.majority_rate:.2f} of {chance.n} rows): the net has learned nothing yet; try another seed, "
        "more units, or another learning rate",
    )


def _still_falling(train: np.ndarray) -> bool:
    """Over the last fifth (at least 3 epochs) the smoothed training loss fell beyond noise and by over 1 %."""
    n = len(train)
    k = max(3, math.ceil(TAIL_FRACTION * n))
    if k >= n:
        return False
    smooth = running_median(train, 3)
    drop = float(smooth[-k] - smooth[-1])
    return drop > max(RISE_NOISE * noise(train), TRAIN_FALL_RELATIVE * abs(float(smooth[-1])))


def _kept_by_early_stopping(found: Diagnosis, c: _Curves) -> Diagnosis | None:
    """An overfitting run whose early stopping kept weights from before validation rose."""
    kept = c.kept_epoch
    if kept is None or found.epoch is None or c.kept_index is None or c.kept_index >= len(c.train) - 1:
        return None
    if kept > found.epoch + EARLY_STOP_SLACK:
        return None
    return Diagnosis(
        GOOD_FIT,
        GOOD_FIT,
        f"{c.kept_note()}: validation loss rose after epoch {found.epoch}, and the model kept is the one "
        "from before it did",
        kept,
    )


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
