"""Learning-rate schedules. `unit: epoch` (the default) counts finished epochs, so
`decay_steps: 1` decays once per epoch, as the study guide's alpha_0 / (1 + lambda * t);
`unit: step` counts optimizer updates (batches), as Keras does. The optimizer's
`learning_rate` is the start.

Adding a schedule is a class here (its fields are its Keras class's arguments after the
initial rate, `keras_class` names that class in `keras.optimizers.schedules` or
`nnrun.build.registry.CUSTOM_SCHEDULES`) and a test; the builder needs no code."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, PositiveInt, model_validator

from nnrun.spec.base import Registry, StrictModel

SCHEDULES = Registry("schedule", tag="type")
Unit = Annotated[
    Literal["epoch", "step"],
    Field(description="What t counts: finished epochs (default) or optimizer updates (Keras's steps)."),
]


class ScheduleSpec(StrictModel):
    """A schedule: the Keras class it builds, called with the initial rate and `keras_kwargs()`."""

    keras_class: ClassVar[str]

    def keras_kwargs(self) -> dict[str, Any]:
        return self.model_dump(exclude={"type", "unit"})


@SCHEDULES.register("inverse_time")
class InverseTime(ScheduleSpec):
    """lr_t = lr_0 / (1 + decay_rate * t / decay_steps)."""

    type: Literal["inverse_time"]
    decay_rate: float = Field(ge=0, description="lambda; 0 keeps the rate constant (a decay sweep's baseline).")
    decay_steps: PositiveInt = 1
    staircase: bool = False
    unit: Unit = "epoch"
    keras_class: ClassVar[str] = "InverseTimeDecay"


@SCHEDULES.register("exponential")
class Exponential(ScheduleSpec):
    """lr_t = lr_0 * decay_rate ** (t / decay_steps)."""

    type: Literal["exponential"]
    decay_rate: float = Field(gt=0, le=1, description="1 keeps the rate constant.")
    decay_steps: PositiveInt = 100
    staircase: bool = False
    unit: Unit = "epoch"
    keras_class: ClassVar[str] = "ExponentialDecay"


@SCHEDULES.register("step")
class Step(ScheduleSpec):
    """Piecewise constant: lr_0, then lr_0 * factor after each boundary step."""

    type: Literal["step"]
    boundaries: list[PositiveInt] = Field(min_length=1)
    factor: float = Field(0.1, gt=0)
    unit: Unit = "epoch"
    keras_class: ClassVar[str] = "StepDecay"

    @model_validator(mode="after")
    def _increasing(self) -> Step:
        if any(b >= a for a, b in zip(self.boundaries[1:], self.boundaries, strict=False)):
            raise ValueError(f"boundaries must increase. Received: {self.boundaries}")
        return self


@SCHEDULES.register("cyclical")
class Cyclical(ScheduleSpec):
    """Triangular cyclical learning rate between lr_0 and `max_learning_rate`.

    One cycle is 2 * step_size steps (Smith, 2017).
    """

    type: Literal["cyclical"]
    max_learning_rate: float = Field(gt=0)
    step_size: PositiveInt = 20
    unit: Unit = "epoch"
    keras_class: ClassVar[str] = "Cyclical"


AnySchedule = SCHEDULES.union()
