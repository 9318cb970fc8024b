"""Base class and the registry helper shared by every spec module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T", bound=type[BaseModel])


class StrictModel(BaseModel):
    """Every spec object refuses unknown keys (Ludwig warns and drops them; we don't)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False, frozen=False)


class Registry(dict[str, type[BaseModel]]):
    """Config name -> spec class, filled by a decorator; the tagged union is built from it."""

    def __init__(self, kind: str, tag: str) -> None:
        super().__init__()
        self.kind = kind
        self.tag = tag

    def register(self, name: str) -> Callable[[T], T]:
        def wrap(cls: T) -> T:
            if name in self:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self[name] = cls
            return cls

        return wrap

    def union(self) -> Any:
        """A pydantic discriminated union of every registered class, keyed on `tag`."""
        members = tuple(self.values())
        if len(members) == 1:
            return members[0]
        return Annotated[Union[members], Field(discriminator=self.tag)]  # noqa: UP007
