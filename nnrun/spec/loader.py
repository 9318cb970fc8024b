"""Safe YAML loading that remembers the line of every key.

Only `yaml.SafeLoader` constructs values, so tags such as `!!python/object` are refused,
never executed. Before anything is constructed the node graph is walked with a budget,
so billion-laughs alias bombs and absurd nesting fail in milliseconds with bounded memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nnrun.errors import Problem, SpecError

#: Limits that keep any file within about a second of pure-Python parsing and a few MB of
#: memory; the largest real configs are a few kB and a few hundred values.
MAX_BYTES = 128 * 1024
MAX_NODES = 10_000
MAX_DEPTH = 64
#: No count, size or seed in a config needs more digits; Python refuses to parse beyond 4300.
MAX_INT_DIGITS = 30

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_STR_TAG = "tag:yaml.org,2002:str"
_SCALARS = yaml.constructor.SafeConstructor()

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


class _Loader(yaml.SafeLoader):
    """`yaml.SafeLoader` that stops composing as soon as the document nests too deep or has
    too many nodes, before the scanner has read the rest: PyYAML's scanner slows down
    quadratically with flow nesting, so 100 kB of `[` would otherwise take minutes."""

    def __init__(self, stream: str, source: str | None) -> None:
        super().__init__(stream)
        self.source = source
        self.depth = 0
        self.composed = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.composed += 1
        if self.composed > MAX_NODES:
            raise _fail(f"the YAML has more than {MAX_NODES} values; a config is a small file", self.source)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _fail(f"the YAML is nested deeper than {MAX_DEPTH} levels", self.source, mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _fail(message: str, source: str | None, line: int | None = None) -> SpecError:
    return SpecError([Problem(key="", message=message, line=line)], source)


def _number_problem(node: yaml.ScalarNode) -> str | None:
    """Numbers a config never needs: integers too long to be a count, floats that are not finite."""
    text = node.value.replace("_", "").strip().lower()
    shown = node.value if len(node.value) <= 24 else node.value[:21] + "..."
    if node.tag == _INT_TAG:
        digits = len(text.lstrip("+-"))
        if digits > MAX_INT_DIGITS:
            return f"an integer with {digits} digits is too large for a config. Received: {shown}"
        return None
    if text.lstrip("+-") in (".inf", ".nan"):
        return f"the number must be finite. Received: {shown}"
    try:
        value = float(text)
    except ValueError:  # YAML 1.1 base-60 and other spellings float() does not take
        return None
    if not math.isfinite(value):
        return f"the number is too large (it overflows to infinity). Received: {shown}"
    return None


def _scalar_problem(node: yaml.ScalarNode) -> str | None:
    """A plain value that would not construct, or a number no config needs."""
    if node.tag in (_INT_TAG, _FLOAT_TAG):
        problem = _number_problem(node)
        if problem is not None:
            return problem
    if node.tag not in yaml.SafeLoader.yaml_constructors:
        return None  # an unknown tag: refused, with its own message, when the document is constructed
    try:
        _SCALARS.construct_object(node)
    except (ValueError, OverflowError, TypeError, yaml.YAMLError) as exc:  # e.g. a date like 2001-13-40
        shown = node.value if len(node.value) <= 24 else node.value[:21] + "..."
        reason = getattr(exc, "problem", None) or str(exc)
        return f"cannot read this value ({reason}). Received: {shown}"
    return None


def _check_graph(root: yaml.Node, source: str | None) -> None:
    """Walk the node graph as it would be expanded, within a node and depth budget, and
    refuse numbers no config needs (each with its key and line)."""
    count = 0
    numbers: list[Problem] = []
    stack: list[tuple[yaml.Node, int, str]] = [(root, 0, "")]
    while stack:
        node, depth, key = stack.pop()
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
                name = k.value if isinstance(k, yaml.ScalarNode) else "?"
                stack.append((k, depth + 1, key))
                stack.append((v, depth + 1, f"{key}.{name}" if key else str(name)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((v, depth + 1, f"{key}[{i}]") for i, v in enumerate(node.value))
        elif isinstance(node, yaml.ScalarNode) and node.tag != _STR_TAG:
            problem = _scalar_problem(node)
            if problem is not None:
                numbers.append(Problem(key=key, message=problem, line=node.start_mark.line + 1))
    if numbers:
        raise SpecError(sorted(numbers, key=lambda p: p.line or 0), source)


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
        raise _fail(f"the file is larger than {MAX_BYTES // 1024} KiB; a config is a small file", source)
    loader: _Loader | None = None
    try:
        loader = _Loader(text, source)  # checks every character: a ReaderError for NUL and the like
        node = loader.get_single_node()
        if node is None:
            raise _fail("the file is empty; expected a mapping with at least 'data' and 'model'", source)
        _check_graph(node, source)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = (exc.problem or str(exc)).strip()
        if exc.context and exc.problem:  # "while parsing a flow mapping", "expected a single document"
            problem = f"{exc.context.strip()}, {problem}"
        if isinstance(exc, yaml.constructor.ConstructorError) and "tag" in problem:
            problem += " (only plain YAML is allowed: tags like !!python/... are never executed)"
        raise _fail(f"invalid YAML: {problem}", source, line) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        raise _fail(
            f"invalid YAML: unacceptable character {chr(exc.character)!r} ({exc.reason})", source, line
        ) from None
    except yaml.YAMLError as exc:
        raise _fail(f"invalid YAML: {exc}", source) from None
    except RecursionError:
        raise _fail(f"the YAML is nested deeper than {MAX_DEPTH} levels", source) from None
    except SpecError:  # a ValueError too: our own, already clear
        raise
    except (ValueError, OverflowError, TypeError) as exc:  # a value PyYAML cannot construct
        raise _fail(f"invalid YAML: a value cannot be read ({exc})", source) from None
    finally:
        if loader is not None:
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


def load_value(text: str) -> Any:
    """One YAML value (a `--set` override) under a config file's budget and number rules.

    Raises SpecError for a value that is too big, too deep or cannot be constructed; a
    YAML syntax error or an unknown tag propagates as `yaml.YAMLError` (the caller then
    keeps the text as a plain string, which validation judges like any other value).
    """
    if len(text) > MAX_BYTES:
        raise _fail(f"the value is longer than {MAX_BYTES // 1024} KiB", None)
    loader: _Loader | None = None
    try:
        loader = _Loader(text, None)
        node = loader.get_single_node()
        if node is None:
            return None
        _check_graph(node, None)
        return loader.construct_document(node)
    except RecursionError:
        raise _fail(f"the value is nested deeper than {MAX_DEPTH} levels", None) from None
    except SpecError:
        raise
    except (ValueError, OverflowError, TypeError) as exc:
        raise _fail(f"a value cannot be read ({exc})", None) from None
    finally:
        if loader is not None:
            loader.dispose()


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
                f"the file is larger than {MAX_BYTES // 1024} KiB; a config is a small file",
                str(path),
            )
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _fail("the file is not UTF-8 text", str(path)) from None
    except OSError as exc:
        raise _fail(f"cannot read the file: {exc.strerror}", str(path)) from None
    return loads(text, str(path))
