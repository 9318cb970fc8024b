"""compare's key language: the value of a key such as `optimizer.learning_rate`,
`test.accuracy`, `val_accuracy` (at the kept epoch), `final.val_loss` or `status` for one run. Table columns, `--where`
filters, `--sort` and plot labels all use it, so a column header is also a valid filter key.
"""

from __future__ import annotations

import math
from typing import Any

from nnrun.runs.reader import RunInfo

#: Keys `lookup` answers besides config keys, `test.*`, `final.*` and run.json fields.
COMPUTED_KEYS = (
    "run",
    "name",
    "status",
    "started",
    "epochs",
    "params",
    "val_loss",
    "kept_epoch",
    "selected_on_test",
    "best_val_loss",
    "best_epoch",
    "train_seconds",
    "duration",
    "diagnosis",
    "verdict",
    "internals",
    "dir",
)


def lookup(run: RunInfo, key: str) -> Any:
    """The value of `key` for a run, or None: a config key (dotted, or `config.<key>`),
    `test.<metric>`, `final.<column>`, one of `COMPUTED_KEYS`, or a run.json field."""
    if key == "run":
        return run.id
    if key == "name":
        return run.name
    if key == "status":
        return str(run.status)
    if key == "started":
        return run.run_json.started
    if key == "epochs":
        return run.epochs
    if key == "params":
        return run.run_json.params
    if key.startswith("val_") and "." not in key:  # at the kept epoch: the weights the model holds
        return _num((run.kept or run.final).get(key))
    if key == "kept_epoch":
        return run.kept_epoch
    if key == "selected_on_test":
        return "yes (optimistic test)" if run.selected_on_test else ""
    if key == "best_val_loss":
        return run.best_val_loss[1]
    if key == "best_epoch":
        return run.best_val_loss[0]
    if key == "train_seconds":
        return run.train_seconds
    if key == "duration":
        return run.duration
    if key in ("diagnosis", "verdict"):
        d = run.diagnosis
        return d.get("label" if key == "diagnosis" else "verdict") if d else None
    if key == "internals":
        from nnrun.inspect.verdicts import of_run, summary

        found = of_run(run)
        return summary(found) if found is not None else None
    if key == "dir":
        return str(run.dir)
    head, _, rest = key.partition(".")
    if head == "test" and rest:
        return _num(run.test.get(rest))
    if head == "final" and rest:
        return _num(run.final.get(rest))
    if head == "config" and rest:
        return run.flat_config.get(rest)
    flat = run.flat_config
    if key in flat:
        return flat[key]
    value = run.record.get(key)
    if value is not None and not isinstance(value, dict | list):
        return str(value) if isinstance(value, str) else value
    return None


def is_result(key: str) -> bool:
    """A key that measures how well a run learned (`val_*`, `test.*`, `final.*`, `best_val_loss`):
    what `--sort` ranks runs by as better or worse."""
    return (key.startswith("val_") and "." not in key) or key.startswith(("test.", "final.")) or key == "best_val_loss"


def getter(run: RunInfo) -> Any:
    """`lookup` for one run, as the one-argument function filters take."""
    return lambda key: lookup(run, key)


def _num(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v
