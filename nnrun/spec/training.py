"""The `training:` and `evaluation:` sections."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt

from nnrun.spec.base import StrictModel


class EarlyStopping(StrictModel):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs."""

    monitor: str = Field("val_loss", description="A history column, e.g. val_loss or val_accuracy.")
    patience: int = Field(5, ge=0, le=100_000)
    min_delta: float = Field(0.0, ge=0)
    mode: Literal["auto", "min", "max"] = "auto"
    restore_best_weights: bool = True

    @property
    def resolved_mode(self) -> Literal["min", "max"]:
        if self.mode != "auto":
            return self.mode
        lowered = self.monitor.lower()
        better_high = any(w in lowered for w in ("acc", "auc", "precision", "recall", "f1"))
        return "max" if better_high else "min"


class Training(StrictModel):
    epochs: PositiveInt = Field(10, le=10_000_000)
    batch_size: PositiveInt | Literal["full"] = Field(
        32,
        description="Samples per update: an integer, 1 (stochastic) or 'full' (batch gradient descent).",
    )
    shuffle: bool = Field(True, description="Reshuffle the training set every epoch.")
    early_stopping: EarlyStopping | None = None
    trainer: Literal["auto", "graph", "fit"] = Field(
        "auto",
        description="'graph': in-graph loop (fast); 'fit': Keras model.fit; 'auto': graph when it can.",
    )
    tensorboard: bool = Field(False, description="Also write TensorBoard event files into the run folder.")
    inspect: bool = Field(
        True,
        description="Record gradients, weights and activations per epoch (internals.csv) and draw them.",
    )


class Evaluation(StrictModel):
    threshold: float = Field(0.5, gt=0, lt=1, description="Probability above which a binary prediction is 1.")
