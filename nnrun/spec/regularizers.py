"""Weight penalties: `{l2: 0.01}`, `{l1: 0.001}` or both (l1_l2)."""

from __future__ import annotations

from pydantic import Field, model_validator

from nnrun.spec.base import StrictModel


class Regularizer(StrictModel):
    """L1 and/or L2 penalty on a layer's weights."""

    l1: float = Field(0.0, ge=0, le=10, description="L1 penalty factor.")
    l2: float = Field(0.0, ge=0, le=10, description="L2 penalty factor.")

    @model_validator(mode="after")
    def _some_penalty(self) -> Regularizer:
        if not self.model_fields_set:
            raise ValueError("expected at least one of 'l1' or 'l2', e.g. {l2: 0.01}")
        return self

    @property
    def kind(self) -> str:
        if self.l1 and self.l2:
            return "l1_l2"
        return "l1" if self.l1 else "l2"
