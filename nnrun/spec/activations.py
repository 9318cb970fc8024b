"""Activation functions by name. `leaky_relu` takes `alpha`; the rest take nothing.

Adding one is an `ACTIVATIONS` entry naming how Keras computes it (and its NumPy curve for
`nnrun plot activations`, and a test); the builder (`nnrun.build.registry`) needs no code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, model_serializer, model_validator

from nnrun.registry import Registry
from nnrun.spec.base import StrictModel


@dataclass(frozen=True)
class ActivationEntry:
    """How Keras computes an activation: a name a layer's `activation=` takes, or else a layer of
    its own (a class in `keras.layers` or `nnrun.build.registry.CUSTOM_LAYERS`) that gets `alpha` as `alpha_arg`."""

    keras_name: str | None = None
    layer: str | None = None
    alpha_arg: str | None = None


ACTIVATIONS: Registry[ActivationEntry] = Registry(
    "activation",
    {
        "linear": ActivationEntry("linear"),
        "step": ActivationEntry(layer="Step"),  # Keras has no name for it
        "sigmoid": ActivationEntry("sigmoid"),
        "tanh": ActivationEntry("tanh"),
        "relu": ActivationEntry("relu"),
        "leaky_relu": ActivationEntry(layer="LeakyReLU", alpha_arg="negative_slope"),
        "softmax": ActivationEntry("softmax"),
    },
)
ActivationName = Literal[tuple(ACTIVATIONS)]  # type: ignore[valid-type]


class Activation(StrictModel):
    """`relu` or `{name: leaky_relu, alpha: 0.1}`."""

    name: ActivationName = Field(description="Activation function name.")  # type: ignore[valid-type]
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
