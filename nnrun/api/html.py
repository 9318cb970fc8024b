"""How a `Run` and a `Sweep` show themselves in a notebook (`_repr_html_`): status, headline
metrics, the diagnosis and the curves, small enough to read at a glance. Every value from a
folder is escaped; pictures are inlined as data URIs (the run's own PNG when it has one)."""

from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING, Any

from nnrun.errors import NnrunError
from nnrun.runs.layout import read_regular

if TYPE_CHECKING:
    from nnrun.api.run import Run
    from nnrun.api.sweeps import Sweep

#: The colour of each status word (the same words `nnrun compare` colours).
STATUS_COLOURS = {
    "completed": "#1a7f37",
    "diverged": "#8250df",
    "interrupted": "#9a6700",
    "failed": "#cf222e",
    "crashed": "#cf222e",
    "running": "#0969da",
    "stopped": "#9a6700",
}
#: Test metrics shown, in this order (others are in `run.test`).
TEST_SHOWN = ("accuracy", "precision", "recall", "f1", "roc_auc", "loss", "mse", "mae", "r2")


def _status(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "#57606a")
    return f'<b style="color:{colour}">{escape(status)}</b>'


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return escape(str(value)) if value is not None else "-"
    if isinstance(value, float) and not math.isfinite(value):
        return escape(str(value))
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _table(pairs: list[tuple[str, Any]]) -> str:
    cells = "".join(
        f'<tr><th style="text-align:left;padding-right:1em">{escape(k)}</th><td>{_number(v)}</td></tr>'
        for k, v in pairs
    )
    return f"<table>{cells}</table>"


def _image(uri: str | None, alt: str) -> str:
    return f'<img src="{uri}" alt="{escape(alt)}" style="max-width:560px">' if uri else ""


def _run_picture(run: Run) -> str | None:
    from nnrun.api.figures import file_data_uri, png_data_uri

    try:
        return file_data_uri(read_regular(run.files.loss_plot))
    except OSError:
        pass
    try:
        return png_data_uri(run.plot("loss"))
    except NnrunError:
        return None


def run_html(run: Run) -> str:
    """Status, headline metrics, the diagnosis and the loss curves of one run."""
    info = run.info
    facts: list[tuple[str, Any]] = [
        (f"test {k}", run.test[k]) for k in TEST_SHOWN if isinstance(run.test.get(k), int | float)
    ]
    _, best = info.best_val_loss
    facts += [
        ("epochs", info.epochs),
        ("kept epoch", info.kept_epoch),
        ("best val_loss", best),
        ("train seconds", info.train_seconds),
    ]
    diagnosis = run.diagnosis or {}
    verdict = ""
    if diagnosis.get("verdict"):
        hint = f"<br><i>{escape(str(diagnosis['hint']))}</i>" if diagnosis.get("hint") else ""
        verdict = (
            f"<p><b>{escape(str(diagnosis['verdict']))}</b>: {escape(str(diagnosis.get('label') or ''))}{hint}</p>"
        )
    error = run.record.get("error")
    failure = f"<p>error: {escape(str(error))}</p>" if error else ""
    return (
        f"<div><p><b>{escape(run.name)}</b> {_status(run.status)} &middot; <code>{escape(str(run.dir))}</code></p>"
        f"{_table([(k, v) for k, v in facts if v is not None])}{verdict}{failure}"
        f"{_image(_run_picture(run), 'loss curves')}</div>"
    )


def sweep_html(sweep: Sweep) -> str:
    """Status, the summary table, the best point and why, and the curves of one sweep."""
    from nnrun.api.figures import file_data_uri
    from nnrun.runs.layout import SweepFolder

    rows, best = sweep._built()
    count_text = ", ".join(f"{n} {escape(s)}" for s, n in sweep.status_counts().items())
    if best is not None:
        spread = f" ± {best['std']:.2g}" if best.get("std") is not None else ""
        chosen = (
            f"<p>best: point {best['point']} (<code>{escape(str(best['label']))}</code>), "
            f"mean {escape(str(best['metric']))} {best['value']:.4g}{spread}<br>"
            f"<i>chosen by {escape(str(best['criterion']))}</i></p>"
        )
    else:
        chosen = "<p>best: none (no grid point has all its runs completed without diverging)</p>"
    table = ""
    if rows:
        import pandas as pd

        shown = pd.DataFrame(rows).drop(columns=["folders"], errors="ignore")
        table = shown.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="-")
    try:
        picture = file_data_uri(read_regular(SweepFolder(sweep.dir).curves))
    except OSError:
        picture = None
    return (
        f"<div><p><b>sweep {escape(sweep.name)}</b> {_status(sweep.status)} ({count_text}) &middot; "
        f"<code>{escape(str(sweep.dir))}</code></p>{chosen}{table}{_image(picture, 'sweep curves')}</div>"
    )
