"""Optimizers by `name`; each holds the keyword arguments of its Keras class."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from nnrun.spec.base import Registry, StrictModel
from nnrun.spec.schedules import AnySchedule

OPTIMIZERS = Registry("optimizer", tag="name")


class OptimizerSpec(StrictModel):
    keras_class: ClassVar[str]
    schedule: AnySchedule | None = Field(None, description="Optional learning-rate schedule.")

    def keras_kwargs(self) -> dict[str, Any]:
        return self.model_dump(exclude={"name", "schedule", "learning_rate"})


@OPTIMIZERS.register("sgd")
class SGD(OptimizerSpec):
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""

    name: Literal["sgd"]
    learning_rate: float = Field(0.01, gt=0, le=100)
    momentum: float = Field(0.0, ge=0, lt=1)
    nesterov: bool = False
    keras_class: ClassVar[str] = "SGD"


@OPTIMIZERS.register("adam")
class Adam(OptimizerSpec):
    name: Literal["adam"]
    learning_rate: float = Field(0.001, gt=0, le=100)
    beta_1: float = Field(0.9, ge=0, lt=1)
    beta_2: float = Field(0.999, ge=0, lt=1)
    epsilon: float = Field(1e-7, gt=0)
    keras_class: ClassVar[str] = "Adam"


@OPTIMIZERS.register("rmsprop")
class RMSprop(OptimizerSpec):
    name: Literal["rmsprop"]
    learning_rate: float = Field(0.001, gt=0, le=100)
    rho: float = Field(0.9, ge=0, lt=1)
    momentum: float = Field(0.0, ge=0, lt=1)
    epsilon: float = Field(1e-7, gt=0)
    keras_class: ClassVar[str] = "RMSprop"


@OPTIMIZERS.register("adagrad")
class Adagrad(OptimizerSpec):
    name: Literal["adagrad"]
    learning_rate: float = Field(0.001, gt=0, le=100)
    initial_accumulator_value: float = Field(0.1, ge=0)
    epsilon: float = Field(1e-7, gt=0)
    keras_class: ClassVar[str] = "Adagrad"


AnyOptimizer = OPTIMIZERS.union()
