"""What the Python API accepts as a config (a YAML path, a dict or a `Spec`) and its overrides
(a dict of dotted keys or `--set` strings), turned into the `Document` the CLI would load.

The CLI and the API share everything after this point (`nnrun.experiment.prepare_loaded`),
so a config given as a dict fails with the same messages, and trains the same run, as the
same config in a file. Never imports TensorFlow.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Union

from nnrun.errors import NnrunError, Problem, SpecError
from nnrun.experiment.prepare import Prepared, prepare_loaded
from nnrun.spec import Spec
from nnrun.spec.loader import Document, load
from nnrun.spec.parse import apply_overrides, dotted, parse, set_dotted

#: What `nnrun.train`, `nnrun.sweep` and `nnrun.validate` take as a config.
Config = Union[str, Path, Mapping[str, Any], Spec]  # noqa: UP007 - a runtime alias, read by people
#: Overrides: {"optimizer.learning_rate": 0.1} or ["optimizer.learning_rate=0.1"] (as --set).
Overrides = Union[Mapping[str, Any], Sequence[str], None]  # noqa: UP007


def load_config(config: Config) -> tuple[Document, Path, Path | None]:
    """The config's document, the folder relative data paths start from, and its file (if any)."""
    if isinstance(config, Spec):
        return Document(data=config.to_yaml_dict(), source="<Spec>"), Path.cwd(), None
    if isinstance(config, Mapping):
        return Document(data=copy.deepcopy(dict(config)), source="<dict>"), Path.cwd(), None
    if isinstance(config, str | Path):
        path = Path(config).expanduser()
        return load(path), path.resolve().parent, path
    raise NnrunError(f"config: expected a YAML file's path, a dict or an nnrun Spec. Received: {type(config).__name__}")


def override(doc: Document, overrides: Overrides) -> None:
    """Apply overrides in place: a dict sets Python values, strings are parsed as `--set` does."""
    if not overrides:
        return
    if isinstance(overrides, str):
        overrides = [overrides]
    if not isinstance(overrides, Mapping):
        apply_overrides(doc, [str(item) for item in overrides])
        return
    problems: list[Problem] = []
    for key, value in overrides.items():
        try:
            set_dotted(doc.data, str(key), copy.deepcopy(value))
        except (KeyError, IndexError, TypeError) as exc:
            problems.append(Problem(key=dotted(tuple(str(key).split("."))), message=f"cannot set this key: {exc}"))
    if problems:
        raise SpecError(problems, f"{doc.source} (overrides)")


def yaml_value(value: Any) -> str:
    """One value as YAML flow text that reads back as the same value."""
    import yaml

    return yaml.safe_dump(value, default_flow_style=True, width=1_000_000).strip().removesuffix("\n...").strip()


def prepare(config: Config, overrides: Overrides = None) -> Prepared:
    """Load, override, validate and load the data, as `nnrun train` does; raises SpecError."""
    doc, base, path = load_config(config)
    override(doc, overrides)
    return prepare_loaded(parse(doc), doc, base, path)
