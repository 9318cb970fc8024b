"""Runs -> the comparison table: which runs, in what order, with which columns.

Columns are keys that `nnrun.compare.keys.lookup` understands, so a column header is also
what `--sort`, `--filter` and `--columns` take. The config keys shown are the ones whose
values differ between the listed runs (over the flattened configs), found automatically.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nnrun.compare.filters import Filter
from nnrun.compare.keys import COMPUTED_KEYS, getter, is_result, lookup
from nnrun.errors import NnrunError
from nnrun.inspect.verdicts import of_run
from nnrun.runs.layout import RUN_STATUSES
from nnrun.runs.reader import RunInfo

#: Test metrics, in the order shown; others follow in the order first seen.
TEST_ORDER = ("loss", "accuracy", "precision", "recall", "f1", "roc_auc", "mse", "mae", "r2")
#: Test entries that are not one number.
NOT_SCALAR = ("confusion_matrix", "class_names", "threshold")
#: Words in a key that make larger values better (sorted descending).
HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "f1", "r2")
#: Keys sorted newest/largest first that are not metrics.
DESCENDING = ("started",)
#: Config keys never shown as differing: they have a column of their own.
NOT_DIFFERING = ("name",)


def higher_is_better(key: str) -> bool:
    last = key.rsplit(".", 1)[-1].lower()
    return any(word in last for word in HIGHER_IS_BETTER)


def sort_descending(key: str) -> bool:
    """The direction `--sort KEY` uses: best first for metrics, newest first for time."""
    return higher_is_better(key) or key in DESCENDING


def differing_keys(runs: Sequence[RunInfo]) -> list[str]:
    """Flattened config keys whose values are not the same in every run, in config order."""
    if len(runs) < 2:
        return []
    order: dict[str, None] = {}
    for run in runs:
        for key in run.flat_config:
            order.setdefault(key, None)
    first = runs[0].flat_config
    out = []
    for key in order:
        if key in NOT_DIFFERING:
            continue
        value = first.get(key, _MISSING)
        if any(run.flat_config.get(key, _MISSING) != value for run in runs[1:]):
            out.append(key)
    return out


_MISSING = object()


def rank_differing(runs: Sequence[RunInfo], keys: Sequence[str]) -> list[str]:
    """Differing keys, most telling first: those that vary between runs of the same name
    (what an experiment's runs tried) before those that only tell experiments apart, and
    keys with different values before keys that are merely absent from some runs."""
    groups: dict[str, list[RunInfo]] = {}
    for run in runs:
        groups.setdefault(run.name, []).append(run)
    within = set()
    for group in groups.values():
        if len(group) > 1:
            within.update(differing_keys(group))

    def values_differ(key: str) -> bool:
        # beta_1 is there for adam and not for sgd: that is optimizer.name's doing
        seen = {repr(run.flat_config[key]) for run in runs if key in run.flat_config}
        return len(seen) > 1

    def tier(key: str) -> int:
        return (0 if key in within else 2) + (0 if values_differ(key) else 1)

    return sorted(keys, key=tier)  # stable: config order within a tier


def test_keys(runs: Iterable[RunInfo]) -> list[str]:
    seen: dict[str, None] = {}
    for run in runs:
        for k, v in run.test.items():
            if k not in NOT_SCALAR and not isinstance(v, dict | list):
                seen.setdefault(k, None)
    ordered = [k for k in TEST_ORDER if k in seen] + [k for k in seen if k not in TEST_ORDER]
    return [f"test.{k}" for k in ordered]


def val_keys(runs: Iterable[RunInfo]) -> list[str]:
    """The validation metrics other than the loss at the kept epoch (`val_accuracy`, ...)."""
    seen: dict[str, None] = {}
    for run in runs:
        for k, v in (run.kept or run.final).items():
            if k.startswith("val_") and k != "val_loss" and isinstance(v, int | float):
                seen.setdefault(k, None)
    return list(seen)


def known_keys(runs: Iterable[RunInfo]) -> list[str]:
    """Every key some run has a value for (for checking user input and suggestions)."""
    keys: dict[str, None] = dict.fromkeys(COMPUTED_KEYS)
    for run in runs:
        keys.update(dict.fromkeys(run.flat_config))
        keys.update((f"test.{k}", None) for k in run.test)
        keys.update((f"final.{k}", None) for k in run.metrics.get("final") or {})
        keys.update(dict.fromkeys(val_keys([run])))
        keys.update((k, None) for k, v in run.record.items() if not isinstance(v, dict | list))
    return list(keys)


def check_keys(keys: Iterable[str], runs: Sequence[RunInfo], option: str) -> None:
    """NnrunError for a key no run knows (a typo), with the nearest known keys."""
    keys = list(keys)
    if not runs or not keys:
        return
    known = known_keys(runs)
    known_set = set(known)
    for key in keys:
        base = key.removeprefix("config.")
        if key in known_set or base in known_set:
            continue
        close = suggest(key, known)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise NnrunError(
            f"{option}: no run has the key {key!r}{hint} (keys: config keys such as optimizer.learning_rate, "
            "test.<metric>, final.<column>, val_<metric>, run, name, status, started, epochs, params, kept_epoch, "
            "val_loss, best_val_loss, train_seconds, duration, diagnosis)"
        )


def suggest(key: str, known: Sequence[str]) -> list[str]:
    """Up to three known keys the user may have meant: same head with a matching start, then look-alikes."""
    head, _, last = key.rpartition(".")
    prefixed = [k for k in known if k.rpartition(".")[0] == head and last and k.rpartition(".")[2].startswith(last)]
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
    return list(dict.fromkeys(prefixed + close))[:3]


def select(
    runs: Sequence[RunInfo],
    *,
    statuses: Sequence[str] = (),
    filters: Sequence[Filter] = (),
    last: int | None = None,
    sort: str | None = None,
    reverse: bool = False,
) -> list[RunInfo]:
    """Keep the runs asked for and order them (by start time unless `sort` is given)."""
    for status in statuses:
        if status not in RUN_STATUSES:
            names = [str(s) for s in RUN_STATUSES]
            close = difflib.get_close_matches(status, names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise NnrunError(f"--status: unknown status {status!r}{hint}; expected one of {', '.join(names)}")
    check_keys([k for f in filters for k in f.keys], runs, "--filter")
    if sort:
        check_keys([sort], runs, "--sort")
    chosen = [r for r in runs if not statuses or r.status in statuses]
    chosen = [r for r in chosen if all(f.matches(getter(r)) for f in filters)]
    chosen.sort(key=lambda r: (r.record.get("started") or "", str(r.dir)))
    if last is not None:
        if last < 1:
            raise NnrunError(f"--last expects a positive number. Received: --last {last}")
        chosen = chosen[-last:]
    if sort:
        chosen = sort_runs(chosen, sort, reverse)
    elif reverse:
        chosen.reverse()
    return chosen


def sort_runs(runs: Sequence[RunInfo], key: str, reverse: bool = False) -> list[RunInfo]:
    """Best first (descending for accuracy-like keys, ascending for losses); missing last.

    By a result (`keys.is_result`), runs that diverged (`RunInfo.blew_up`: NaN/inf, or a loss
    that exploded while staying finite) come after every run that did not, even when early
    stopping kept the weights of an epoch before the blow-up and those score well: a run that
    blew up is not the setting to recommend (a sweep never picks such a point either,
    `nnrun.sweep.summary`). `reverse` reverses the whole order."""
    descending = sort_descending(key) != reverse
    present, missing = [], []
    for run in runs:
        v = lookup(run, key)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            missing.append(run)
        else:
            present.append((run, v))
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for _, v in present)
    present.sort(key=lambda rv: rv[1] if numbers else str(rv[1]), reverse=descending)
    ranked = [r for r, _ in present]
    if is_result(key):  # stable: each part keeps its order
        ranked = sorted(ranked, key=lambda r: r.blew_up != reverse)
    return ranked + missing


@dataclass
class Table:
    """The rows to show: one dict per run, keyed by column."""

    columns: list[str]
    rows: list[dict[str, Any]]
    runs: list[RunInfo]
    differing: list[str] = field(default_factory=list)
    hidden_differing: list[str] = field(default_factory=list)
    #: Display headers where they differ from the keys (a table fitted to a terminal).
    headers: dict[str, str] = field(default_factory=dict)
    #: Columns left out to fit a width, other than differing config keys.
    hidden: list[str] = field(default_factory=list)

    def header(self, column: str) -> str:
        return self.headers.get(column, column)


def default_columns(runs: Sequence[RunInfo], differing: list[str]) -> list[str]:
    return [
        "run",
        "name",
        "started",
        "status",
        *differing,
        *(["selected_on_test"] if any(r.selected_on_test for r in runs) else []),
        "epochs",
        "kept_epoch",
        "val_loss",
        *val_keys(runs),
        "best_val_loss",
        *test_keys(runs),
        "params",
        "train_seconds",
        "duration",
        "diagnosis",
        *(["internals"] if any(of_run(run) is not None for run in runs) else []),
    ]


def build_table(
    runs: Sequence[RunInfo], columns: Sequence[str] | None = None, max_differing: int | None = None
) -> Table:
    """The table for `runs`: the given columns, or the default ones with the differing keys.

    Args:
        max_differing: show at most this many differing config keys (the rest are listed in
            `hidden_differing`); None shows all.
    """
    differing = differing_keys(runs)
    hidden: list[str] = []
    if columns:
        check_keys(columns, runs, "--columns")
        cols = list(columns)
    else:
        shown = differing
        if max_differing is not None and len(differing) > max_differing:
            ranked = rank_differing(runs, differing)
            keep = set(ranked[:max_differing])
            shown = [k for k in differing if k in keep]
            hidden = [k for k in differing if k not in keep]
        cols = default_columns(runs, shown)
    rows = [{c: _value(run, c) for c in cols} for run in runs]
    return Table(cols, rows, list(runs), differing, hidden)


def _value(run: RunInfo, key: str) -> Any:
    value = lookup(run, key)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
