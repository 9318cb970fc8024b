"""Starter configs for `nnrun init`: the example configs in the repository's `configs/`.

`configs/` is the one copy in git. A wheel carries it as `nnrun/templates/*.yaml` (and
`data/`), copied there at build time by `setup.py`; a checkout or an editable install has
no copies here and reads `configs/` beside the package. Never imports TensorFlow.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from nnrun.errors import NnrunError

#: What `nnrun init` writes when no template is named: a small, commented MLP.
DEFAULT = "mlp"
#: `--list` shows at most this much of each description.
SUMMARY_WIDTH = 100

_HERE = Path(__file__).resolve().parent


def template_dir() -> Path:
    """Where the templates are: inside the installed package, else the checkout's configs/."""
    if any(_HERE.glob("*.yaml")):
        return _HERE
    checkout = _HERE.parents[1] / "configs"
    if checkout.is_dir():
        return checkout
    raise NnrunError(f"no starter configs found: neither {_HERE} nor {checkout} holds any (a broken install?)")


@dataclass(frozen=True)
class Template:
    name: str
    path: Path
    description: str

    @property
    def summary(self) -> str:
        """The description's first sentence on one line, for `nnrun init --list`."""
        text = " ".join(self.description.split())
        match = re.search(r"\.(\s|$)", text)
        sentence = text[: match.start() + 1] if match else text
        return sentence if len(sentence) <= SUMMARY_WIDTH else sentence[: SUMMARY_WIDTH - 3].rstrip() + "..."

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def data_files(self) -> list[str]:
        """Relative data paths the config names (e.g. a CSV), which must travel with it."""
        import yaml

        doc = yaml.safe_load(self.text()) or {}
        data = doc.get("data") if isinstance(doc, dict) else None
        path = data.get("path") if isinstance(data, dict) else None
        if isinstance(path, str) and not Path(path).is_absolute():
            return [path]
        return []


def description(text: str) -> str:
    """The comment lines at the top of a config, without their `#`."""
    lines: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        lines.append(stripped.lstrip("#").strip())
    return "\n".join(lines).strip()


def templates() -> dict[str, Template]:
    """Every template by name (the file stem), sorted by name."""
    root = template_dir()
    out: dict[str, Template] = {}
    for path in sorted(root.glob("*.yaml")):
        out[path.stem] = Template(path.stem, path, description(path.read_text(encoding="utf-8")))
    return out


def get(name: str) -> Template:
    """The template called `name`; a clear error with the nearest name otherwise."""
    table = templates()
    key = name[:-5] if name.endswith(".yaml") else name
    if key in table:
        return table[key]
    close = difflib.get_close_matches(key, list(table), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise NnrunError(f"unknown template '{name}'{hint}; `nnrun init --list` shows all {len(table)}")
