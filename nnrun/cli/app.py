"""The root Typer app. Each command lives in its own module, imported when the app is
built; modules import only Typer and light helpers at the top and do heavy imports inside
the command body, so `nnrun --help` stays fast and never imports TensorFlow."""

from __future__ import annotations

import importlib
import os
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


@app.callback()
def _root(
    verbose: bool = typer.Option(
        False, "--verbose", help="Let TensorFlow's own log lines through (hidden by default)."
    ),
) -> None:
    """Train neural networks from a small YAML file and keep everything each run produced."""
    if verbose:
        from nnrun.tf_import import VERBOSE_ENV

        os.environ[VERBOSE_ENV] = "1"  # sweep workers inherit it
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"


def main() -> None:
    """Run the command line in this process: user errors become one clean message and exit
    code 2; ends with SystemExit like any Typer app (tests call it in-process)."""
    try:
        app()
    except common.NnrunError as exc:
        common.print_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        common.err_console().print("[yellow]interrupted[/yellow]")
        sys.exit(130)


def exit_code(exc: SystemExit) -> int:
    """The process exit code `SystemExit(exc.code)` stands for (a text is printed, code 1)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def entry() -> None:
    """The process entry point (`nnrun`, `python -m nnrun`): `main`, then, if this command
    imported TensorFlow, end the process without its teardown (one to two seconds of freeing
    graphs and thread pools, after every file is already written and synced). Only the process's
    own entry point may do this: the library and the Python API return, a notebook keeps its kernel.
    A command that asked for it (`common.end_quickly`: a sweep) ends as Python does (its
    threads joined, its atexit handlers run) but without freeing every module.
    """
    try:
        main()
    except SystemExit as exc:
        code = exit_code(exc)
    else:
        code = 0
    if "tensorflow" not in sys.modules:
        if not common.ends_quickly():
            sys.exit(code)  # nothing slow to tear down: the ordinary ending, atexit handlers and all
        _ordinary_ending()
    end_now(code)


def _ordinary_ending() -> None:
    """What Python does at the end before freeing its modules: wait for the threads that are not
    daemons, then run the atexit handlers."""
    import atexit
    import threading

    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # noqa: SLF001 - what the interpreter calls at exit


def end_now(code: int) -> None:
    """`os._exit` once Python's own buffers are flushed. Every run file is already closed (atomic
    writes fsync and rename, history.csv is closed by the run's hooks); what is left to flush is
    the console and logging."""
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    os._exit(code)
