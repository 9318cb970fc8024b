"""Name -> object registries, one style for all of nnrun (never imports TensorFlow).

`nnrun.spec` keeps name -> spec class registries (layers, optimizers, schedules, activations);
`nnrun.build` keeps name -> Keras object registries (losses, metrics, schedules, custom
layers). `get(name)` answers with the object, or an error that lists the valid names and
the nearest match.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Generic, TypeVar

from nnrun.errors import NnrunError

T = TypeVar("T")
F = TypeVar("F")


class Registry(dict[str, T], Generic[T]):
    """`kind` names what is registered ("loss", "layer") in error messages."""

    def __init__(self, kind: str, entries: dict[str, T] | None = None) -> None:
        super().__init__(entries or {})
        self.kind = kind

    def register(self, name: str) -> Callable[[F], F]:
        """Decorator: `@LOSSES.register("mse")`; a name registered twice is a bug."""

        def wrap(obj: F) -> F:
            if name in self:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self[name] = obj  # type: ignore[assignment]
            return obj

        return wrap

    def names(self) -> list[str]:
        return sorted(self)

    def nearest(self, name: object) -> str | None:
        near = difflib.get_close_matches(str(name), list(self), n=1, cutoff=0.6)
        return near[0] if near else None

    def get(self, name: str) -> T:  # type: ignore[override]
        """The entry for `name`; an unknown name lists the valid ones and the nearest."""
        if name in self:
            return self[name]
        near = self.nearest(name)
        hint = f" (did you mean {near!r}?)" if near else ""
        raise NnrunError(f"unknown {self.kind} {name!r}{hint}; expected one of: {', '.join(self.names())}")
