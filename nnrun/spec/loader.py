"""Safe YAML loading that remembers the line of every key.

Only `yaml.SafeLoader` constructs values, so tags such as `!!python/object` are refused,
never executed. Before anything is constructed the node graph is walked with a budget,
so billion-laughs alias bombs and absurd nesting fail in milliseconds with bounded memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nnrun.errors import Problem, SpecError

MAX_BYTES = 1_000_000
MAX_NODES = 100_000
MAX_DEPTH = 64

Path_ = tuple[str | int, ...]


@dataclass
class Document:
    """A loaded YAML mapping plus the line (1-based) of each dotted path."""

    data: dict[str, Any]
    lines: dict[Path_, int] = field(default_factory=dict)
    source: str | None = None

    def line_of(self, path: Path_) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)


def _fail(message: str, source: str | None, line: int | None = None) -> SpecError:
    return SpecError([Problem(key="", message=message, line=line)], source)


def _check_graph(root: yaml.Node, source: str | None) -> None:
    """Walk the node graph as it would be expanded, within a node and depth budget."""
    count = 0
    stack: list[tuple[yaml.Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise _fail(
                f"the YAML expands to more than {MAX_NODES} values (an alias bomb?); a config is a small file",
                source,
            )
        if depth > MAX_DEPTH:
            raise _fail(
                f"the YAML is nested deeper than {MAX_DEPTH} levels",
                source,
                node.start_mark.line + 1,
            )
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack.append((k, depth + 1))
                stack.append((v, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((v, depth + 1) for v in node.value)


def _record_lines(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            sub = (*path, key_node.value)
            lines.setdefault(sub, key_node.start_mark.line + 1)
            _record_lines(value_node, sub, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            sub = (*path, i)
            lines.setdefault(sub, item.start_mark.line + 1)
            _record_lines(item, sub, lines)


def loads(text: str, source: str | None = None) -> Document:
    """Parse YAML text into a `Document`; every failure is a `SpecError`."""
    if len(text) > MAX_BYTES:
        raise _fail(f"the file is larger than {MAX_BYTES // 1000} kB; a config is a small file", source)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise _fail("the file is empty; expected a mapping with at least 'data' and 'model'", source)
        _check_graph(node, source)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = (exc.problem or str(exc)).strip()
        if isinstance(exc, yaml.constructor.ConstructorError) and "tag" in problem:
            problem += " (only plain YAML is allowed: tags like !!python/... are never executed)"
        raise _fail(f"invalid YAML: {problem}", source, line) from None
    except yaml.YAMLError as exc:
        raise _fail(f"invalid YAML: {exc}", source) from None
    except RecursionError:
        raise _fail(f"the YAML is nested deeper than {MAX_DEPTH} levels", source) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise _fail(
            f"expected a mapping of keys (name, data, model, ...) at the top level, received {type(data).__name__}",
            source,
            1,
        )
    lines: dict[Path_, int] = {(): 1}
    _record_lines(node, (), lines)
    return Document(data=data, lines=lines, source=source)


def load(path: str | Path) -> Document:
    """Read and parse a config file."""
    p = Path(path)
    if not p.exists():
        raise SpecError([Problem(key="", message="no such file")], str(path))
    if not p.is_file():
        raise SpecError([Problem(key="", message="not a file")], str(path))
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise _fail(
                f"the file is larger than {MAX_BYTES // 1000} kB; a config is a small file",
                str(path),
            )
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _fail("the file is not UTF-8 text", str(path)) from None
    except OSError as exc:
        raise _fail(f"cannot read the file: {exc.strerror}", str(path)) from None
    return loads(text, str(path))
