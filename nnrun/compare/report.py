"""`nnrun report`: one self-contained HTML page about a set of runs.

Everything is inline: CSS, a few lines of JavaScript to sort the table, and every image as
a base64 `data:` URI, so the file opens anywhere with no network and can be mailed or
archived as is. Every piece of text from the run folders is HTML-escaped.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nnrun.compare import budget
from nnrun.compare.budget import Picture
from nnrun.compare.formats import STATUS_STYLE, VERDICT_STYLE, human_seconds, plain, show
from nnrun.compare.table import Table, build_table, sort_descending
from nnrun.inspect.verdicts import of_run
from nnrun.runs.layout import RunFolder, SweepFolder, read_json_object, read_regular
from nnrun.runs.reader import RunInfo, Unreadable
from nnrun.runs.records import SweepJson

#: The pictures of a run's insides, in the order a section shows them (after the curves).
INSIDE_PLOTS = (
    RunFolder.PREDICTIONS_PLOT,
    RunFolder.BOUNDARY_PLOT,
    RunFolder.BOUNDARY_EPOCHS_PLOT,
    RunFolder.GRADIENTS_PLOT,
    RunFolder.ACTIVATIONS_PLOT,
    RunFolder.WEIGHTS_PLOT,
)
#: Pictures shown wider than the rest (several panels each).
WIDE_PLOTS = (
    RunFolder.BOUNDARY_EPOCHS_PLOT,
    RunFolder.GRADIENTS_PLOT,
    RunFolder.ACTIVATIONS_PLOT,
    RunFolder.WEIGHTS_PLOT,
)
#: Images larger than this are left out (a page is meant to stay small enough to mail; how
#: many pictures it embeds is `nnrun.compare.budget`'s choice).
MAX_IMAGE_BYTES = 5_000_000

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222;max-width:1500px}
h1{margin-bottom:.2rem} h2{margin-top:2.5rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
.meta{color:#666} .skipped{color:#a60}
.wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:.85rem}
th,td{padding:.25rem .6rem;border-bottom:1px solid #eee;text-align:left;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none;background:#f6f6f6;position:sticky;top:0}
table.sortable th[aria-sort=ascending]::after{content:" \\25B2"}
table.sortable th[aria-sort=descending]::after{content:" \\25BC"}
tr:hover td{background:#fafaf0}
.badge{padding:.05rem .45rem;border-radius:.6rem;font-size:.8rem;color:#fff}
.green{background:#2a7d2a}.red{background:#b22}.yellow{background:#b80}.magenta{background:#939}.cyan{background:#188}
.verdict-green{color:#2a7d2a}.verdict-yellow{color:#a60}.verdict-magenta{color:#939}
section.run{border:1px solid #e4e4e4;border-radius:6px;padding:.5rem 1rem 1rem;margin:1rem 0}
.figs{display:flex;flex-wrap:wrap;gap:.6rem} .figs img{max-width:480px;border:1px solid #eee}
.figs.wide img,.figs img.wide{max-width:900px}
.kv td:first-child{color:#666} pre{background:#f6f6f6;padding:.5rem;overflow-x:auto;font-size:.8rem}
pre.grid{white-space:pre-wrap}
"""

JS = """
function sortTable(th){
  const table = th.closest('table'), body = table.tBodies[0];
  const index = Array.prototype.indexOf.call(th.parentNode.children, th);
  const first = th.dataset.best === 'desc' ? 'descending' : 'ascending';
  const current = th.getAttribute('aria-sort');
  const dir = current ? (current === 'ascending' ? 'descending' : 'ascending') : first;
  table.querySelectorAll('th').forEach(h => h.removeAttribute('aria-sort'));
  th.setAttribute('aria-sort', dir);
  const numeric = th.dataset.type === 'number';
  const value = row => { const v = row.cells[index].dataset.value; return v === undefined || v === '' ? null : (numeric ? parseFloat(v) : v); };
  const rows = Array.from(body.rows);
  rows.sort((a, b) => {
    const x = value(a), y = value(b);
    if (x === null) return y === null ? 0 : 1;
    if (y === null) return -1;
    const c = x < y ? -1 : (x > y ? 1 : 0);
    return dir === 'ascending' ? c : -c;
  });
  rows.forEach(r => body.appendChild(r));
}
document.querySelectorAll('table.sortable th').forEach(th => th.addEventListener('click', () => sortTable(th)));
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _img(png: bytes, alt: str) -> str:
    wide = ' class="wide"' if alt.endswith(WIDE_PLOTS) else ""
    return f'<img src="{data_uri(png)}" alt="{_e(alt)}"{wide}>'


def _run_anchor(run: RunInfo) -> str:
    return "run-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in str(run.dir))[-120:]


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def comparison_table(table: Table) -> str:
    numeric = {c for c in table.columns if any(_is_number(r[c]) for r in table.rows)}
    head = "".join(
        f'<th data-key="{_e(c)}" data-type="{"number" if c in numeric else "text"}"'
        f"{' data-best=desc' if sort_descending(c) else ''}>{_e(c)}</th>"
        for c in table.columns
    )
    body = []
    for run, row in zip(table.runs, table.rows, strict=True):
        cells = []
        for c in table.columns:
            v = row[c]
            raw = "" if v is None else (repr(float(v)) if _is_number(v) else plain(v))
            text = _e(show(c, v))
            if c == "run":
                text = f'<a href="#{_run_anchor(run)}">{text}</a>'
            elif c == "status":
                text = f'<span class="badge {STATUS_STYLE.get(str(v), "")}">{text}</span>'
            cls = ' class="num"' if c in numeric else ""
            cells.append(f'<td{cls} data-value="{_e(raw)}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="wrap"><table id="runs" class="sortable"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _figures(run: RunInfo) -> list[Picture]:
    """The run's PNGs (loss first, the confusion matrix last); drawn from history.csv if it has none."""
    pngs = list(run.dir.glob("*.png"))
    order = {RunFolder.LOSS_PLOT: 0, RunFolder.CONFUSION_PLOT: 2, **{n: 3 + i for i, n in enumerate(INSIDE_PLOTS)}}
    pngs.sort(key=lambda p: (order.get(p.name, 1), p.name))
    out = []
    for p in pngs:
        try:
            out.append(Picture(p.name, read_regular(p, MAX_IMAGE_BYTES), p))
        except OSError:  # missing, a dangling link, a FIFO, too big: left out
            continue
    if not any(f.name != RunFolder.CONFUSION_PLOT for f in out) and run.history():
        from nnrun.compare.plot import curves_png

        try:
            out.insert(
                0,
                Picture(
                    "loss (from history.csv)", curves_png([run], "val_loss", train=True, title=f"{run.name}: loss")
                ),
            )
        except ValueError:
            pass
    return out


def run_section(run: RunInfo, figures: Sequence[Picture] | None = None, linked: Sequence[Picture] = ()) -> str:
    """One run's section; `figures`: the pictures to embed (None: all of the run's), `linked`:
    those left out of the page's picture budget, linked to their files."""
    from nnrun.compare.show import config_changes

    rec = run.record
    style = STATUS_STYLE.get(run.status, "")
    parts = [
        f'<section class="run" id="{_run_anchor(run)}">',
        f'<h3>{_e(run.name)} <small>{_e(run.id)}</small> <span class="badge {style}">{_e(run.status)}</span></h3>',
    ]
    d = run.diagnosis
    if d:
        vstyle = VERDICT_STYLE.get(str(d.get("verdict")), "")
        parts.append(f'<p><b class="verdict-{vstyle}">{_e(d.get("label"))}</b>: {_e(d.get("hint"))}</p>')
    found = of_run(run)
    if found:
        parts += [f'<p class="internals"><b class="verdict-magenta">{_e(v.label)}</b>: {_e(v.hint)}</p>' for v in found]
    elif found is not None:
        parts.append('<p class="internals">internals: no problem seen in gradients or activations</p>')
    facts = [
        ("folder", str(run.dir)),
        ("started", show("started", rec.get("started"))),
        ("duration", human_seconds(run.duration) if run.duration is not None else "-"),
        ("epochs", f"{run.epochs if run.epochs is not None else '-'} ({rec.get('stop_reason') or run.status})"),
        ("trainer", rec.get("trainer") or "-"),
    ]
    if isinstance(rec.get("error"), dict):
        facts.append(("error", f"{rec['error'].get('type')}: {rec['error'].get('message')}"))
    if rec.get("hint"):
        facts.append(("hint", rec["hint"]))
    if run.kept_epoch is not None:
        facts.append(("kept epoch", str(run.kept_epoch)))
    split = rec.get("split")
    if isinstance(split, dict) and isinstance(split.get("train"), int):
        facts.append(
            ("split", f"{split['train']} train / {split.get('validation')} validation / {split.get('test')} test")
        )
    if run.selected_on_test:
        parts.append(
            '<p class="verdict-yellow"><b>selected on the test split</b>: early stopping watched the test split '
            "(data.validation: test), so the test figures are optimistic</p>"
        )
    parts.append(
        '<table class="kv">' + "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in facts) + "</table>"
    )
    test = {k: v for k, v in run.test.items() if not isinstance(v, list | dict) and v is not None and k != "threshold"}
    if test:
        parts.append(
            "<h4>test metrics</h4><table><tr>"
            + "".join(f"<th>{_e(k)}</th>" for k in test)
            + "</tr><tr>"
            + "".join(f'<td class="num">{_e(plain(v, 4))}</td>' for v in test.values())
            + "</tr></table>"
        )
    if run.config:
        changes, note = config_changes(run.config)
        rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(plain(v))}</td></tr>" for k, v in changes.items())
        parts.append(
            "<details><summary>config (what differs from the defaults)</summary>"
            + (f"<p>{_e(note)}</p>" if note else "")
            + f'<table class="kv">{rows}</table></details>'
        )
    figures = _figures(run) if figures is None else figures
    if figures:
        parts.append('<div class="figs">' + "".join(_img(f.png, f"{run.name}: {f.name}") for f in figures) + "</div>")
    links = [f'<a href="{_e(f.path.as_uri())}">{_e(f.name)}</a>' for f in linked if f.path is not None]
    if links:
        parts.append(
            f'<p class="meta">not embedded (the page\'s picture budget), in the run folder: {", ".join(links)}</p>'
        )
    parts.append("</section>")
    return "\n".join(parts)


def _embedded_bytes(section: str) -> int:
    """The PNG bytes a piece of the page embeds (3 for every 4 characters of base64)."""
    total = 0
    for chunk in section.split("data:image/png;base64,")[1:]:
        total += len(chunk.split('"', 1)[0]) * 3 // 4
    return total


def _values(values: Any) -> str:
    """A swept key's values as one line: `0.001, 0.01, 0.1 (3 values)`."""
    from nnrun.sweep.expand import format_value

    if not isinstance(values, list):
        return format_value(values)
    shown = ", ".join(format_value(v) for v in values)
    return shown + (f" ({len(values)} values)" if len(values) > 3 else "")


def sweep_section(sweep: Path, runs: Sequence[RunInfo]) -> str:
    parts = [
        f"<h3>{_e(sweep.parent.name)} / {_e(sweep.name)}</h3>",
        f'<p class="meta">{_e(sweep)}: {len(runs)} runs listed</p>',
    ]
    files = SweepFolder(sweep)
    info = read_json_object(files.sweep_json)
    if info is None:
        parts.append(f'<p class="skipped">{SweepFolder.SWEEP} is unreadable</p>')
    record = SweepJson.model_validate(info) if info is not None else None
    if record is not None and record.grid:
        # one line per swept key, its values side by side (50 learning rates are one line, not 50)
        lines = [f"{key}: {_values(values)}" for key, values in record.grid.items()]
        parts.append(f'<pre class="grid">{_e(chr(10).join(lines)[:4000])}</pre>')
    best = record.best if record is not None else None
    if isinstance(best, dict) and isinstance(best.get("value"), int | float):
        spread = f" ± {best['std']:.2g}" if isinstance(best.get("std"), int | float) else ""
        parts.append(
            f"<p><b>best point {_e(best.get('point'))}</b> ({_e(best.get('label'))}): mean {_e(best.get('metric'))} "
            f"{best['value']:.4g}{_e(spread)}</p>"
        )
    figs = []
    for p in sorted(sweep.glob("*.png")):
        try:
            figs.append(_img(read_regular(p, MAX_IMAGE_BYTES), f"sweep {sweep.name}: {p.name}"))
        except OSError:
            continue
    if figs:  # several lines or panels each: shown wide enough to read
        parts.append('<div class="figs wide">' + "".join(figs) + "</div>")
    try:
        summary = read_regular(files.summary_md).decode("utf-8", errors="replace")
    except OSError:
        summary = None
    if summary is not None:
        parts.append(f"<details><summary>{SweepFolder.SUMMARY_MD}</summary><pre>{_e(summary[:20000])}</pre></details>")
    return "\n".join(parts)


def build_report(
    runs: Sequence[RunInfo],
    skipped: Sequence[Unreadable] = (),
    title: str = "nnrun report",
    sources: Sequence[str] = (),
) -> str:
    """The whole page as a string."""
    table = build_table(runs)
    now = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">{len(runs)} run{"s" if len(runs) != 1 else ""}'
        + (f" from {_e(', '.join(sources))}" if sources else "")
        + f", generated {_e(now)}. Click a column header to sort.</p>",
    ]
    if skipped:
        out.append('<ul class="skipped">' + "".join(f"<li>{_e(s.line())}</li>" for s in skipped) + "</ul>")
    out.append("<h2>Runs</h2>")
    out.append(comparison_table(table))
    if table.differing:
        out.append(f'<p class="meta">config keys that differ between these runs: {_e(", ".join(table.differing))}</p>')
    spent = 0  # bytes of PNG embedded so far (`budget.IMAGE_BUDGET` for the whole page)
    with_curves = [r for r in runs if r.history()]
    if with_curves:
        from nnrun.compare.plot import curves_png

        try:
            png = curves_png(with_curves, "val_loss", train=False)
            spent += len(png)
            out.append("<h2>Validation loss</h2>")
            out.append(f'<div class="figs wide">{_img(png, "validation loss of every run")}</div>')
        except ValueError:
            pass
    sweeps: dict[Path, list[RunInfo]] = {}
    for run in runs:
        if run.sweep is not None:
            sweeps.setdefault(run.sweep, []).append(run)
    if sweeps:
        out.append("<h2>Sweeps</h2>")
        for path, members in sweeps.items():
            section = sweep_section(path, members)
            spent += _embedded_bytes(section)
            out.append(section)
    out.append("<h2>Each run</h2>")
    chosen = budget.plan(
        [_figures(run) for run in runs], budget.IMAGE_BUDGET - spent, [bool(of_run(run)) for run in runs]
    )
    if chosen.cut:
        left = sum(len(links) for links in chosen.linked)
        ranks = ", ".join(budget.RANK_NAMES[r] for r in chosen.cut)
        out.append(
            f'<p class="meta">{left} pictures ({ranks}) are linked to their run folders instead of embedded, to '
            f"keep the page under about {budget.PAGE_BYTES / 1e6:.0f} MB. Pictures go in by need over all runs: "
            "each run's loss curve, then its results (confusion matrix, decision regions, predictions), its other "
            "curves, then its insides (gradients, activations, weights). --filter or --last narrows the set.</p>"
        )
    out += [
        run_section(run, shown, links) for run, shown, links in zip(runs, chosen.embedded, chosen.linked, strict=True)
    ]
    out.append(f"<script>{JS}</script></body></html>")
    return "\n".join(out) + "\n"
