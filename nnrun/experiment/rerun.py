"""`nnrun rerun`'s preparation: a run folder's saved config, loaded as it was first trained.

No TensorFlow: everything the user can get wrong (not a run folder, no config.yaml, data
that moved) is found before anything trains.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnrun.errors import NnrunError
from nnrun.experiment.prepare import Prepared, prepare_loaded
from nnrun.runs.folder import ensure_writable
from nnrun.runs.layout import RunFolder
from nnrun.runs.reader import RunInfo, RunUnreadable, read_run
from nnrun.spec.parse import load_spec


@dataclass
class Rerun:
    """What to train again: the original run, its config prepared, and where the new run goes."""

    original: RunInfo
    prepared: Prepared
    root: Path

    @property
    def record_extra(self) -> dict[str, Any]:
        """run.json's link back to the original."""
        return {"rerun_of": str(self.original.dir.resolve())}


def data_base(original: RunInfo) -> Path:
    """Where the original config was, so a relative CSV `path` resolves as it did then."""
    source = original.run_json.config_source
    if not source:
        return original.dir
    path = Path(source)
    if not path.is_absolute():
        path = Path(original.run_json.cwd or ".") / path
    return path.resolve().parent


def default_root(original: RunInfo) -> Path:
    """The runs root the original lives in: <root>/<name>/<run> or <root>/<name>/<sweep>/<run>."""
    return (original.sweep or original.dir).resolve().parent.parent


def prepare_rerun(run_dir: Path, out: Path | None = None) -> Rerun:
    """The run folder (or its run.json) read back and its config.yaml prepared; `out` is the new
    run's root, by default the original's."""
    try:
        original = read_run(run_dir)
    except RunUnreadable as exc:
        raise NnrunError(f"{run_dir}: {exc}") from None
    config = RunFolder(original.dir).config
    if not config.is_file():
        raise NnrunError(f"{original.dir}: {RunFolder.CONFIG} is missing; there is nothing to re-run")
    spec, doc = load_spec(config)
    prepared = prepare_loaded(spec, doc, data_base(original), config)
    root = out.expanduser().resolve() if out is not None else default_root(original)
    ensure_writable(root)
    return Rerun(original, prepared, root)
