"""Learning-rate schedules. Steps count optimizer updates (batches), as in Keras; with
`batch_size: full` one step is one epoch. The optimizer's `learning_rate` is the start."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt, model_validator

from nnrun.spec.base import Registry, StrictModel

SCHEDULES = Registry("schedule", tag="type")


@SCHEDULES.register("inverse_time")
class InverseTime(StrictModel):
    """lr_t = lr_0 / (1 + decay_rate * t / decay_steps)."""

    type: Literal["inverse_time"]
    decay_rate: float = Field(gt=0)
    decay_steps: PositiveInt = 1
    staircase: bool = False


@SCHEDULES.register("exponential")
class Exponential(StrictModel):
    """lr_t = lr_0 * decay_rate ** (t / decay_steps)."""

    type: Literal["exponential"]
    decay_rate: float = Field(gt=0, lt=1)
    decay_steps: PositiveInt = 100
    staircase: bool = False


@SCHEDULES.register("step")
class Step(StrictModel):
    """Piecewise constant: lr_0, then lr_0 * factor after each boundary step."""

    type: Literal["step"]
    boundaries: list[PositiveInt] = Field(min_length=1)
    factor: float = Field(0.1, gt=0)

    @model_validator(mode="after")
    def _increasing(self) -> Step:
        if any(b >= a for a, b in zip(self.boundaries[1:], self.boundaries, strict=False)):
            raise ValueError(f"boundaries must increase. Received: {self.boundaries}")
        return self


@SCHEDULES.register("cyclical")
class Cyclical(StrictModel):
    """Triangular cyclical learning rate between lr_0 and `max_learning_rate`.

    One cycle is 2 * step_size steps (Smith, 2017).
    """

    type: Literal["cyclical"]
    max_learning_rate: float = Field(gt=0)
    step_size: PositiveInt = 20


AnySchedule = SCHEDULES.union()
