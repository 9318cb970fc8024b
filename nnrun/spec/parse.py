"""Config text -> `Spec`, with every problem reported as file:line: key: message."""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from nnrun.errors import Problem, SpecError
from nnrun.spec import checks
from nnrun.spec.config import Spec
from nnrun.spec.loader import Document, load, load_value, loads

Key = tuple[str | int, ...]


def dotted(path: Key) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def nearest(word: Any, options: list[str]) -> str | None:
    if not isinstance(word, str) or not options:
        return None
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not match:
        match = [o for o in options if o.lower() == word.lower() or word.lower() in o.lower()][:1]
    return match[0] if match and match[0] != word else None


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return Spec.model_json_schema()


def _resolve(node: dict[str, Any], value: Any) -> dict[str, Any]:
    root = _schema()
    for _ in range(10):
        if "$ref" in node:
            node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        elif "oneOf" in node and "discriminator" in node:
            disc = node["discriminator"]
            tag = value.get(disc["propertyName"]) if isinstance(value, dict) else None
            ref = disc["mapping"].get(tag) if isinstance(tag, str) else None
            if ref is None:
                return {}
            node = {"$ref": ref}
        elif "anyOf" in node:
            options = [o for o in node["anyOf"] if o.get("type") != "null"]
            objects = [o for o in options if "$ref" in o or "properties" in o or "oneOf" in o]
            node = objects[0] if objects and isinstance(value, dict) else (options[0] if options else {})
        else:
            return node
    return node


def allowed_keys(data: Any, path: Key) -> list[str]:
    """The keys the schema allows in the mapping at `path` of `data`."""
    node: dict[str, Any] = _schema()
    cur = data
    for el in path:
        node = _resolve(node, cur)
        if isinstance(el, int):
            node = node.get("items", {})
        else:
            node = node.get("properties", {}).get(el) or node.get("additionalProperties") or {}
        try:
            cur = cur[el]
        except (KeyError, IndexError, TypeError):
            cur = None
    node = _resolve(node, cur)
    return list(node.get("properties", {}))


def _data_path(data: Any, loc: tuple[Any, ...]) -> Key:
    """Map a pydantic error location onto the user's data, dropping union tags."""
    out: list[str | int] = []
    cur = data
    for el in loc:
        if isinstance(cur, dict) and el in cur or isinstance(cur, list) and isinstance(el, int) and 0 <= el < len(cur):
            out.append(el)
            cur = cur[el]
        elif (
            isinstance(cur, dict)
            and isinstance(el, str)
            and not el.startswith(("function-", "union", "list["))
            and el
            not in (
                "str",
                "int",
                "float",
                "bool",
            )
            and "[" not in el
            and el.isidentifier()
            and _is_missing_key(cur, el)
        ):
            out.append(el)
            cur = None
    return tuple(out)


def _is_missing_key(cur: dict[str, Any], el: str) -> bool:
    # A name that is not a union tag (tags are the value of cur's 'type'/'name').
    return el not in (cur.get("type"), cur.get("name"))


def _expected_options(ctx: dict[str, Any], key: str) -> list[str]:
    return re.findall(r"'([^']*)'", str(ctx.get(key, "")))


def _message(err: dict[str, Any], data: Any, path: Key) -> tuple[str, str | None]:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    received = err.get("input")
    name = path[-1] if path else "value"
    if isinstance(name, int) and len(path) > 1:  # an item of a list: metrics[0]='acuracy', not 0='acuracy'
        name = f"{path[-2]}[{name}]"
    if kind == "missing":
        return "required key is missing", None
    if kind == "extra_forbidden":
        options = allowed_keys(data, path[:-1])
        hint = f"; allowed keys here: {', '.join(options)}" if options and len(options) <= 14 else ""
        return f"unknown key{hint}", nearest(str(name), options)
    if kind == "literal_error":
        options = _expected_options(ctx, "expected")
        return f"expected one of {', '.join(options)}. Received: {name}={received!r}", nearest(received, options)
    if kind == "union_tag_invalid":
        options = _expected_options(ctx, "expected_tags")
        tag = str(ctx.get("discriminator", "type")).strip("'")
        return f"unknown {tag} {ctx.get('tag')!r}; expected one of {', '.join(options)}", nearest(
            ctx.get("tag"), options
        )
    if kind == "union_tag_not_found":
        tag = str(ctx.get("discriminator", "type")).strip("'")
        return f"needs a '{tag}' key", None
    msg = err["msg"]
    if msg.startswith("Value error, "):
        return msg[len("Value error, ") :], None
    if msg.startswith("Assertion failed, "):
        msg = msg[len("Assertion failed, ") :]
    msg = re.sub(r"^Input should be", "expected", msg)
    msg = re.sub(r"^Input", "the value", msg)
    shown = repr(received)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    if isinstance(received, dict | list) and kind in ("model_type", "dict_type", "list_type"):
        shown = type(received).__name__
    return f"{msg}. Received: {name}={shown}", None


def problems_from_validation(exc: ValidationError, doc: Document) -> list[Problem]:
    found: dict[Key, list[tuple[str, str | None]]] = {}
    for err in exc.errors(include_url=False):
        path = _data_path(doc.data, tuple(err["loc"]))
        if err["type"] == "union_tag_invalid":
            path = (*path, str((err.get("ctx") or {}).get("discriminator", "type")).strip("'"))
        message = _message(err, doc.data, path)
        if message not in found.setdefault(path, []):
            found[path].append(message)
    return [
        Problem(key=dotted(path), message=message, line=_line(doc, path), suggestion=suggestion)
        for path, messages in found.items()
        for message, suggestion in _one_per_value(messages)
    ]


def _one_per_value(messages: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """The branches of a union (`batch_size: int | 'full'`, `stream: 'auto' | bool`) each refuse
    the same value: one line saying every form it could take, not one line per branch."""
    parts = [m.partition(". Received: ") for m, _ in messages]
    received = {tail for _, sep, tail in parts if sep}
    if len(messages) < 2 or len(received) != 1 or not all(head.startswith("expected ") for head, _, _ in parts):
        return messages
    # "a valid integer, unable to parse string as an integer" -> "a valid integer"; the names first
    heads = sorted(
        (head.removeprefix("expected ").split(", unable")[0] for head, _, _ in parts),
        key=lambda h: not h.startswith("one of"),
    )
    suggestion = next((s for _, s in messages if s), None)
    return [(f"expected {' or '.join(heads)}. Received: {received.pop()}", suggestion)]


def _line(doc: Document, path: Key) -> int | None:
    return doc.line_of(path)


def apply_overrides(doc: Document, overrides: list[str]) -> None:
    """Apply `--set dotted.key=value` pairs in place; values are parsed as YAML."""
    problems: list[Problem] = []
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(Problem(key=item, message="expected KEY=VALUE, e.g. training.epochs=5"))
            continue
        try:
            value = load_value(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        except SpecError as exc:  # too big, too deep, or a value that cannot be read
            problems.extend(Problem(key=key, message=p.message) for p in exc.problems)
            continue
        try:
            set_dotted(doc.data, key, value)
        except (KeyError, IndexError, TypeError) as exc:
            problems.append(Problem(key=key, message=f"cannot set this key: {exc}"))
    if problems:
        raise SpecError(problems, f"{doc.source} (--set)")


def set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts: list[str | int] = [int(p) if p.isdigit() else p for p in key.split(".")]
    cur: Any = data
    for i, part in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        if isinstance(cur, list):
            if not isinstance(part, int) or part >= len(cur):
                raise IndexError(f"{dotted(tuple(parts[: i + 1]))} is not an existing list item")
            cur = cur[part]
            continue
        if not isinstance(cur, dict):
            raise TypeError(f"{dotted(tuple(parts[:i]))} is not a mapping")
        if cur.get(part) is None:
            cur[part] = [] if isinstance(nxt, int) else {}
        cur = cur[part]
    last = parts[-1]
    if isinstance(cur, list):
        if not isinstance(last, int) or last >= len(cur):
            raise IndexError(f"{key} is not an existing list item")
        cur[last] = value
    elif isinstance(cur, dict):
        cur[last] = value
    else:
        raise TypeError(f"{dotted(tuple(parts[:-1]))} is not a mapping")


def parse(doc: Document) -> Spec:
    """Validate a loaded document; raises SpecError listing every problem."""
    try:
        spec = Spec.model_validate(doc.data)
    except ValidationError as exc:
        raise SpecError(problems_from_validation(exc, doc), doc.source) from None
    problems = [
        Problem(
            key=dotted(k),
            message=m,
            line=_line(doc, k),
            suggestion=nearest(_get(doc.data, k), opts),
        )
        for k, m, opts in checks.monitor_problems(spec)
    ]
    facts = checks.static_facts(spec)
    if facts is not None:
        problems += semantic_problems(spec, facts, doc)
    if problems:
        raise SpecError(problems, doc.source)
    return spec


def semantic_problems(spec: Spec, facts: checks.DataFacts, doc: Document) -> list[Problem]:
    return [Problem(key=dotted(k), message=m, line=_line(doc, k)) for k, m in checks.problems(spec, facts)]


def _get(data: Any, path: Key) -> Any:
    for p in path:
        try:
            data = data[p]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def load_spec(path: str | Path, overrides: list[str] | None = None) -> tuple[Spec, Document]:
    doc = load(path)
    if overrides:
        apply_overrides(doc, overrides)
    return parse(doc), doc


def loads_spec(text: str, source: str = "<string>", overrides: list[str] | None = None) -> Spec:
    doc = loads(text, source)
    if overrides:
        apply_overrides(doc, overrides)
    return parse(doc)
