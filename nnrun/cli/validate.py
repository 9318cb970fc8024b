"""`nnrun validate CONFIG...`: check configs (and their data) without training."""

from __future__ import annotations

from typing import Any

import typer

from nnrun.cli.common import console, print_error
from nnrun.cli.options import ConfigsArg, SetOpt
from nnrun.errors import NnrunError


def validate(
    configs: ConfigsArg,
    set_: SetOpt = None,
) -> None:
    """Check configs without training: every key, every value, the data they name."""
    from nnrun.experiment import prepare_experiment

    failed = 0
    for config in configs:
        try:
            prepared = prepare_experiment(config, set_ or [])
        except NnrunError as exc:
            print_error(exc)
            failed += 1
            continue
        d = prepared.data
        console().print(
            f"[green]ok[/green] {config}: {prepared.spec.name}, {d.task} on {prepared.spec.data.dataset} "
            f"({_sizes(prepared)}, input {d.input_shape})"
        )
        for note in d.notes:
            console().print(f"  note: {note}", markup=False)
    if failed:
        raise typer.Exit(2)


def _sizes(prepared: Any) -> str:
    """`364 train / 91 validation / 114 test rows`, and what the validation split is."""
    d, spec = prepared.data, prepared.spec
    text = f"{len(d.x_train)} train / {len(d.x_val)} validation / {len(d.x_test)} test rows"
    if d.same_rows:
        return text + ": the same rows, too few to split"
    if spec.data.validation == "test":
        return text + ": validation is the test split"
    return text
