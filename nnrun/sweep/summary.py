"""The sweep's summary: summary.csv, summary.md, curves.png, lr_vs_metric.png, and the best point.

Reads only the point folders (through `nnrun.runs.reader`) and sweep.json, so it works on
any sweep folder, finished or not. One row per grid point; with several seeds, each number
is the mean over the point's completed runs, with its standard deviation (ddof=1) beside it.

The best point is chosen by a stated criterion (`nnrun.sweep.select`): by default the task's
headline validation metric at the epoch whose weights each run kept, averaged over seeds,
among points whose runs all completed (diverged, failed or unfinished runs disqualify a
point: a run that diverged is not a candidate even when early stopping kept the weights of a
good epoch from before it blew up, and summary.md says so). The summary says which criterion and why; curves.png draws that metric per epoch
(the mean over seeds, with a min-max band).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnrun.plots import arrange, epoch_axis, log_axis, pyplot, save_png
from nnrun.runs.files import atomic_write_text, write_csv_rows
from nnrun.runs.layout import Status, SweepFolder
from nnrun.runs.reader import RunInfo, RunUnreadable, read_run
from nnrun.runs.records import SweepPoint
from nnrun.sweep import select
from nnrun.sweep.expand import LR_KEY, format_value
from nnrun.sweep.record import SweepRecord

#: Test metrics that are settings or arrays, not results.
_NOT_METRICS = {"threshold", "confusion_matrix", "class_names"}


@dataclass
class Group:
    """One grid point: its values and the runs (one per seed) that belong to it."""

    number: int
    values: dict[str, Any]
    label: str
    points: list[SweepPoint] = field(default_factory=list)
    runs: list[RunInfo] = field(default_factory=list)
    #: Each point's status as compare and show say it: its run's, else sweep.json's.
    statuses: list[str] = field(default_factory=list)

    @property
    def completed(self) -> list[RunInfo]:
        return [r for r in self.runs if r.status == Status.COMPLETED]

    @property
    def all_completed(self) -> bool:
        return (
            bool(self.points)
            and all(p.status == Status.COMPLETED for p in self.points)
            and (len(self.completed) == len(self.points))
        )

    @property
    def shown(self) -> list[RunInfo]:
        """The runs whose figures the row shows: the completed ones, else the interrupted runs
        that trained some epochs (their curves are real; the status column says they stopped)."""
        return self.completed or [r for r in self.runs if r.status == Status.INTERRUPTED and r.history()]

    def status(self) -> str:
        counts = Counter(self.statuses or [str(p.status) for p in self.points])
        if len(counts) == 1:
            (status,) = counts
            return status if len(self.points) == 1 else f"{len(self.points)}/{len(self.points)} {status}"
        return ", ".join(f"{n} {s}" for s, n in counts.most_common())


@dataclass
class Summary:
    groups: list[Group]
    varied: list[str]
    columns: list[str]
    rows: list[dict[str, Any]]
    best: dict[str, Any] | None
    markdown: str
    files: list[Path]
    #: (header, cells) per column of the summary table.
    table: list[tuple[str, list[str]]] = field(default_factory=list)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _stats(values: list[float | None]) -> tuple[float | None, float | None]:
    vals = [v for v in values if v is not None]
    if not vals:
        return None, None
    mean = statistics.fmean(vals)
    std = statistics.stdev(vals) if len(vals) > 1 else None
    return (int(mean) if mean.is_integer() and all(float(v).is_integer() for v in vals) else mean), std


def _fmt(mean: float | None, std: float | None, seeds: int) -> str:
    if mean is None:
        return "—"
    text = f"{mean:.4g}"
    if seeds > 1:
        text += f" ± {std:.2g}" if std is not None else " ± —"
    return text


def groups_of(record: SweepRecord) -> list[Group]:
    by_label: dict[str, Group] = {}
    for index, point in enumerate(record.points):
        label = point.label or ""
        group = by_label.get(label)
        if group is None:
            group = by_label[label] = Group(len(by_label), dict(point.values or {}), label)
        group.points.append(point)
        group.statuses.append(str(point.status))
        run_dir = record.run_dir(index)
        if run_dir is None or point.status in (Status.PENDING, Status.SKIPPED):
            continue
        try:
            run = read_run(run_dir, sweep=record.dir)
        except RunUnreadable:
            continue
        group.runs.append(run)
        group.statuses[-1] = str(run.status)
    return list(by_label.values())


def _metric_names(groups: list[Group]) -> list[str]:
    names: list[str] = []
    for g in groups:
        for run in g.completed:
            for k, v in run.test.items():
                if k not in _NOT_METRICS and _num(v) is not None and k not in names:
                    names.append(k)
    return names


def _fit(runs: list[RunInfo]) -> str:
    labels = Counter((run.diagnosis or {}).get("label") or "—" for run in runs)
    if not labels:
        return "—"
    if len(labels) == 1:
        (label,) = labels
        return label
    return ", ".join(f"{label} ×{n}" for label, n in labels.most_common())


def build(record: SweepRecord) -> tuple[list[Group], list[str], list[dict[str, Any]], dict[str, Any] | None]:
    """Groups, varied keys, one row of numbers per group, and the best group."""
    groups = groups_of(record)
    seeds = record.json.seeds or 1
    varied = list(record.json.grid or {})
    metrics = _metric_names(groups)
    crit = select.criterion(record.json.select, [r for g in groups for r in g.completed])
    record.json.set(selection=crit.as_dict())
    rows = []
    for g in groups:
        done = g.shown
        row: dict[str, Any] = {"point": g.number, **{k: g.values.get(k) for k in varied}}
        row["status"] = g.status()
        row["runs_completed"] = len(g.completed)
        numbers = {
            "kept_epoch": [_num(r.kept_epoch) for r in done],
            **(
                {f"kept_{crit.metric}": [select.value(r, crit.metric) for r in done]}
                if crit.metric != "val_loss"
                else {}
            ),
            "kept_val_loss": [select.value(r, "val_loss") for r in done],
            "final_val_loss": [_num(r.final.get("val_loss")) for r in done],
            "best_val_loss": [r.best_val_loss[1] for r in done],
            **{f"test_{m}": [_num(r.test.get(m)) for r in done] for m in metrics},
            "epochs": [_num(r.epochs) for r in done],
            "train_seconds": [r.train_seconds for r in done],
        }
        for name, values in numbers.items():
            mean, std = _stats(values)
            row[name] = mean
            if seeds > 1:
                row[f"{name}_std"] = std
        row["fit"] = _fit([r for r in g.runs if r.status in (Status.COMPLETED, Status.DIVERGED, Status.INTERRUPTED)])
        row["folders"] = " ".join(r.dir.name for r in g.runs)
        rows.append(row)
    return groups, varied, rows, _best(groups, crit)


def _best(groups: list[Group], crit: select.Criterion) -> dict[str, Any] | None:
    scores = {}
    for g in groups:
        # a point whose loss exploded (finite) completed, but blew up all the same: not a candidate
        if g.all_completed and not any(r.blew_up for r in g.runs):
            found = select.score(g.completed, crit)
            if found is not None:
                scores[g.number] = found
    chosen = select.best(scores, crit)
    if chosen is None:
        return None
    g = next(g for g in groups if g.number == chosen)
    sc = scores[chosen]
    return {
        "point": g.number,
        "values": g.values,
        "label": g.label,
        "metric": crit.metric,
        "mode": crit.mode,
        "value": sc.mean,
        "std": sc.std,
        "criterion": crit.text(),
        "selected_on_test": any(_on_test(r) for r in g.runs),
        "same_rows": any(_same_rows(r) for r in g.runs),
        "run_dirs": [r_.dir.name for r_ in g.runs],
    }


def _same_rows(run: RunInfo) -> bool:
    split = run.record.get("split")
    return isinstance(split, dict) and split.get("same_rows") is True


def _on_test(run: RunInfo) -> bool:
    """The run's validation split is its test split (`data.validation: test`), so choosing on it chooses on test."""
    split = run.record.get("split")
    if isinstance(split, dict) and isinstance(split.get("validation_is_test"), bool):
        return split["validation_is_test"]
    data = run.config.get("data") if isinstance(run.config, dict) else None
    return isinstance(data, dict) and data.get("validation", "test") == "test"


def _table(
    record: SweepRecord, varied: list[str], rows: list[dict[str, Any]], best: dict[str, Any] | None
) -> list[tuple[str, list[str]]]:
    """The summary table as (header, cells) columns, in the order summary.md shows them."""
    seeds = record.json.seeds or 1
    metrics = [k for k in rows[0] if k.startswith("test_") and not k.endswith("_std")] if rows else []
    crit = record.json.selection or {}
    ranked = f"kept_{crit.get('metric')}" if crit.get("metric") not in (None, "val_loss") else None

    def cells(name: str, spread: int = seeds) -> list[str]:
        return [_fmt(row.get(name), row.get(f"{name}_std"), spread) for row in rows]

    best_point = best["point"] if best is not None else None
    return [
        ("#", [f"{row['point']}{' **(best)**' if row['point'] == best_point else ''}" for row in rows]),
        *[(k, [format_value(row.get(k)) for row in rows]) for k in varied],
        ("status", [str(row["status"]) for row in rows]),
        ("kept epoch", cells("kept_epoch", 1)),
        *([(f"{crit['metric']} (kept)", cells(ranked))] if ranked else []),
        ("val_loss (kept)", cells("kept_val_loss")),
        ("lowest val_loss", cells("best_val_loss")),
        *[(m.replace("_", " ", 1), cells(m)) for m in metrics],
        ("epochs", cells("epochs", 1)),
        ("fit", [str(row["fit"]) for row in rows]),
        ("seconds", cells("train_seconds", 1)),
    ]


def terminal_table(summary: Summary, width: int) -> str:
    """The summary table in `width` characters: the point, the swept keys, the ranked metric,
    the headline test metric and the fit first; other columns while they fit. Columns with
    one value for every point, and test figures equal to the validation ones, are left out."""
    columns = dict(summary.table)
    columns["#"] = [c.replace(" **(best)**", " *") for c in columns["#"]]
    from nnrun.compare.fit import fold, short_headers

    headers = {c: c for c in columns} | short_headers(summary.varied)
    seen: list[list[str]] = []
    drop = set()
    for name, values in columns.items():
        constant = name in ("status", "kept epoch", "epochs") and len(set(values)) == 1 and len(values) > 1
        if name not in summary.varied and name not in ("#", "fit") and (constant or values in seen):
            drop.add(name)
        seen.append(values)
    ranked = [c for c in columns if c.endswith("(kept)")]
    tests = [c for c in columns if c.startswith("test ")]
    headline = [c for c in tests if c in ("test accuracy", "test r2")] or tests[:1]
    priority = ["#", *summary.varied, *ranked[:1], "fit", *headline, "status", *ranked[1:], *columns]
    chosen: list[str] = []
    used = 0
    heads = {c: fold(headers[c], max(len(v) for v in columns[c]) if columns[c] else 1) for c in columns}

    def width_of(c: str) -> int:
        return max(*(len(x) for x in heads[c].split("\n")), *(len(v) for v in columns[c]))

    for c in dict.fromkeys(priority):
        if c in drop:
            continue
        w = width_of(c) + (2 if chosen else 0)
        if c in ("#", "fit", *summary.varied) or used + w <= width:
            chosen.append(c)
            used += w
    order = [c for c in columns if c in chosen]
    widths = {c: width_of(c) for c in order}
    depth = max(len(heads[c].split("\n")) for c in order)

    def line(values: dict[str, str], left: bool = False) -> str:
        return "  ".join(
            values[c].ljust(widths[c]) if c in ("fit", "status") or left else values[c].rjust(widths[c]) for c in order
        ).rstrip()

    out = []
    for k in range(depth):
        parts = {c: ([""] * (depth - len(heads[c].split("\n"))) + heads[c].split("\n"))[k] for c in order}
        out.append(line(parts))
    out.append("  ".join("-" * widths[c] for c in order))
    for i in range(len(summary.rows)):
        out.append(line({c: columns[c][i] for c in order}))
    return "\n".join(out) + "\n"


def _markdown(
    record: SweepRecord, table: list[tuple[str, list[str]]], rows: list[dict[str, Any]], best: dict[str, Any] | None
) -> str:
    seeds = record.json.seeds or 1
    crit = record.json.selection or {}
    head = [h for h, _ in table]
    lines = [
        f"# Sweep {record.json.id} ({record.json.name})",
        "",
        f"{len(rows)} points x {seeds} seed{'s' if seeds != 1 else ''}"
        + (" (mean ± std over the completed seeds)" if seeds > 1 else "")
        + f"; status: {record.json.status}.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" for _ in head) + "|",
    ]
    for i in range(len(rows)):
        lines.append("| " + " | ".join(c[i].replace("|", "\\|") for _, c in table) + " |")
    lines.append("")
    if best is not None:
        spread = f" ± {best['std']:.2g}" if best.get("std") is not None else ""
        lines.append(
            f"Best point: **{best['point']}** ({best['label']}): mean {best['metric']} {best['value']:.4g}{spread}."
        )
    else:
        lines.append("No best point: no grid point has all its runs completed without diverging.")
    if crit:
        word = "highest" if crit.get("mode") == "max" else "lowest"
        lines.append(
            f"Chosen by the {word} mean {crit.get('metric')} at each run's kept epoch (the epoch whose weights it "
            f"kept), {crit.get('reason')}. Points within one standard error of the best are tied (for an "
            "accuracy, the binomial error on the validation rows): a tie goes to a point whose runs all fit well, "
            "then to the lower val_loss. `lowest val_loss` is the lowest at any epoch, shown for reference only."
        )
    if any(Status.DIVERGED in str(row.get("status")) or Status.DIVERGED in str(row.get("fit")) for row in rows):
        lines.append(
            "Points whose runs diverged are never chosen, even when early stopping kept the weights of an epoch "
            "from before the loss blew up and those score well: a setting that blows up is not one to recommend."
        )
    if best is not None and best.get("same_rows"):
        lines.append(
            "Note: these runs train, validate and test on the same rows (a dataset too small to split): the "
            "figures say how well each point fits those rows, not how it would do on new ones."
        )
    elif best is not None and best.get("selected_on_test"):
        lines.append(
            "Warning: these runs validate on the test split (data.validation: test), so the point was chosen on "
            "the test rows and its test figures are optimistic."
        )
    return "\n".join(lines) + "\n"


def curves(
    groups: list[Group], path: Path, title: str, metric: str = "val_loss", mode: str = "min", best: int | None = None
) -> bool:
    """curves.png (see `curves_figure`); False if no point has a curve to draw."""
    fig = curves_figure(groups, title, metric, mode, best)
    if fig is None:
        return False
    save_png(fig, path)
    return True


def point_label(group: Group, varied: list[str], short: Mapping[str, str] | None = None) -> str:
    """`learning_rate=0.01, units=4`: the point's swept values under their short names
    (`short`: `compare.plot.short_keys(varied)`, when the caller labels many points)."""
    if short is None:
        from nnrun.compare.plot import short_keys

        short = short_keys(varied)
    return ", ".join(f"{short[k]}={format_value(group.values.get(k))}" for k in varied) or group.label


def curves_figure(
    groups: list[Group], title: str, metric: str = "val_loss", mode: str = "min", best: int | None = None
) -> Any | None:
    """`metric` (the selection criterion's column) per epoch, one line per grid point: the mean
    over its seeds, with a band from the lowest to the highest seed; the training loss where a
    run has no such column. Colours follow a numeric swept key (the learning rate on a log
    scale); the best point (`best`, a group number) is drawn outlined and named in the legend
    (`nnrun.compare.plot.draw`). A closed matplotlib Figure, or None if no point has a curve."""
    from nnrun.compare.plot import MAX_LINES, Series, draw, few_valued, series_of, short_keys

    varied = [k for k in (groups[0].values if groups else {})]
    numeric = [
        k
        for k in varied
        if all(isinstance(g.values.get(k), int | float) and not isinstance(g.values.get(k), bool) for g in groups)
    ]
    key = LR_KEY if LR_KEY in numeric else (numeric[0] if numeric else None)
    short = short_keys(varied)
    # a 2-D grid: the other key's values (a few of them) as line styles
    style_key = few_valued(varied, lambda k: (format_value(g.values.get(k)) for g in groups), (key,))
    series: list[Series] = []
    best_index = None
    only_metric = True
    undrawn: dict[str, list[str]] = {}  # status -> points that ended before any finite value
    for g in groups:
        runs = [r for r in g.runs if r.status in (Status.COMPLETED, Status.DIVERGED, Status.INTERRUPTED)]
        by_epoch: dict[float, list[float]] = {}
        for run in runs:
            history = run.history()
            # the training loss only for a run without the column at all, not where a diverged run's is inf
            has = run.status == Status.DIVERGED or any(select.column(run, row, metric) is not None for row in history)
            only_metric = only_metric and has
            for row in history:
                e = row.get("epoch")
                v = select.column(run, row, metric) if has else row.get("loss")
                if v is not None and e is not None and math.isfinite(v) and math.isfinite(e):
                    by_epoch.setdefault(int(e), []).append(v)
        if by_epoch:
            epochs, mean, low, high = series_of(by_epoch)
            n = max(len(v) for v in by_epoch.values())
            value = g.values.get(key) if key else None
            if g.number == best:
                best_index = len(series)
            style = f"{short[style_key]}={format_value(g.values.get(style_key))}" if style_key else None
            diverged = any(r.status == Status.DIVERGED for r in runs)
            exploded = not diverged and any(r.blew_up for r in runs)
            kept = runs[0].kept_epoch if len(runs) == 1 else None
            series.append(
                Series(
                    point_label(g, varied, short),
                    epochs,
                    mean,
                    low,
                    high,
                    n,
                    value,
                    style=style,
                    diverged=diverged,
                    kept=kept,
                    exploded=exploded,
                )
            )
        elif any(st in (Status.DIVERGED, Status.FAILED) for st in g.statuses):
            status = Status.DIVERGED if Status.DIVERGED in g.statuses else Status.FAILED
            # one swept key: its values only (learning_rate = 0.01, 0.1, 1), else each point's label
            name = format_value(g.values.get(varied[0])) if len(varied) == 1 else point_label(g, varied, short)
            undrawn.setdefault(str(status), []).append(name)
    if not series:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.5, 5), dpi=100)
    draw(ax, fig, series, colour_key=key, higher_better=mode == "max", best=best_index if len(series) > 1 else None)
    ylabel = metric if only_metric else f"{metric} (training loss where missing)"
    seeds = max(s_.runs for s_ in series)
    epoch_axis(ax)
    ax.set_ylabel(ylabel)
    band = f"\nmean over {seeds} seeds" + (", band: lowest to highest seed" if len(series) <= MAX_LINES else "")
    band = band if seeds > 1 else ""
    one = f" ({series[0].label})" if len(groups) == 1 and series[0].label else ""
    ax.set_title(f"{title}{one}: {ylabel} per epoch{band}")
    import textwrap

    named = f"{short[varied[0]]} = " if len(varied) == 1 else ""
    notes = [
        textwrap.fill(
            f"{status} before a finite {metric}, not drawn: {named}"
            + ", ".join(labels[:8])
            + (f" and {len(labels) - 8} more" if len(labels) > 8 else ""),
            80,
        )
        for status, labels in undrawn.items()
    ]
    if notes:
        ax.text(
            0.01, 0.015, "\n".join(notes), transform=ax.transAxes, ha="left", va="bottom", fontsize="small",
            color="red", bbox={"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": "red", "alpha": 0.9},
        )  # fmt: skip
    fig.tight_layout()
    plt.close(fig)
    return fig


def lr_vs_metric(
    groups: list[Group],
    rows: list[dict[str, Any]],
    varied: list[str],
    path: Path,
    title: str,
    best: dict[str, Any] | None = None,
    x_key: str = LR_KEY,
) -> bool:
    """lr_vs_metric.png or value_vs_metric.png (see `lr_vs_metric_figure`); False if no point has an x."""
    fig = lr_vs_metric_figure(groups, rows, varied, title, best, x_key)
    if fig is None:
        return False
    save_png(fig, path)
    return True


def lr_vs_metric_figure(
    groups: list[Group],
    rows: list[dict[str, Any]],
    varied: list[str],
    title: str,
    best: dict[str, Any] | None = None,
    x_key: str = LR_KEY,
) -> Any | None:
    """The selection metric at the kept epoch (and the headline test metric) against the
    learning rate (log x), or against another swept number `x_key` (log x when it spans ten
    times or more, e.g. units 1, 2, 4, ... 64).

    One line per combination of the other varied keys; error bars are the std over seeds
    (kept within 0..1 for a score such as accuracy). The best point is ringed and named; a
    point with no value because its runs diverged or failed is a red cross at the panel's
    worst edge, named by its status. A closed Figure, or None if no point has a learning rate
    or none has a value.
    """
    from matplotlib.transforms import blended_transform_factory

    from nnrun.compare.plot import LEGEND_BESIDE, LEGEND_INSIDE, short_keys
    from nnrun.compare.table import higher_is_better

    metric = next(
        (m for m in ("test_accuracy", "test_r2", "test_mae") if any(r.get(m) is not None for r in rows)), None
    )
    ranked = [k for k in rows[0] if k.startswith("kept_val_") and not k.endswith("_std")] if rows else []
    loss = next((k for k in ranked if k != "kept_val_loss"), "kept_val_loss")
    others = [k for k in varied if k != x_key]
    short = short_keys(others)
    lines: dict[str, list[tuple[float, dict[str, Any]]]] = {}
    for g, row in zip(groups, rows, strict=True):
        lr = _num(g.values.get(x_key))
        if lr is None or (lr <= 0 and x_key == LR_KEY):
            continue
        name = ", ".join(f"{short[k]}={format_value(g.values.get(k))}" for k in others) or "all"
        lines.setdefault(name, []).append((lr, row))
    if not lines or not any(r.get(loss) is not None for pts in lines.values() for _, r in pts):
        return None  # no point has a value yet (all interrupted, failed or diverged): nothing to plot against
    best_point = best["point"] if best else None
    best_label = next((point_label(g, varied) for g in groups if g.number == best_point), "")
    xs_all = [x for pts in lines.values() for x, _ in pts]
    log_x = x_key == LR_KEY or (min(xs_all) > 0 and max(xs_all) / min(xs_all) >= 10)
    x_name = "learning rate" if x_key == LR_KEY else short_keys(varied)[x_key]
    plt = pyplot()
    panels = [loss] + ([metric] if metric else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), dpi=100, squeeze=False)
    outside = False
    for ax, name in zip(axes[0], panels, strict=True):
        missing: dict[str, list[float]] = {}
        values = [r[name] for pts in lines.values() for _, r in pts if r.get(name) is not None]
        log_y = name.endswith("loss") and bool(values) and min(values) > 0 and max(values) / min(values) > 100
        scale = None if log_y else _scale(lines, name)
        outliers: list[tuple[float, float, float, Any]] = []  # (x, value, y drawn at the edge, colour)
        for line, pts in lines.items():
            pts = sorted(pts, key=lambda t: t[0])
            xs = [lr for lr, r in pts if r.get(name) is not None]
            ys = [r[name] for _, r in pts if r.get(name) is not None]
            errs = [r.get(f"{name}_std") or 0.0 for _, r in pts if r.get(name) is not None]
            # a point off the scale: its line runs to the axes' edge, where its value is written
            at = [_edge(y, scale) for y in ys]
            errs = [0.0 if a is not None else e for a, e in zip(at, errs, strict=True)]
            ys_drawn = [y if a is None else a for y, a in zip(ys, at, strict=True)]
            if xs:
                bars = ax.errorbar(
                    xs, ys_drawn, yerr=_bounded(ys_drawn, errs, name) if any(errs) else None, marker="o",
                    capsize=3, label=line if others else None,
                )  # fmt: skip
                colour = bars.lines[0].get_color()
                outliers += [(x, y, a, colour) for x, y, a in zip(xs, ys, at, strict=True) if a is not None]
            for lr, r in pts:
                if r.get(name) is None:
                    missing.setdefault(_missing_reason(r), []).append(lr)
                elif r["point"] == best_point:
                    ax.plot(
                        [lr], [r[name]], marker="o", markersize=15, markerfacecolor="none", markeredgewidth=2.2,
                        markeredgecolor="crimson", linestyle="none", zorder=5, clip_on=False, label=f"best: {best_label}",
                    )  # fmt: skip
        worse_high = not higher_is_better(name.removeprefix("kept_").removeprefix("test_"))
        edge = blended_transform_factory(ax.transData, ax.transAxes)
        for reason, xs_ in missing.items():
            ax.plot(
                xs_, [0.97 if worse_high else 0.03] * len(xs_), marker="x", markersize=9, markeredgewidth=2,
                color="red", linestyle="none", transform=edge, clip_on=False, label=f"{reason} (no value)",
            )  # fmt: skip
        if log_x:
            log_axis(ax, "x")
        if x_key != LR_KEY and len(set(xs_all)) <= 12:  # units 1, 2, 4, 8, 16 as such, not 10⁰ and 10¹
            from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

            ax.xaxis.set_major_locator(FixedLocator(sorted(set(xs_all))))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: format_value(int(v) if v == int(v) else v)))
            ax.xaxis.set_minor_formatter(NullFormatter())
        if log_y:
            log_axis(ax)
        elif scale is not None:
            _mark_outliers(ax, scale, outliers)
        ax.set_xlabel(x_name)
        ax.set_ylabel(_axis_name(name))
        ax.grid(True, which="both", alpha=0.3)
        handles, texts = ax.get_legend_handles_labels()
        if handles:
            outside = outside or len(handles) > LEGEND_INSIDE
            where: dict[str, Any] = dict(LEGEND_BESIDE) if len(handles) > LEGEND_INSIDE else {}
            ax.legend(fontsize="small", **where)
    fig.suptitle(f"{title}: {x_name} sweep")
    if outside:  # `arrange` measures only the axes' own texts, not a legend beside them
        fig.tight_layout()
    else:
        arrange(fig)
    plt.close(fig)
    return fig


#: On a linear axis, a point this many times the other points' spread away from them (an R^2
#: of -2.9e5 from a blown-up run beside scores near 0.5) would flatten them all into one line:
#: it is drawn at the edge instead, with its value written beside it.
OFF_SCALE = 30.0


def off_scale(values: list[float]) -> set[int]:
    """Indices of the few values (one in four at most, of three or more) that lie more than
    `OFF_SCALE` times the spread of the others away from them; the spread is at least a tenth
    of their size, so a score of 0.5 among scores of 1.0 is a result, not an outlier."""
    out: set[int] = set()
    if len(values) < 3:
        return out
    while len(out) < max(1, len(values) // 4):
        kept = [i for i in range(len(values)) if i not in out]
        middle = statistics.median(values[i] for i in kept)
        far = max(kept, key=lambda i: abs(values[i] - middle))
        rest = [values[i] for i in kept if i != far]
        centre = statistics.median(rest)
        spread = max(max(rest) - min(rest), 0.1 * abs(centre), 1e-12)
        if abs(values[far] - centre) <= OFF_SCALE * spread:
            break
        out.add(far)
    return out


def _scale(lines: Mapping[str, list[tuple[float, dict[str, Any]]]], name: str) -> tuple[float, float] | None:
    """A linear panel's y limits when some points are off the scale (`off_scale`): the other
    points' range with their error bars, padded; None when every point fits."""
    points = [
        (r[name], r.get(f"{name}_std") or 0.0) for pts in lines.values() for _, r in pts if r.get(name) is not None
    ]
    far = off_scale([y for y, _ in points])
    if not far:
        return None
    rest = [p for i, p in enumerate(points) if i not in far]
    low, high = min(y - e for y, e in rest), max(y + e for y, e in rest)
    pad = 0.08 * (high - low) if high > low else abs(high) * 0.1 or 1.0
    return low - pad, high + pad


#: Where an off-scale point is drawn, as a fraction of the axes' height from the edge it lies beyond.
EDGE = 0.03


def _edge(value: float, scale: tuple[float, float] | None) -> float | None:
    """The y an off-scale value is drawn at (just inside the edge it lies beyond), else None."""
    if scale is None:
        return None
    bottom, top = scale
    if value > top:
        return top - EDGE * (top - bottom)
    if value < bottom:
        return bottom + EDGE * (top - bottom)
    return None


def _mark_outliers(ax: Any, scale: tuple[float, float], outliers: list[tuple[float, float, float, Any]]) -> None:
    """The axis kept to `scale`; each off-scale point a triangle pointing off the axes, in its
    line's colour, with its value written beside it."""
    ax.set_ylim(*scale)
    for n, (x, value, y, colour) in enumerate(outliers):
        up = value > scale[1]
        ax.plot(
            [x], [y], marker="^" if up else "v", markersize=10, color=colour, markeredgecolor="black",
            linestyle="none", zorder=6, label="off the scale (value written inside)" if n == 0 else None,
        )  # fmt: skip
        # upright beside its triangle: neighbouring points' values never overlap
        ax.annotate(
            f"{value:.3g}", xy=(x, y), xytext=(0, -9 if up else 9), textcoords="offset points", rotation=90,
            ha="center", va="top" if up else "bottom", fontsize="small", color="0.2", zorder=7,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "0.8", "alpha": 0.9},
        )  # fmt: skip


def _swept_number(groups: list[Group], varied: list[str]) -> str | None:
    """The first swept key with three or more numbers (`model.layers.0.units`), if any: it gets
    the metric-against-value picture a learning-rate sweep gets."""
    for key in varied:  # values may be mappings or lists (a schedule, a layer list): not numbers
        numbers = [_num(g.values.get(key)) for g in groups]
        if all(n is not None for n in numbers) and len(set(numbers)) >= 3:
            return key
    return None


#: Scores that live in 0..1: an error bar of mean ± std never leaves that range.
_UNIT_SCORES = ("accuracy", "precision", "recall", "f1", "auc")


def _bounded(means: list[float], stds: list[float], column: str) -> list[list[float]]:
    """(below, above) error bar lengths: the std, cut at 0 and 1 for a score such as accuracy."""
    if not any(word in column for word in _UNIT_SCORES):
        return [stds, stds]
    return [
        [min(sd, m) for m, sd in zip(means, stds, strict=True)],
        [min(sd, 1 - m) for m, sd in zip(means, stds, strict=True)],
    ]


def _axis_name(column: str) -> str:
    """`kept_val_accuracy` -> `val accuracy at the kept epoch`; `test_accuracy` -> `test accuracy`."""
    if column.startswith("kept_"):
        return column.removeprefix("kept_").replace("_", " ", 1) + " at the kept epoch"
    return column.replace("_", " ", 1)


def _missing_reason(row: dict[str, Any]) -> str:
    """Why a point has no value: its status (`diverged`, `2/3 failed`, ...)."""
    status = str(row.get("status") or "no run")
    return status.split(" ", 1)[1] if status[:1].isdigit() and "/" in status.split(" ", 1)[0] else status


def write(record: SweepRecord) -> Summary:
    """Write summary.csv, summary.md, curves.png and lr_vs_metric.png (learning-rate sweeps) or
    value_vs_metric.png (sweeps of another number);
    store the best point in sweep.json."""
    groups, varied, rows, best = build(record)
    out = SweepFolder(record.dir)
    files = []
    if rows:
        write_csv_rows(out.summary_csv, [{k: _csv(v) for k, v in r.items()} for r in rows])
        files.append(out.summary_csv)
    table = _table(record, varied, rows, best)
    markdown = _markdown(record, table, rows, best)
    atomic_write_text(out.summary_md, markdown)
    files.append(out.summary_md)
    title = str(record.json.name or "sweep")
    metric = (record.json.selection or {}).get("metric") or "val_loss"
    mode = (record.json.selection or {}).get("mode") or "min"
    if curves(groups, out.curves, title, metric, mode, best["point"] if best else None):
        files.append(out.curves)
    if record.json.learning_rate_sweep and lr_vs_metric(groups, rows, varied, out.lr_vs_metric, title, best):
        files.append(out.lr_vs_metric)
    elif (swept := _swept_number(groups, varied)) and lr_vs_metric(
        groups, rows, varied, out.value_vs_metric, title, best, swept
    ):
        files.append(out.value_vs_metric)
    record.json.set(best=best)
    record.save()
    columns = list(rows[0]) if rows else []
    return Summary(groups, varied, columns, rows, best, markdown, files, table)


def warm_up() -> None:
    """Load what the summary's pictures use beyond matplotlib's core (curves.png's drawing
    code, the colour bar) and build matplotlib's mathtext parser (the log colour bar's labels
    are mathtext; building its grammar and loading its fonts is a one-time cost): about 0.06 s
    of CPU while the points train (`nnrun.sweep.runner`) that the summary, drawn once the last
    point is done with nothing else left to run beside it, no longer pays (about 0.12 s)."""
    import matplotlib.colorbar  # noqa: F401
    import matplotlib.figure  # noqa: F401
    from matplotlib.mathtext import MathTextParser

    from nnrun.compare import plot  # noqa: F401

    MathTextParser("agg").parse(r"$\mathdefault{10^{-3}}$", 100)


def _csv(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return format_value(value)
    return value
