"""`nnrun plot augmentation CONFIG`: the same training images before and after the config's
augmentation layers, so a learner sees what `random_rotation: 0.05` does to a digit.

`problem` decides without TensorFlow whether there is anything to show (an augmentation
layer, applied to images); `figure` then runs the config's own layers (built by the same
registry as training) once in inference mode (augmentation off) and a few times in
training mode (augmentation on, a new draw each time).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.data import Dataset
from nnrun.spec import Spec
from nnrun.spec.layers import AUGMENTATION

#: Rows of augmented draws under the originals.
DRAWS = 3


def _last_augmentation(spec: Spec) -> int | None:
    found = [i for i, layer in enumerate(spec.model.layers) if layer.type in AUGMENTATION]
    return found[-1] if found else None


def _image_shape(spec: Spec, data: Dataset, upto: int) -> tuple[int, ...]:
    """The shape the augmentation layers see: the input, reshaped by any reshape before them."""
    shape = data.input_shape
    for layer in spec.model.layers[:upto]:
        if layer.type == "reshape":
            shape = tuple(layer.target_shape)  # type: ignore[attr-defined]
    return shape


def problem(spec: Spec, data: Dataset) -> str | None:
    """Why there is nothing to draw (one line), or None."""
    last = _last_augmentation(spec)
    if last is None:
        return (
            f"the config has no augmentation layer ({', '.join(sorted(AUGMENTATION))}): "
            "its training rows are used as they are"
        )
    shape = _image_shape(spec, data, last)
    if len(shape) != 3 or shape[-1] not in (1, 3, 4):
        return (
            f"the augmentation layers see inputs of shape {tuple(shape)}, not images (height, width, channels): "
            "plot augmentation draws images only"
        )
    return None


def figure(spec: Spec, data: Dataset, samples: int = 8) -> Any:
    """The grid: one column per training sample, the original on top, `DRAWS` augmented rows below."""
    import keras

    from nnrun.build import registry
    from nnrun.plots import pyplot

    last = _last_augmentation(spec)
    assert last is not None
    keras.utils.set_random_seed(spec.seed)
    built = [(layer.type in AUGMENTATION, k) for layer in spec.model.layers[: last + 1] for k in registry.layers(layer)]
    x = data.x_train[: min(samples, len(data.x_train))]

    def run(augment: bool) -> np.ndarray:
        h = keras.ops.convert_to_tensor(x)
        for is_aug, layer in built:
            h = layer(h, training=augment and is_aug)
        return np.asarray(keras.ops.convert_to_numpy(h))

    original = run(False)
    draws = [run(True) for _ in range(DRAWS)]
    plt = pyplot()
    n = len(x)
    fig, axes = plt.subplots(1 + DRAWS, n, figsize=(1.5 * n + 0.8, 1.55 * (1 + DRAWS) + 0.9), dpi=100, squeeze=False)
    labels = data.class_names
    y = np.asarray(data.y_train[:n])
    classes = y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(-1)
    for j in range(n):
        lo, hi = float(original[j].min()), float(original[j].max())
        for i, images in enumerate([original, *draws]):
            ax = axes[i][j]
            img = images[j]
            if img.shape[-1] == 1:
                ax.imshow(img[..., 0], cmap="gray_r", vmin=lo, vmax=hi)
            else:
                ax.imshow(np.clip((img - lo) / max(hi - lo, 1e-9), 0, 1))
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                name = labels[int(classes[j])] if labels and int(classes[j]) < len(labels) else str(classes[j])
                ax.set_title(f"class {name}", fontsize=9)
        axes[0][0].set_ylabel("original", fontsize=9)
        for i in range(1, 1 + DRAWS):
            axes[i][0].set_ylabel(f"draw {i}", fontsize=9)
    layers = ", ".join(
        f"{layer.type}({', '.join(f'{k}={v}' for k, v in layer.keras_kwargs().items())})"
        for layer in spec.model.layers[: last + 1]
        if layer.type in AUGMENTATION
    )
    fig.suptitle(
        f"{spec.name}: training images before (top) and after augmentation (a new random draw each row)\n{layers}",
        fontsize=10,
    )
    fig.tight_layout()
    return fig
