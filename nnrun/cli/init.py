"""`nnrun init [TEMPLATE] [-o FILE]`: write a commented starter config."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nnrun.cli.common import console
from nnrun.cli.options import output_option
from nnrun.errors import NnrunError

if TYPE_CHECKING:
    from nnrun.templates import Template


def _complete_template(incomplete: str) -> list[tuple[str, str]]:
    from nnrun.templates import templates

    try:
        table = templates()
    except NnrunError:
        return []
    # Short help: zsh and fish show it beside each name, and a wrapped line breaks the layout.
    return [(t.name, _shorten(t.summary, 60)) for t in table.values() if t.name.startswith(incomplete)]


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


def _plan(template: Template, output: Path, force: bool) -> list[tuple[Path, bytes]]:
    """Every file to write and its bytes, checked before anything is written."""
    files: list[tuple[Path, bytes]] = [(output, template.path.read_bytes())]
    for rel in template.data_files():
        source = template.path.parent / rel
        if source.is_dir():  # an image folder: every file below it travels with the config
            found = sorted(p for p in source.rglob("*") if p.is_file() and not p.name.startswith("."))
            files.extend((output.parent / rel / p.relative_to(source), p.read_bytes()) for p in found)
            continue
        if not source.is_file():
            raise NnrunError(f"template '{template.name}' names {rel}, which is missing from {source.parent}")
        files.append((output.parent / rel, source.read_bytes()))
    for i, (path, data) in enumerate(files):
        if path.is_dir():
            raise NnrunError(f"{path} is a directory; pass a file name with -o")
        # A data file identical to the template's (another init in the same folder) is fine.
        if path.exists() and not force and (i == 0 or path.read_bytes() != data):
            raise NnrunError(f"{path} already exists; use --force to overwrite it")
    return files


def init(
    template: Annotated[
        str | None,
        typer.Argument(
            help="Template name (see --list); default: a small commented MLP.",
            show_default=False,
            autocompletion=_complete_template,
        ),
    ] = None,
    output: Annotated[Path | None, output_option("File to write; default TEMPLATE.yaml here. '-' prints it.")] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite existing files.")] = False,
    list_: Annotated[bool, typer.Option("--list", "-l", help="List the templates, one line each.")] = False,
) -> None:
    """Write a commented starter config that validates and trains as is."""
    from nnrun.runs.files import atomic_write_bytes
    from nnrun.templates import DEFAULT, get, templates

    if list_:
        table = templates()
        width = max(len(name) for name in table)
        for t in table.values():
            mark = " (default)" if t.name == DEFAULT else ""
            console().print(f"[bold]{t.name:<{width}}[/bold]  {t.summary}{mark}", markup=True, highlight=False)
        return
    chosen = get(template or DEFAULT)
    if output is not None and str(output) == "-":
        typer.echo(chosen.text(), nl=False)
        return
    output = output or Path(f"{chosen.name}.yaml")
    files = _plan(chosen, output, force)
    for i, (path, data) in enumerate(files):
        if i > 0 and path.exists() and path.read_bytes() == data:
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, data)
        except OSError as exc:
            raise NnrunError(f"cannot write {path}: {exc.strerror or exc}") from None
    console().print(f"wrote {output} ({chosen.summary})")
    for path, _ in files[1:]:
        console().print(f"  with its data file {path}")
    console().print(f"next: nnrun validate {output} && nnrun train {output}")
