"""Optimizers by `name`; each holds the keyword arguments of its Keras class."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from nnrun.spec.base import Registry, StrictModel
from nnrun.spec.schedules import AnySchedule

OPTIMIZERS = Registry("optimizer", tag="name")

#: The constraints every optimizer's arguments share, said once.
LearningRate = Annotated[float, Field(gt=0, le=100)]
Decay = Annotated[float, Field(ge=0, lt=1)]  # a momentum or a moving average's decay
Epsilon = Annotated[float, Field(gt=0)]


class OptimizerSpec(StrictModel):
    keras_class: ClassVar[str]
    schedule: AnySchedule | None = Field(None, description="Optional learning-rate schedule.")
    clipnorm: float | None = Field(
        None,
        gt=0,
        description="Rescale each weight's gradient so its L2 norm is at most this (tames exploding gradients).",
    )
    clipvalue: float | None = Field(None, gt=0, description="Clip every gradient value into [-clipvalue, clipvalue].")

    @model_validator(mode="after")
    def _one_clip(self) -> OptimizerSpec:
        # Keras takes one of them, not both
        if self.clipnorm is not None and self.clipvalue is not None:
            raise ValueError(
                f"set clipnorm or clipvalue, not both. Received: clipnorm={self.clipnorm}, clipvalue={self.clipvalue}"
            )
        return self

    def keras_kwargs(self) -> dict[str, Any]:
        return self.model_dump(exclude={"name", "schedule", "learning_rate"}, exclude_none=True)


@OPTIMIZERS.register("sgd")
class SGD(OptimizerSpec):
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""

    name: Literal["sgd"]
    learning_rate: LearningRate = 0.01
    momentum: Decay = 0.0
    nesterov: bool = False
    keras_class: ClassVar[str] = "SGD"


@OPTIMIZERS.register("adam")
class Adam(OptimizerSpec):
    name: Literal["adam"]
    learning_rate: LearningRate = 0.001
    beta_1: Decay = 0.9
    beta_2: Decay = 0.999
    epsilon: Epsilon = 1e-7
    keras_class: ClassVar[str] = "Adam"


@OPTIMIZERS.register("rmsprop")
class RMSprop(OptimizerSpec):
    name: Literal["rmsprop"]
    learning_rate: LearningRate = 0.001
    rho: Decay = 0.9
    momentum: Decay = 0.0
    epsilon: Epsilon = 1e-7
    keras_class: ClassVar[str] = "RMSprop"


@OPTIMIZERS.register("adagrad")
class Adagrad(OptimizerSpec):
    name: Literal["adagrad"]
    learning_rate: LearningRate = 0.001
    initial_accumulator_value: float = Field(0.1, ge=0)
    epsilon: Epsilon = 1e-7
    keras_class: ClassVar[str] = "Adagrad"


AnyOptimizer = OPTIMIZERS.union()
