"""Base class and the registry helper shared by every spec module."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field

from nnrun.registry import Registry as BaseRegistry

T = TypeVar("T", bound=type[BaseModel])


class StrictModel(BaseModel):
    """Every spec object refuses unknown keys (Ludwig warns and drops them; we don't)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False, frozen=False)


class Registry(BaseRegistry[type[BaseModel]]):
    """Config name -> spec class, filled by a decorator; the tagged union is built from it."""

    def __init__(self, kind: str, tag: str) -> None:
        super().__init__(kind)
        self.tag = tag

    def union(self) -> Any:
        """A pydantic discriminated union of every registered class, keyed on `tag`."""
        members = tuple(self.values())
        if len(members) == 1:
            return members[0]
        return Annotated[Union[members], Field(discriminator=self.tag)]  # noqa: UP007
