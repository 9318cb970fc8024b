"""The argument and option types the commands share, declared once (Typer's `Annotated` aliases).

A command names its parameters with these (`config: ConfigArg`, `set_: SetOpt = None`), so
`--set`, `--out`, `--quiet` and the run-selection options mean and read the same everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from nnrun.cli.completion import complete_config, complete_run_dir

# --- the declarations, once; a command whose help says more passes its own text ----------------


def config_argument(help: str = "The experiment's YAML file.") -> Any:  # noqa: A002 - Typer's name
    return typer.Argument(help=help, show_default=False, autocompletion=complete_config)


def run_dir_argument(help: str = "A run folder.") -> Any:  # noqa: A002
    return typer.Argument(help=help, show_default=False, autocompletion=complete_run_dir)


def output_option(help: str) -> Any:  # noqa: A002
    """`--output` / `-o`: a file the command writes (checked first and written by `nnrun.output`)."""
    return typer.Option("--output", "-o", help=help)


def out_option(help: str = "Root folder for run folders: <out>/<name>/<run>/.") -> Any:  # noqa: A002
    """`--out`: the root folder new run folders go under."""
    return typer.Option("--out", help=help)


#: One experiment's YAML file.
ConfigArg = Annotated[Path, config_argument()]
#: Several config files (validate).
ConfigsArg = Annotated[
    list[Path],
    typer.Argument(help="Config files to check.", show_default=False, autocompletion=complete_config),
]
#: The configs `train` runs one after another: files, or quoted globs nnrun expands ('configs/*.yaml').
TrainConfigsArg = Annotated[
    list[Path],
    typer.Argument(
        help="The experiments' YAML files (or a quoted glob such as 'configs/*.yaml'), trained one after another.",
        show_default=False,
        autocompletion=complete_config,
    ),
]
FailFastOpt = Annotated[
    bool,
    typer.Option(
        "--fail-fast", help="Stop at the first failure (the first config that fails; a sweep's first failed point)."
    ),
]
#: A config that may be omitted (sweep --resume).
OptionalConfigArg = Annotated[
    Path | None,
    typer.Argument(help="The experiment's YAML file (omit with --resume).", autocompletion=complete_config),
]
#: One run folder.
RunDirArg = Annotated[Path, run_dir_argument()]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a dotted key of the config: --set training.epochs=5 (repeatable)."),
]
OutOpt = Annotated[Path, out_option()]
#: `--output` for a command that otherwise prints to the terminal.
OutputOpt = Annotated[Path | None, output_option("Write to this file instead of the terminal.")]
#: `--output` for a picture.
ImageOpt = Annotated[Path, output_option("Image file (.png, .pdf or .svg).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display; only the result.")]

# --- choosing runs (compare, report, show) ---------------------------------------------------

PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Run folders, sweep folders or folders of them [default: runs].",
        show_default=False,
        autocompletion=complete_run_dir,
    ),
]
FilterOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--filter",
        help="Keep runs where this holds, e.g. 'optimizer.name=adam', 'test.accuracy>0.9', "
        "'optimizer.name in (adam,sgd)', '0.001<=optimizer.learning_rate<=0.1', 'a=1 or b=2'. Repeatable (all must hold).",
    ),
]
StatusOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--status",
        help="Keep runs with this status (completed, failed, interrupted, diverged, crashed, running); repeatable or comma-separated.",
    ),
]
LastOpt = Annotated[int | None, typer.Option("--last", help="Only the N most recently started runs (after filtering).")]
SortOpt = Annotated[
    str | None,
    typer.Option(
        "--sort",
        help="Sort by this key, best first: descending for accuracy/auc/f1/r2..., ascending for losses and errors.",
    ),
]
ReverseOpt = Annotated[bool, typer.Option("--reverse", help="Reverse the order.")]
