"""The root of a config file: `Spec`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PositiveInt, field_validator, model_validator

from nnrun.spec.base import StrictModel
from nnrun.spec.data import DATASETS, DataSpec
from nnrun.spec.layers import AnyLayer
from nnrun.spec.losses import CLASSIFICATION_LOSSES, LOSS_ALIASES, LossName, MetricName
from nnrun.spec.optimizers import SGD, AnyOptimizer
from nnrun.spec.training import Evaluation, Training

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


class ModelSpec(StrictModel):
    layers: list[AnyLayer] = Field(min_length=1, max_length=200, description="Layers, input to output.")  # type: ignore[valid-type]


class SweepSelect(StrictModel):
    """How a sweep picks its best point: a history column at each run's kept epoch."""

    metric: str = Field(description="A history column, e.g. val_accuracy or val_mae.")
    mode: Literal["min", "max"] | None = Field(None, description="min or max; default from the metric's name.")


class SweepSpec(StrictModel):
    """Grid of dotted keys to values; every combination runs `seeds` times."""

    grid: dict[str, list[Any]] = Field(default_factory=dict)
    seeds: PositiveInt = Field(1, le=100)
    select: SweepSelect | None = Field(
        None, description="The best point's criterion; default: the headline validation metric at the kept epoch."
    )

    @field_validator("grid")
    @classmethod
    def _non_empty(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in grid.items():
            if not values:
                raise ValueError(f"grid key {key!r} has no values")
        return grid


class Spec(StrictModel):
    """A whole experiment."""

    name: str = Field(
        "experiment",
        pattern=NAME_PATTERN,
        description="Run name: letters, digits, '.', '_' and '-' only.",
    )
    seed: int = Field(42, ge=0, le=2**31 - 1, description="Seeds Python, NumPy, TensorFlow and the split.")
    data: DataSpec
    model: ModelSpec
    optimizer: AnyOptimizer = Field(default_factory=lambda: SGD(name="sgd"))  # type: ignore[valid-type]
    loss: LossName = Field(description="Loss function: a name, or {name: mse, reduction: sum}.")  # type: ignore[valid-type]
    loss_reduction: Literal["mean", "sum"] = Field(
        "mean",
        description="How a batch's per-sample losses combine: their mean (Keras's default) or their sum "
        "(the study guide's from-scratch XOR). Written as loss: {name: ..., reduction: sum}.",
    )
    metrics: list[MetricName] | None = Field(  # type: ignore[valid-type]
        None, description="Metrics tracked per epoch; default accuracy for classification."
    )
    training: Training = Field(default_factory=Training)
    evaluation: Evaluation = Field(default_factory=Evaluation)
    sweep: SweepSpec | None = None

    @field_validator("loss", mode="before")
    @classmethod
    def _alias(cls, v: Any) -> Any:
        return LOSS_ALIASES.get(v, v) if isinstance(v, str) else v

    @model_validator(mode="before")
    @classmethod
    def _loss_mapping(cls, data: Any) -> Any:
        """`loss: {name: mse, reduction: sum}` -> loss: mse, loss_reduction: sum."""
        if not isinstance(data, dict) or not isinstance(data.get("loss"), dict):
            return data
        loss = data["loss"]
        if "name" not in loss or set(loss) - {"name", "reduction"}:
            raise ValueError(f"loss: expected a name or {{name: <loss>, reduction: mean|sum}}. Received: {loss!r}")
        data = {**data, "loss": loss["name"]}
        if "reduction" in loss:
            data["loss_reduction"] = loss["reduction"]
        return data

    @model_validator(mode="after")
    def _default_metrics(self) -> Spec:
        if self.metrics is None:
            task = DATASETS[self.data.dataset].task
            classify = task in ("binary", "multiclass") or (task is None and self.loss in CLASSIFICATION_LOSSES)
            self.metrics = ["accuracy"] if classify else ["mae"] if self.loss != "mae" else []
        return self

    @model_validator(mode="after")
    def _vocabulary(self) -> Spec:
        """An embedding's vocabulary defaults to the data's (imdb: `num_words`; a CSV text
        column: `vocabulary_size`)."""
        size = self.data.num_words or self.data.vocabulary_size
        if size is not None:
            for layer in self.model.layers:
                if getattr(layer, "type", None) == "embedding" and layer.input_dim is None:  # type: ignore[union-attr]
                    layer.input_dim = size  # type: ignore[union-attr]
        return self

    def to_yaml_dict(self) -> dict[str, Any]:
        """The resolved spec as plain data, defaults included (re-runnable as is)."""
        data = self.model_dump(mode="json", exclude_none=True)
        reduction = data.pop("loss_reduction", "mean")
        if reduction != "mean":
            data["loss"] = {"name": data["loss"], "reduction": reduction}
        return data
