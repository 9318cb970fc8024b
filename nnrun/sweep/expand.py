"""Expand a sweep into points: the Oracle's role (values in, validated specs out; no model, no data).

A sweep is a grid of dotted keys to value lists, taken from the config's `sweep:` section
and from the command line, plus a number of seeds. Its Cartesian product, times the seeds,
gives the points; each point is one ordinary run.

How the sources combine (documented in the README):

* `--grid KEY=V1,V2` and `--lr ...` add keys to the `sweep.grid` of the YAML; a key given on
  the command line replaces the YAML's values for that key. `--seeds N` replaces `sweep.seeds`.
* `--lr` is `--grid optimizer.learning_rate=...`; giving both is an error.
* A grid key may tie several keys to one list of values (`model.layers.1.rate,model.layers.3.rate:
  [0.2, 0.5]`): they vary together, two points here, not four. A value may be a whole mapping
  (`optimizer: [{name: sgd, learning_rate: 0.1}, {name: adam, learning_rate: 0.001}]` pairs each
  optimizer with its own rate); tables and legends name it `sgd(0.1)`.
* Keys vary in the order: YAML keys, then `--grid` keys, then the learning rate; the last
  varies fastest, then the seeds. A point with seed index k trains with `seed + k`.
* Every point is the base config with the `sweep:` section removed and the point's values
  set exactly as `nnrun train --set` would, then validated with the same parser; one invalid
  point stops the sweep before anything trains, and the error names the point.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import yaml

from nnrun.errors import NnrunError, Problem, SpecError
from nnrun.spec.config import Spec
from nnrun.spec.loader import Document
from nnrun.spec.parse import parse, set_dotted

LR_KEY = "optimizer.learning_rate"
MAX_POINTS = 10_000
MAX_LOG_POINTS = 1_000


@dataclass(frozen=True)
class Point:
    """One run of the sweep: the grid values it sets, its seed, and the validated spec."""

    index: int
    values: dict[str, Any]
    seed_index: int
    seed: int
    spec: Spec
    doc: Document

    @property
    def label(self) -> str:
        return label(self.values)


@dataclass
class Plan:
    """The whole sweep: the grid it expands, the seeds, and every point in order."""

    grid: dict[str, list[Any]]
    seeds: int
    base_seed: int
    name: str
    points: list[Point] = field(default_factory=list)
    #: the requested criterion for the best point ({metric, mode}); None = the default
    select: dict[str, Any] | None = None

    @property
    def lr_sweep(self) -> bool:
        return LR_KEY in self.grid and len(self.grid[LR_KEY]) > 1


def label(values: dict[str, Any]) -> str:
    """`optimizer.learning_rate=0.01, optimizer.name=adam` (or `baseline` for no keys)."""
    return ", ".join(f"{k}={format_value(v)}" for k, v in values.items()) or "baseline"


def format_value(value: Any) -> str:
    """A grid value as tables and legends show it: numbers to 4 significant digits, a mapping
    with a name or type by that name and its other values (`{name: sgd, learning_rate: 0.1}`
    -> `sgd(0.1)`; with several, `adam(learning_rate=0.001, beta_1=0.8)`)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str | int | bool) or value is None:
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        head = next((value[k] for k in ("name", "type") if isinstance(value.get(k), str)), None)
        rest = {k: v for k, v in value.items() if head is None or value.get(k) is not head}
        if head is not None and len(rest) <= 1:
            return f"{head}({', '.join(format_value(v) for v in rest.values())})"
        inner = ", ".join(f"{k}={format_value(v)}" for k, v in rest.items())
        return f"{head}({inner})" if head is not None else "{" + inner + "}"
    return yaml.safe_dump(value, default_flow_style=True, width=1000).strip()


def tied(key: str) -> list[str]:
    """The keys a grid key sets: `a.x,b.y` ties two keys to one list of values."""
    return [part.strip() for part in key.split(",")]


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise NnrunError(f"--lr: expected a number for the {what}. Received: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise NnrunError(f"--lr: a learning rate must be a positive number. Received: {text!r}")
    return value


def parse_lr(text: str) -> list[float]:
    """`1e-4,1e-3,1e-2` (a list) or `1e-4:1:9` (9 points log-spaced from 1e-4 to 1, both included)."""
    text = text.strip()
    if not text:
        raise NnrunError("--lr: expected a list like 1e-4,1e-3,1e-2 or a range like 1e-4:1:9")
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise NnrunError(f"--lr: a range is LOW:HIGH:COUNT, e.g. 1e-4:1:9. Received: {text!r}")
        low, high = _number(parts[0], "lower bound"), _number(parts[1], "upper bound")
        try:
            count = int(parts[2])
        except ValueError:
            raise NnrunError(f"--lr: COUNT must be an integer. Received: {parts[2]!r}") from None
        if not 2 <= count <= MAX_LOG_POINTS:
            raise NnrunError(f"--lr: COUNT must be between 2 and {MAX_LOG_POINTS}. Received: {count}")
        if low >= high:
            raise NnrunError(f"--lr: LOW must be below HIGH. Received: {text!r}")
        a, b = math.log10(low), math.log10(high)
        values = [float(f"{10 ** (a + (b - a) * i / (count - 1)):.4g}") for i in range(count)]
        if len(set(values)) != len(values):
            raise NnrunError(f"--lr: {count} points between {low:g} and {high:g} repeat values at 4 significant digits")
        return values
    values = [_number(part.strip(), "learning rate") for part in text.split(",") if part.strip()]
    _no_duplicates("optimizer.learning_rate (--lr)", values)
    return values


def _scalar(raw: str) -> Any:
    raw = raw.strip()
    if not raw:
        return ""
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """`KEY=V1,V2,...` (values parsed as YAML scalars) or `KEY=[V1, V2]` (a YAML list)."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise NnrunError(f"--grid: expected KEY=V1,V2,..., e.g. optimizer.name=sgd,adam. Received: {item!r}")
        if key in grid:
            raise NnrunError(f"--grid: the key {key} is given twice; put all its values in one --grid")
        _check_key(key, "--grid")
        if raw.strip().startswith("["):
            try:
                values = yaml.safe_load(raw)
            except yaml.YAMLError as exc:
                raise NnrunError(f"--grid {key}: invalid YAML list: {exc}") from None
            if not isinstance(values, list):
                raise NnrunError(f"--grid {key}: expected a list. Received: {raw!r}")
        else:
            values = [_scalar(part) for part in raw.split(",")]
        if not values or any(v == "" for v in values):
            raise NnrunError(f"--grid {key}: empty value in {raw!r}; expected KEY=V1,V2,...")
        _no_duplicates(key, values)
        grid[key] = values
    return grid


def _check_key(key: str, where: str) -> None:
    for one in tied(key):
        parts = one.split(".")
        if any(not p for p in parts):
            raise NnrunError(
                f"{where}: {one!r} is not a dotted key like optimizer.learning_rate "
                "(tie keys that vary together with a comma: model.layers.1.rate,model.layers.3.rate)"
            )
        if parts[0] == "sweep":
            raise NnrunError(f"{where}: a sweep cannot vary its own settings ({one})")


def _check_tied(grid: dict[str, list[Any]]) -> None:
    seen: dict[str, str] = {}
    for key in grid:
        for one in tied(key):
            if one in seen:
                raise NnrunError(f"sweep grid: the key {one} is in both {seen[one]!r} and {key!r}; give it once")
            seen[one] = key


def _no_duplicates(key: str, values: list[Any]) -> None:
    seen: list[Any] = []
    for v in values:
        if any(v == s and type(v) is type(s) for s in seen):
            raise NnrunError(f"{key}: the value {format_value(v)} is listed twice")
        seen.append(v)


def combine(
    doc: Document,
    lr: str | None = None,
    grid_items: list[str] | None = None,
    seeds: int | None = None,
) -> tuple[dict[str, list[Any]], int]:
    """The grid and seed count from the config's `sweep:` section and the command line."""
    section = doc.data.get("sweep") or {}
    if not isinstance(section, dict):
        raise SpecError([Problem("sweep", "expected a mapping with 'grid' and/or 'seeds'", doc.line_of(("sweep",)))])
    grid: dict[str, list[Any]] = {}
    for key, values in (section.get("grid") or {}).items():
        grid[str(key)] = list(values) if isinstance(values, list) else [values]
    cli = parse_grid(grid_items or [])
    if lr is not None:
        if LR_KEY in cli:
            raise NnrunError(f"--lr and --grid {LR_KEY}=... set the same key; use one of them")
        cli[LR_KEY] = parse_lr(lr)
    for key, values in cli.items():
        grid.pop(key, None)
        grid[key] = values
    n_seeds = section.get("seeds", 1) if seeds is None else seeds
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, int) or not 1 <= n_seeds <= 100:
        raise NnrunError(f"--seeds / sweep.seeds: expected an integer from 1 to 100. Received: {n_seeds!r}")
    return grid, n_seeds


def expand(
    doc: Document,
    lr: str | None = None,
    grid_items: list[str] | None = None,
    seeds: int | None = None,
    select_cli: str | None = None,
) -> Plan:
    """Every point of the sweep, validated; raises NnrunError/SpecError before anything trains."""
    from nnrun.sweep import select

    # The base must be valid on its own first: its errors are the user's, not a point's.
    base = parse(doc)
    grid, n_seeds = combine(doc, lr, grid_items, seeds)
    requested = select.from_config(doc.data.get("sweep"), select_cli)
    columns = ["loss", *(base.metrics or [])]
    select.check(requested, grid, [p + c for c in columns for p in ("", "val_")])
    plan = expand_grid(doc, grid, n_seeds)
    plan.select = requested
    return plan


def expand_grid(doc: Document, grid: dict[str, list[Any]], n_seeds: int) -> Plan:
    """The points of `grid` x `n_seeds` over the base config `doc` (its `sweep:` section is ignored)."""
    base_spec = parse(doc)
    for key in grid:
        _check_key(key, "sweep.grid")
    _check_tied(grid)
    if not grid and n_seeds == 1:
        raise NnrunError(
            "nothing to sweep: give --lr 1e-3,1e-2, --grid KEY=V1,V2, --seeds N or a sweep: section in the config"
        )
    total = math.prod(len(v) for v in grid.values()) * n_seeds
    if total > MAX_POINTS:
        raise NnrunError(f"the sweep has {total} points; at most {MAX_POINTS} are allowed")
    base = {k: v for k, v in doc.data.items() if k != "sweep"}
    plan = Plan(grid=grid, seeds=n_seeds, base_seed=base_spec.seed, name=base_spec.name)
    keys = list(grid)
    bad: list[tuple[int, str, SpecError]] = []
    index = 0
    for combo in itertools.product(*(grid[k] for k in keys)):
        values = dict(zip(keys, combo, strict=True))
        for k in range(n_seeds):
            data = copy.deepcopy(base)
            problems: list[Problem] = []
            for key, value in values.items():
                try:
                    for one in tied(key):
                        set_dotted(data, one, copy.deepcopy(value))
                except (KeyError, IndexError, TypeError) as exc:
                    problems.append(Problem(key=key, message=f"cannot set this key: {exc}"))
            where = f"{doc.source or '<config>'} (sweep point {index}: {label(values)})"
            point_doc = Document(data=data, lines=doc.lines, source=where)
            try:
                if problems:
                    raise SpecError(problems, where)
                spec = parse(point_doc)
                if k:
                    seed = spec.seed + k
                    set_dotted(data, "seed", seed)
                    spec = parse(point_doc)
            except SpecError as exc:
                bad.append((index, label(values), exc))
                index += 1
                continue
            plan.points.append(Point(index, values, k, spec.seed, spec, point_doc))
            index += 1
    if bad:
        _raise_first(bad, total)
    return plan


def _raise_first(bad: list[tuple[int, str, SpecError]], total: int) -> None:
    """The first invalid point's problems, plus a line listing the other invalid points."""
    _, _, first = bad[0]
    problems = list(first.problems)
    if len(bad) > 1:
        others = ", ".join(f"{i} ({lab})" for i, lab, _ in bad[1:6])
        more = f" and {len(bad) - 6} more" if len(bad) > 6 else ""
        problems.append(
            Problem(key="sweep", message=f"{len(bad)} of {total} points are invalid; the others: {others}{more}")
        )
    raise SpecError(problems, first.source)
