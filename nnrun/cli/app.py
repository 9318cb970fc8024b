"""The root Typer app. Each command lives in its own module and is imported lazily, so
`nnrun --help` stays fast and never imports TensorFlow."""

from __future__ import annotations

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


def _register() -> None:
    from nnrun.cli import schema, train, validate

    app.command("train")(train.train)
    app.command("validate")(validate.validate)
    app.command("schema")(schema.schema)


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
