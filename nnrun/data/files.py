"""The learner's own arrays and pictures: `dataset: npz` and `dataset: images`.

- npz: a NumPy `.npz` file with arrays `x` (n, ...) and `y` (n,), and optionally `x_test` and
  `y_test`, which then are the test split. The task is inferred from `y` as for a CSV target.
- images: a folder with one sub-folder per class (the layout of Keras's
  `image_dataset_from_directory`), every picture resized to `data.image_size` in
  `data.color_mode` with Pillow, the library Keras's image utilities use, and scaled to [0, 1]
  like the Keras datasets.

`predict` reads new inputs with the same functions (`read_images`, `read_npz`), so training and
prediction see pictures and arrays the same way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnrun.data.base import DataProblem, Raw
from nnrun.errors import NnrunError
from nnrun.spec.data import DataSpec, Task

#: The picture files a folder of images may hold (what Keras's image utilities accept).
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif"})
MAX_IMAGES = 200_000


def _path(spec: DataSpec, base: Path, folder: bool) -> Path:
    assert spec.path is not None
    p = Path(spec.path)
    p = p if p.is_absolute() else base / p
    if not p.exists():
        raise DataProblem(("data", "path"), f"no such {'folder' if folder else 'file'}: {p}")
    if folder and not p.is_dir():
        raise DataProblem(("data", "path"), f"not a folder: {p} (dataset images takes a folder of class folders)")
    if not folder and not p.is_file():
        raise DataProblem(("data", "path"), f"not a file: {p}")
    return p


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an .npz file (no pickled objects: a file from elsewhere cannot run code)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: np.asarray(f[k]) for k in f.files}
    except (OSError, ValueError) as exc:
        raise npz_error(path, exc) from None


def npz_error(path: Path, exc: Exception) -> NnrunError:
    """What a reader says of an .npz it cannot read (its first line of `exc`)."""
    return NnrunError(f"cannot read {path} as a NumPy .npz file: {(str(exc).splitlines() or [type(exc).__name__])[0]}")


def _numeric(x: np.ndarray, name: str, path: Path) -> np.ndarray:
    if not np.issubdtype(x.dtype, np.number) and x.dtype != bool:
        raise DataProblem(("data", "path"), f"{path.name}: {name} must hold numbers; it holds {x.dtype}")
    x = x.astype("float32")
    if not np.isfinite(x).all():
        raise DataProblem(("data", "path"), f"{path.name}: {name} has missing or infinite values")
    return x


def npz_path(spec: DataSpec, base: Path) -> Path:
    return _path(spec, base, folder=False)


def check_npz_layout(names: list[str], shapes: dict[str, tuple[int, ...]], path: Path) -> bool:
    """The arrays an npz must hold, one row per sample; True when it has its own test split."""
    missing = [k for k in ("x", "y") if k not in names]
    if missing:
        raise DataProblem(("data", "path"), f"{path.name} lacks {' and '.join(missing)}; it holds {sorted(names)}")
    has_test = "x_test" in names or "y_test" in names
    if has_test and not ("x_test" in names and "y_test" in names):
        raise DataProblem(("data", "path"), f"{path.name} has only one of x_test and y_test; give both or neither")
    for suffix in ("", "_test") if has_test else ("",):
        x, y = shapes["x" + suffix], shapes["y" + suffix]
        if len(x) < 2 or not y or x[0] != y[0] or len(y) > 2:
            raise DataProblem(
                ("data", "path"),
                f"{path.name}: x{suffix} {list(x)} and y{suffix} {list(y)} must have one row per sample",
            )
    if has_test and shapes["x"][1:] != shapes["x_test"][1:]:
        raise DataProblem(
            ("data", "path"), f"{path.name}: x is {list(shapes['x'])} but x_test is {list(shapes['x_test'])}"
        )
    return has_test


def npz_target(
    ys: list[np.ndarray], spec: DataSpec, path: Path
) -> tuple[Task, np.ndarray, list[str] | None, list[str]]:
    """y (and y_test) -> the task, the target (class codes or numbers), class names, notes."""
    import pandas as pd

    from nnrun.data.csv import infer_task

    y_all = np.concatenate([np.ravel(y) if y.ndim == 2 and y.shape[1] == 1 else y for y in ys])
    target = pd.Series(y_all, name="y")
    task, notes = infer_task(target, spec.model_copy(update={"target": "y"}))
    if task == "regression":
        return task, _numeric(y_all, "y", path).reshape(len(y_all), -1).squeeze(-1), None, notes
    classes = sorted(target.astype(str).unique(), key=_natural)
    codes = pd.Categorical(target.astype(str), categories=classes).codes.astype("int64")
    return task, codes, classes, notes


def load_npz(spec: DataSpec, base: Path) -> Raw:
    path = npz_path(spec, base)
    try:
        arrays = read_npz(path)
    except NnrunError as exc:
        raise DataProblem(("data", "path"), str(exc)) from None
    has_test = check_npz_layout(list(arrays), {k: a.shape for k, a in arrays.items()}, path)
    suffixes = ("", "_test") if has_test else ("",)
    x = _numeric(np.concatenate([arrays["x" + s] for s in suffixes]), "x", path)
    ys = [arrays["y" + s] for s in suffixes]
    task, y, classes, notes = npz_target(ys, spec, path)
    names = [f"x{i}" for i in range(int(np.prod(x.shape[1:])))]
    raw = Raw.from_array(x, y, task, names, classes, target="y", source=path.name, notes=notes)
    if has_test:
        raw.test_rows = np.arange(len(ys[0]), len(y))
    return raw


def _natural(name: str) -> tuple[int, float | str]:
    """Numbers in numeric order (2 before 10), then text."""
    try:
        return (0, float(name))
    except ValueError:
        return (1, name)


def image_files(folder: Path) -> list[Path]:
    """The pictures directly in `folder`, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_images(paths: list[Path], size: tuple[int, int], color_mode: str) -> np.ndarray:
    """Pictures -> float32 (n, height, width, channels) in [0, 1], resized bilinearly as Keras's
    `load_img` does; a file that is not a picture is named."""
    from PIL import Image, UnidentifiedImageError

    channels = 1 if color_mode == "grayscale" else 3
    out = np.empty((len(paths), size[0], size[1], channels), dtype="float32")
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as img:
                img = img.convert("L" if channels == 1 else "RGB")
                if img.size != (size[1], size[0]):
                    img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
                pixels = np.asarray(img, dtype="float32")
        except (OSError, UnidentifiedImageError) as exc:
            raise NnrunError(f"cannot read {path} as a picture: {exc}") from None
        out[i] = pixels.reshape(size[0], size[1], channels) / 255.0
    return out


def image_listing(spec: DataSpec, base: Path) -> tuple[Path, list[str], list[Path], np.ndarray]:
    """An image folder's class names, its pictures' paths and their class codes."""
    folder = _path(spec, base, folder=True)
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise DataProblem(
            ("data", "path"),
            f"{folder} needs one sub-folder per class (at least two); it has {len(classes)}: {', '.join(classes)}",
        )
    paths: list[Path] = []
    labels: list[int] = []
    for k, name in enumerate(classes):
        files = image_files(folder / name)
        if not files:
            raise DataProblem(
                ("data", "path"), f"{folder / name} holds no pictures ({', '.join(sorted(IMAGE_SUFFIXES))})"
            )
        paths += files
        labels += [k] * len(files)
    if len(paths) > MAX_IMAGES:
        raise DataProblem(("data", "path"), f"{folder} holds {len(paths)} pictures; nnrun takes at most {MAX_IMAGES}")
    return folder, classes, paths, np.asarray(labels, dtype="int64")


def images_note(n: int, classes: list[str], spec: DataSpec) -> str:
    h, w = spec.image_size or (64, 64)
    return (
        f"images: {n} pictures in {len(classes)} classes ({', '.join(classes[:10])}), resized to "
        f"{h}x{w} {spec.color_mode}, pixels scaled to [0, 1]"
    )


def load_images(spec: DataSpec, base: Path) -> Raw:
    from nnrun.data.keras_datasets import pixel_names

    folder, classes, paths, labels = image_listing(spec, base)
    h, w = spec.image_size or (64, 64)
    try:
        x = read_images(paths, (h, w), spec.color_mode)
    except NnrunError as exc:
        raise DataProblem(("data", "path"), str(exc)) from None
    c = x.shape[3]
    task = "binary" if len(classes) == 2 else "multiclass"
    raw = Raw.from_array(x, labels, task, pixel_names(h, w, c), classes, target="class", source=folder.name)
    raw.notes.append(images_note(len(paths), classes, spec))
    return raw
