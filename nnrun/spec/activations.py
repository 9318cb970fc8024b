"""Activation functions by name. `leaky_relu` takes `alpha`; the rest take nothing."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_serializer, model_validator

from nnrun.spec.base import StrictModel

ActivationName = Literal["linear", "step", "sigmoid", "tanh", "relu", "leaky_relu", "softmax"]
ACTIVATIONS: tuple[str, ...] = ActivationName.__args__  # type: ignore[attr-defined]


class Activation(StrictModel):
    """`relu` or `{name: leaky_relu, alpha: 0.1}`."""

    name: ActivationName = Field(description="Activation function name.")
    alpha: float = Field(0.01, ge=0, description="Negative slope, leaky_relu only.")

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _alpha_only_for_leaky(self) -> Activation:
        if self.name != "leaky_relu" and "alpha" in self.model_fields_set:
            raise ValueError(f"'alpha' applies to leaky_relu only. Received: name={self.name}")
        return self

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        # Editors should also accept the plain-string form.
        obj = handler(core_schema)
        return {"anyOf": [{"type": "string", "enum": list(ACTIVATIONS)}, obj]}

    @model_serializer
    def _ser(self) -> Any:
        return {"name": self.name, "alpha": self.alpha} if self.name == "leaky_relu" else self.name
