"""`nnrun lr-find CONFIG`: the learning-rate range test; suggests a learning rate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnrun.cli.common import console, err_console
from nnrun.cli.options import ConfigArg, QuietOpt, SetOpt, out_option


def lr_find(
    config: ConfigArg,
    set_: SetOpt = None,
    start: Annotated[float, typer.Option("--start", help="First learning rate.")] = 1e-7,
    end: Annotated[float, typer.Option("--end", help="Last learning rate.")] = 10.0,
    steps: Annotated[int, typer.Option("--steps", help="Mini-batches (one rate each), spaced on a log scale.")] = 250,
    out: Annotated[Path, out_option("Root folder: results go to <out>/<name>/lr-find-<time>-<hex>/.")] = Path("runs"),
    quiet: QuietOpt = False,
) -> None:
    """Raise the learning rate exponentially over mini-batches and suggest one (steepest loss descent).

    Writes lr_find.png (loss vs learning rate), lr_find.csv and lr_find.json.
    """
    from nnrun import lrfind
    from nnrun.experiment import prepare_experiment
    from nnrun.runs import folder
    from nnrun.runs.layout import RunFolder
    from nnrun.tf_import import pause_collector

    pause_collector()
    lrfind.check_range(start, end, steps)
    prepared = prepare_experiment(config, set_ or [])
    folder.ensure_writable(out)
    spec = prepared.spec
    if not quiet:
        err_console().print(
            f"lr-find [bold]{spec.name}[/bold]: {steps} mini-batches, learning rate {start:g} -> {end:g}"
        )
    result = lrfind.run(prepared, start, end, steps)
    # The folder appears only once there is something complete to put in it.
    out_dir = folder.create_run_dir(out, spec.name, prefix=RunFolder.LR_FIND_PREFIX)
    lrfind.save(result, out_dir, spec)

    stopped = f"stopped after {result.steps_run} steps (loss > {lrfind.DIVERGE_FACTOR:g}x best)"
    ran = stopped if result.stop_reason == "diverged" else f"ran all {result.steps_run} steps"
    lowest = result.best_loss_rate
    console().print(ran + (f"; lowest loss at learning rate {lowest:.2g}" if lowest is not None else ""))
    if result.suggestion is not None:
        console().print(f"[green]suggested learning rate: {result.suggestion:.2g}[/green] (steepest loss descent)")
    else:
        console().print(f"[yellow]no suggestion: {result.why_no_suggestion}[/yellow]")
    console().print(f"plot: {out_dir / 'lr_find.png'}")
