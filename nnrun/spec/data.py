"""The `data:` section and what nnrun knows about each dataset without loading it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveInt, field_validator, model_validator

from nnrun.spec.base import StrictModel

Task = Literal["binary", "multiclass", "regression"]


@dataclass(frozen=True)
class DatasetInfo:
    """Static facts about a built-in dataset (None = known only after loading)."""

    description: str
    task: Task | None
    input_shape: tuple[int, ...] | None
    n_classes: int | None = None
    n_outputs: int = 1
    standardize: bool = True
    sized: bool = False  # takes n_samples / noise
    default_noise: float = 0.0
    #: A Keras dataset: downloaded once into Keras's cache; n_samples takes a stratified subset.
    keras: bool = False


def _keras(description: str, task: Task, input_shape: tuple[int, ...] | None, n_classes: int) -> DatasetInfo:
    """A Keras dataset: pixels already in [0, 1] or word indices, so never standardized."""
    return DatasetInfo(description, task, input_shape, n_classes, standardize=False, keras=True)


DATASETS: dict[str, DatasetInfo] = {
    "xor": DatasetInfo("XOR gate, 4 rows (not linearly separable)", "binary", (2,), 2, standardize=False),
    "and": DatasetInfo("AND gate, 4 rows", "binary", (2,), 2, standardize=False),
    "or": DatasetInfo("OR gate, 4 rows", "binary", (2,), 2, standardize=False),
    "breast_cancer": DatasetInfo("Wisconsin breast cancer, 569 x 30, binary", "binary", (30,), 2),
    "iris": DatasetInfo("Iris flowers, 150 x 4, 3 classes", "multiclass", (4,), 3),
    "wine": DatasetInfo("Wine cultivars, 178 x 13, 3 classes", "multiclass", (13,), 3),
    "digits": DatasetInfo(
        "8x8 handwritten digits, 1797 x 64 pixels in [0, 1], 10 classes",
        "multiclass",
        (64,),
        10,
        standardize=False,
    ),
    "moons": DatasetInfo("two interleaving half-moons, 2 features", "binary", (2,), 2, sized=True, default_noise=0.2),
    "circles": DatasetInfo("two concentric circles, 2 features", "binary", (2,), 2, sized=True, default_noise=0.1),
    "diabetes": DatasetInfo("diabetes progression, 442 x 10, regression", "regression", (10,)),
    "linear": DatasetInfo("y = 2x + noise, 1 feature, regression", "regression", (1,), sized=True, default_noise=0.1),
    "sine": DatasetInfo(
        "next value of a noisy sine wave from the previous `sequence_length` values",
        "regression",
        None,
        sized=True,
        default_noise=0.05,
        standardize=False,
    ),
    "csv": DatasetInfo("your CSV file with a target column", None, None),
    "npz": DatasetInfo("your NumPy .npz file with arrays x and y (and optionally x_test, y_test)", None, None),
    "images": DatasetInfo("your pictures: a folder with one sub-folder per class", None, None, standardize=False),
    "mnist": _keras(
        "MNIST handwritten digits (Keras), 70 000 x 28x28x1 pixels in [0, 1], 10 classes", "multiclass", (28, 28, 1), 10
    ),
    "fashion_mnist": _keras(
        "Fashion-MNIST clothing (Keras), 70 000 x 28x28x1 pixels in [0, 1], 10 classes", "multiclass", (28, 28, 1), 10
    ),
    "cifar10": _keras(
        "CIFAR-10 photos (Keras), 60 000 x 32x32x3 pixels in [0, 1], 10 classes", "multiclass", (32, 32, 3), 10
    ),
    "imdb": _keras(
        "IMDB movie reviews (Keras) as word indices, 50 000 reviews, positive or negative", "binary", None, 2
    ),
}
#: The datasets that can be read from their files batch by batch (`data.stream`).
STREAMABLE = ("npz", "images")
DatasetName = Literal[tuple(DATASETS)]  # type: ignore[valid-type]


class DataSpec(StrictModel):
    """Where the data comes from and how it is split and scaled."""

    dataset: DatasetName = Field(description="Built-in dataset name, or 'csv'.")
    path: str | None = Field(
        None, description="csv, npz: the file; images: the folder of class folders; relative to the config file."
    )
    target: str | None = Field(None, description="Name of the target column (csv only).")
    task: Literal["auto", "classification", "binary", "multiclass", "regression"] = Field(
        "auto",
        description=(
            "csv only: what the target is. 'auto' infers it (text or at most 20 whole numbers, also "
            "written 0.0/1.0: classes; other numbers: regression) and says so; 'classification' is "
            "binary or multiclass by the number of classes."
        ),
    )
    test_size: float = Field(0.2, gt=0, lt=1, description="Fraction held out for testing.")
    validation: Literal["test"] | float = Field(
        0.2,
        description=(
            "Fraction of the training split held out for validation (early stopping, sweeps and verdicts "
            "choose on it); 'test' validates on the test split, which makes the test figures optimistic."
        ),
    )
    stratify: bool = Field(
        True, description="Keep class proportions in every split (classification); false splits as shuffled rows."
    )
    split_seed: int | None = Field(
        None,
        ge=0,
        le=2**32 - 1,
        description="Seed of the splits (scikit-learn's random_state); default: the config's seed.",
    )
    standardize: bool | None = Field(None, description="StandardScaler fit on train only; default per dataset.")
    n_samples: PositiveInt | None = Field(
        None,
        description=(
            "Samples to generate (moons, circles, linear, sine), or a stratified subset of a Keras dataset "
            "(mnist, fashion_mnist, cifar10, imdb) for quick experiments."
        ),
    )
    noise: float | None = Field(None, ge=0, le=10, description="Noise level (moons, circles, linear, sine).")
    sequence_length: PositiveInt | None = Field(
        None,
        le=10_000,
        description=(
            "sine: steps per input window (default 20); imdb: words per review, padded or cut (default 200); "
            "csv text: words per text (default 100)."
        ),
    )
    text: str | None = Field(
        None,
        description=(
            "csv only: the column of free text (reviews, messages); it becomes word-index sequences for an "
            "embedding layer, as Keras's TextVectorization makes them, and is the model's only input."
        ),
    )
    vocabulary_size: PositiveInt | None = Field(
        None, ge=3, le=1_000_000, description="csv text: words kept, padding and [UNK] included (default 10000)."
    )
    image_size: list[PositiveInt] | None = Field(
        None,
        min_length=2,
        max_length=2,
        description="images only: [height, width] every picture is resized to (default [64, 64]).",
    )
    color_mode: Literal["rgb", "grayscale"] = Field("rgb", description="images only: 3 colour channels or 1 grey one.")
    num_words: PositiveInt | None = Field(
        None, ge=4, le=100_000, description="imdb only: keep the most frequent words (default 10000)."
    )

    stream: Literal["auto"] | bool = Field(
        "auto",
        description=(
            "npz and images: read the rows from the files batch by batch through tf.data instead of loading "
            "them whole. 'auto' streams image folders always, and an npz whose arrays would take more than "
            "memory_share of the memory available."
        ),
    )
    memory_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description=(
            "npz with stream: auto: the share of available memory (the smaller of free RAM and the "
            "process's address-space limit) the loaded arrays may take before the file is streamed."
        ),
    )

    def absolute_path(self, base: Path) -> None:
        """Make a relative `path` (relative to the config file in `base`) absolute, in place."""
        if self.path is not None and not os.path.isabs(self.path):
            self.path = os.path.normpath(os.path.join(os.path.abspath(base), self.path))

    @field_validator("validation")
    @classmethod
    def _fraction(cls, v: str | float) -> str | float:
        if isinstance(v, float) and not 0 < v < 1:
            raise ValueError(f"expected 'test' or a fraction between 0 and 1. Received: {v}")
        return v

    @model_validator(mode="after")
    def _fill_and_check(self) -> DataSpec:
        info = DATASETS[self.dataset]
        needs = {"csv": ("path", "target"), "npz": ("path",), "images": ("path",)}.get(self.dataset, ())
        missing = [k for k in needs if getattr(self, k) is None]
        if missing:
            raise ValueError(f"dataset {self.dataset!r} needs {' and '.join(repr(m) for m in missing)}")
        wrong = [k for k in ("path", "target") if k not in needs and getattr(self, k) is not None]
        if self.task != "auto" and self.dataset not in ("csv", "npz"):
            wrong.append("task")
        if self.dataset != "csv":
            wrong += [k for k in ("text", "vocabulary_size") if getattr(self, k) is not None]
        elif self.text is None and self.vocabulary_size is not None:
            raise ValueError("vocabulary_size only applies with data.text (a column of free text)")
        if self.dataset != "images":
            wrong += [k for k in ("image_size",) if getattr(self, k) is not None]
            if self.color_mode != "rgb":
                wrong.append("color_mode")
        if wrong:
            owners = {
                "path": "csv, npz, images",
                "target": "csv",
                "task": "csv, npz",
                "text": "csv",
                "vocabulary_size": "csv",
            }
            first = wrong[0]
            raise ValueError(
                f"{', '.join(wrong)} only appl{'ies' if len(wrong) == 1 else 'y'} to dataset "
                f"{owners.get(first, 'images')}. Received: dataset={self.dataset}"
            )
        if self.stream is True and self.dataset not in STREAMABLE:
            raise ValueError(
                f"stream: true only applies to dataset {', '.join(STREAMABLE)}. Received: dataset={self.dataset}"
            )
        if self.dataset == "images" and self.image_size is None:
            self.image_size = [64, 64]
        if self.dataset != "imdb" and self.num_words is not None:
            raise ValueError("num_words only applies to imdb")
        if self.text is not None:
            if self.text == self.target:
                raise ValueError(f"text {self.text!r} is the target column; name the column of free text")
            if self.vocabulary_size is None:
                self.vocabulary_size = 10_000
        if self.sequence_length is None:
            self.sequence_length = 200 if self.dataset == "imdb" else 100 if self.text is not None else 20
        if self.dataset == "imdb" and self.num_words is None:
            self.num_words = 10_000
        if info.keras:
            if self.noise is not None:
                raise ValueError(f"noise only applies to generated datasets. Received: dataset={self.dataset}")
        elif not info.sized:
            given = [k for k in ("n_samples", "noise") if getattr(self, k) is not None]
            if given:
                sized = ", ".join(n for n, i in DATASETS.items() if i.sized)
                raise ValueError(f"{', '.join(given)} only apply to generated datasets ({sized})")
        else:
            if self.n_samples is None:
                self.n_samples = 500
            if self.noise is None:
                self.noise = info.default_noise
        if self.standardize is None:
            self.standardize = info.standardize
        return self
