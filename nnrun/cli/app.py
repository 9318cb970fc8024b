"""The root Typer app. Each command lives in its own module, imported when the app is
built; modules import only Typer and light helpers at the top and do heavy imports inside
the command body, so `nnrun --help` stays fast and never imports TensorFlow."""

from __future__ import annotations

import importlib
import sys

import typer

from nnrun.cli import common

app = typer.Typer(
    name="nnrun",
    help="Train neural networks from a small YAML file and keep everything each run produced.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

#: (command name, module in nnrun.cli, function). One line per command.
COMMANDS: list[tuple[str, str, str]] = [
    ("train", "train", "train"),
    ("validate", "validate", "validate"),
    ("sweep", "sweep", "sweep"),
    ("schema", "schema", "schema"),
    ("compare", "compare", "compare"),
    ("show", "show", "show"),
    ("report", "report", "report"),
    ("init", "init", "init"),
    ("export", "export", "export"),
    ("predict", "predict", "predict"),
    ("lr-find", "lr_find", "lr_find"),
    ("rerun", "rerun", "rerun"),
    ("plot", "plot", "app"),  # a Typer sub-app: nnrun plot activations
]


def _register() -> None:
    for name, module, func in COMMANDS:
        mod = importlib.import_module(f"nnrun.cli.{module}")
        obj = getattr(mod, func)
        if isinstance(obj, typer.Typer):
            app.add_typer(obj, name=name)
        else:
            app.command(name)(obj)


_register()


def main() -> None:
    """Console entry point: user errors become one clean message and exit code 2."""
    try:
        app()
    except common.NnrunError as exc:
        common.print_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        common.err_console().print("[yellow]interrupted[/yellow]")
        sys.exit(130)
