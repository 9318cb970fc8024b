"""`nnrun train CONFIG`: train once and write a run folder."""

from __future__ import annotations

import glob
import sys
from pathlib import Path
from typing import Any

import typer

from nnrun.cli.common import console, err_console, print_error
from nnrun.cli.options import FailFastOpt, OutOpt, QuietOpt, SetOpt, TrainConfigsArg
from nnrun.errors import NnrunError
from nnrun.runs.layout import Status


def summary_line(outcome: Any) -> str:
    """One line: status, the headline test metric, epochs and seconds."""
    rec = outcome.record
    test = outcome.metrics.get("test", {})
    parts = [f"{outcome.status}"]
    for key in ("accuracy", "r2", "mae"):
        if key in test and test[key] is not None:
            parts.append(f"test {key} {test[key]:.4f}")
            break
    if "loss" in test:
        parts.append(f"test loss {test['loss']:.4g}")
    if test and outcome.status == Status.DIVERGED:  # early stopping kept an epoch from before it
        parts[-1] += f" (epoch {rec.get('kept_epoch')}'s weights)"
    parts.append(f"{rec.get('epochs_run', 0)} epochs in {rec.get('train_seconds') or 0:.2f} s ({rec.get('trainer')})")
    diagnosis = rec.get("diagnosis") or {}
    if diagnosis.get("verdict"):
        parts.append(diagnosis["verdict"])
    split = rec.get("split") or {}
    if split.get("same_rows"):
        parts.append(f"train = validation = test: the same {split.get('test')} rows")
    return ", ".join(parts)


def selection_warning(record: dict[str, Any]) -> str | None:
    """The one warning line for a run that chose with its test split."""
    if not record.get("selected_on_test"):
        return None
    return (
        "warning: early stopping chose with the test split (data.validation: test), "
        "so the test figures are optimistic; data.validation: 0.2 holds out a validation split"
    )


def config_paths(args: list[Path]) -> list[Path]:
    """The config files named: a path as given, a quoted glob expanded (sorted); a glob that
    matches nothing is an error, before anything trains."""
    paths: list[Path] = []
    for arg in args:
        text = str(arg)
        if glob.has_magic(text) and not arg.exists():
            matches = sorted(glob.glob(str(Path(text).expanduser())))
            if not matches:
                raise NnrunError(f"no config file matches {text!r}")
            paths += [Path(m) for m in matches]
        else:
            paths.append(arg)
    return paths


def train(
    configs: TrainConfigsArg,
    set_: SetOpt = None,
    out: OutOpt = Path("runs"),
    quiet: QuietOpt = False,
    fail_fast: FailFastOpt = False,
) -> None:
    """Train a model from each CONFIG and write a timestamped run folder for each.

    Several configs train one after another in this one process (TensorFlow is loaded once),
    one result line each; a config that fails does not stop the others unless --fail-fast,
    a stop signal ends the batch; the exit code is the worst of them.
    """
    from nnrun.tf_import import pause_collector

    pause_collector()
    paths = config_paths(configs)
    if len(paths) == 1:
        train_one(paths[0], set_ or [], out, quiet)
        return
    worst = 0
    for i, path in enumerate(paths):
        code = _one_of_many(path, set_ or [], out, quiet)
        worst = max(worst, code)
        left = paths[i + 1 :]
        if left and (code >= 128 or (code and fail_fast)):
            why = "stopped by a signal" if code >= 128 else "--fail-fast"
            err_console().print(f"[yellow]{why}: not trained: {', '.join(map(str, left))}[/yellow]", soft_wrap=True)
            break
    if worst:
        raise typer.Exit(worst)


def _one_of_many(path: Path, overrides: list[str], out: Path, quiet: bool) -> int:
    """One config of several: its exit code; its error said in one line naming the config."""
    from nnrun.experiment import release_session

    try:
        train_one(path, overrides, out, quiet, label=str(path))
    except NnrunError as exc:
        print_error(exc)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - recorded as failed in its run folder; the others still train
        err_console().print(f"[bold red]error:[/bold red] {path}: {type(exc).__name__}: {exc}", soft_wrap=True)
        return 1
    finally:
        release_session()  # the next config starts as in a fresh process: no layer names, graphs or steps kept
    return 0


def train_one(config: Path, overrides: list[str], out: Path, quiet: bool, label: str | None = None) -> None:
    """Train one config; raises typer.Exit with its code unless it completed. With `label` (one
    of several configs) its result is one line, `label: result (run folder)`."""
    from nnrun.api.config import prepare
    from nnrun.runs.folder import ensure_writable

    prepared = prepare(config, overrides)  # as nnrun.train: the same checks, the same run
    for note in prepared.data.notes:
        err_console().print(f"note: {note}", markup=False)
    out = out.expanduser().resolve()  # the root every file of the run goes under, fixed once
    ensure_writable(out)  # before the seconds TensorFlow takes to load
    from nnrun.cli.progress import TrainingProgress
    from nnrun.cli.running import execute_or_exit

    spec = prepared.spec
    show = not quiet and sys.stderr.isatty()
    with TrainingProgress(spec.training.epochs, spec.name, enabled=show) as progress:

        def started(run_dir: Path, trainer: str) -> None:
            if not quiet:
                err_console().print(f"training [bold]{spec.name}[/bold] ({trainer} trainer) -> {run_dir}")
            progress.start()

        outcome = execute_or_exit(prepared, out, "run", on_start=started, on_rows=progress.rows)
    line = summary_line(outcome)
    style = {Status.COMPLETED: "green", Status.INTERRUPTED: "yellow"}.get(outcome.status, "red")
    if label is None:
        console().print(f"[{style}]{line}[/{style}]")
        console().print(f"run folder: {outcome.run_dir}")
    else:
        console().print(f"{label}: [{style}]{line}[/{style}] ({outcome.run_dir})")
    warning = selection_warning(outcome.record)
    if warning:
        err_console().print(f"[yellow]{warning}[/yellow]")
    if outcome.record.get("hint"):
        console().print(f"hint: {outcome.record['hint']}")
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)
