"""How a sweep picks its best point: by a stated criterion, never by the best value a run
happened to reach at some epoch.

A criterion is a history column and a direction (`sweep.select: {metric: val_accuracy, mode:
max}` in the YAML, `--select val_accuracy:max` on the command line). Each run is scored by
that column at its *kept* epoch (the epoch whose weights its model holds: the one early
stopping restored, else the last), a point by the mean over its seeds. Points within one
standard error of the best mean are tied (the one-standard-error rule; for an accuracy the
binomial error on the validation rows, so one row of a small split is not a reason): a tie
goes to the point whose runs all got the verdict `good fit` (a run whose loss jumps around is
not preferred for a lucky epoch), then to the lower validation loss. The default is the task's headline validation metric: `val_accuracy` (max)
for classifiers, `val_loss` (min) otherwise; when the points' losses differ (a grid over
`loss`), loss values are in different units, so the default is a metric every point shares
(`val_mae`, then `val_mse`: a run trained *with* that loss has it as `val_loss`) and a
criterion over `loss`/`val_loss` is refused.

Pure Python: the summary and the CLI use it without TensorFlow.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from nnrun.compare.table import higher_is_better
from nnrun.errors import NnrunError
from nnrun.runs.reader import RunInfo

Mode = Literal["min", "max"]
#: Metrics a regression grid over `loss` can share, in order of preference.
SHARED_REGRESSION = ("mae", "mse")
LOSS_KEYS = ("loss", "loss.name")


def auto_mode(metric: str) -> Mode:
    """Which way `metric` is better (`compare.table.higher_is_better`: accuracies, AUC, ... up)."""
    return "max" if higher_is_better(metric) else "min"


@dataclass(frozen=True)
class Criterion:
    """What the best point is chosen by, and why that and not something else."""

    metric: str
    mode: Mode
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "mode": self.mode, "reason": self.reason}

    def text(self) -> str:
        word = "highest" if self.mode == "max" else "lowest"
        return f"the {word} mean {self.metric} at each run's kept epoch ({self.reason})"


def parse_cli(text: str) -> dict[str, Any]:
    """`--select val_accuracy` or `--select val_mae:min` -> {metric, mode}."""
    metric, _, mode = text.strip().partition(":")
    if not metric:
        raise NnrunError(f"--select: expected METRIC or METRIC:min|max (e.g. val_accuracy:max). Received: {text!r}")
    if mode and mode not in ("min", "max"):
        raise NnrunError(f"--select: the mode after ':' must be min or max. Received: {mode!r}")
    return {"metric": metric, **({"mode": mode} if mode else {})}


def from_config(section: Any, cli: str | None) -> dict[str, Any] | None:
    """The requested criterion ({metric, mode}) from --select or the config's `sweep.select`."""
    if cli is not None:
        return parse_cli(cli)
    chosen = section.get("select") if isinstance(section, dict) else None
    if chosen is None:
        return None
    if isinstance(chosen, str):
        return parse_cli(chosen)
    if not isinstance(chosen, dict) or not isinstance(chosen.get("metric"), str) or set(chosen) - {"metric", "mode"}:
        raise NnrunError(f"sweep.select: expected {{metric: <history column>, mode: min|max}}. Received: {chosen!r}")
    if chosen.get("mode") not in (None, "min", "max"):
        raise NnrunError(f"sweep.select.mode: expected min or max. Received: {chosen['mode']!r}")
    return dict(chosen)


def _loss_name(loss: Any) -> str | None:
    if isinstance(loss, dict):
        loss = loss.get("name")
    return loss if isinstance(loss, str) else None


def check(requested: Mapping[str, Any] | None, grid: Mapping[str, Sequence[Any]], columns: Sequence[str]) -> None:
    """Refuse, before anything trains, a criterion the points cannot be ranked by.

    Args:
        requested: {metric, mode} or None.
        grid: the sweep's grid.
        columns: the history columns the base config's runs record (loss, metrics, their val_).
    """
    if requested is None:
        return
    metric = str(requested["metric"])
    losses = {_loss_name(v) for k in LOSS_KEYS for v in grid.get(k, [])} - {None}
    if metric in ("loss", "val_loss") and len(losses) > 1:
        raise NnrunError(
            f"sweep.select: {metric} cannot rank a grid over loss ({', '.join(sorted(losses))}): loss values "
            "are in different units; choose a metric every point records, e.g. val_mae or val_accuracy"
        )
    known = set(columns) | {p + name for name in losses for p in ("", "val_")}
    if metric not in known:
        from difflib import get_close_matches

        close = get_close_matches(metric, sorted(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise NnrunError(
            f"sweep.select.metric: {metric!r} is not a history column of these runs{hint} "
            f"(expected one of: {', '.join(sorted(known))})"
        )


def value(run: RunInfo, metric: str) -> float | None:
    """`metric` at the run's kept epoch (see `column`)."""
    return column(run, run.kept or run.final, metric)


def column(run: RunInfo, row: Mapping[str, Any], metric: str) -> float | None:
    """`metric` in one history row of `run`; `val_<name>` of a run trained with loss <name> is
    its val_loss. None when missing or not finite."""
    v = row.get(metric)
    if v is None:
        prefix = "val_" if metric.startswith("val_") else ""
        if _loss_name(run.config.get("loss")) == metric[len(prefix) :]:
            v = row.get(f"{prefix}loss")
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def criterion(requested: Mapping[str, Any] | None, runs: Sequence[RunInfo]) -> Criterion:
    """The criterion to rank these runs by: the requested one, else the default (module doc)."""
    losses = {_loss_name(r.config.get("loss")) for r in runs} - {None}
    if requested is not None:
        metric = str(requested["metric"])
        if not (metric in ("loss", "val_loss") and len(losses) > 1):
            return Criterion(metric, requested.get("mode") or auto_mode(metric), "as sweep.select asks")
    classify = any(value(r, "val_accuracy") is not None for r in runs)
    if classify:
        return Criterion("val_accuracy", "max", "the headline validation metric of a classifier")
    if len(losses) > 1:
        for name in SHARED_REGRESSION:
            metric = f"val_{name}"
            if runs and all(value(r, metric) is not None for r in runs):
                return Criterion(
                    metric,
                    "min",
                    f"a metric every point shares: their losses ({', '.join(sorted(losses))}) are in different units",
                )
    return Criterion("val_loss", "min", "the headline validation metric")


@dataclass(frozen=True)
class Score:
    """A point's score: the mean (and spread) over its runs, and the tie-breaker."""

    mean: float
    std: float | None
    low: float
    high: float
    val_loss: float
    healthy: bool = True
    #: the standard error of `mean`: binomial for an accuracy on n validation rows, else the
    #: spread over seeds / sqrt(seeds); 0 when unknown (one seed of a non-accuracy metric)
    se: float = 0.0


def score(runs: Sequence[RunInfo], crit: Criterion) -> Score | None:
    """None when a run lacks the metric (the point cannot be ranked)."""
    values = [value(r, crit.metric) for r in runs]
    if not values or any(v is None for v in values):
        return None
    vals = [v for v in values if v is not None]
    losses = [v for v in (value(r, "val_loss") for r in runs) if v is not None]
    mean = statistics.fmean(vals)
    std = statistics.stdev(vals) if len(vals) > 1 else None
    return Score(
        mean,
        std,
        min(vals),
        max(vals),
        statistics.fmean(losses) if losses else math.inf,
        all((r.diagnosis or {}).get("verdict") == "good fit" for r in runs),
        _standard_error(runs, crit.metric, mean, std),
    )


def _standard_error(runs: Sequence[RunInfo], metric: str, mean: float, std: float | None) -> float:
    if "acc" in metric:
        rows = 0
        for r in runs:
            split = r.record.get("split")
            n = split.get("validation") if isinstance(split, dict) else None
            rows += n if isinstance(n, int) and n > 0 else 0
        if rows:
            p = min(max(mean, 0.5 / rows), 1 - 0.5 / rows)  # never 0 at 100 %: one row more or less
            return math.sqrt(p * (1 - p) / rows)
    return std / math.sqrt(len(runs)) if std is not None else 0.0


def best(scores: Mapping[int, Score], crit: Criterion) -> int | None:
    """The key of the best point: among the points within one standard error of the best
    mean (the "one-standard-error rule": a difference smaller than that is noise, e.g. one
    row of a 114-row validation split), a good fit first, then the lower validation loss, then
    the better mean, then the first."""
    if not scores:
        return None
    sign = -1.0 if crit.mode == "max" else 1.0
    top = min(scores, key=lambda k: (sign * scores[k].mean, k))
    edge = scores[top].mean + sign * scores[top].se
    tied = [k for k in scores if sign * scores[k].mean <= sign * edge + 1e-12]
    return min(tied, key=lambda k: (not scores[k].healthy, scores[k].val_loss, sign * scores[k].mean, k))
