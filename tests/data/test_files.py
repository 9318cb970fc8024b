"""The learner's own arrays (`dataset: npz`) and pictures (`dataset: images`): loaded, split,
trained on, and `nnrun predict` on new files of the same kind."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from nnrun.data import DataProblem, prepare
from nnrun.spec import loads_spec
from tests.conftest import CONFIGS
from tests.data.picture_files import write_shapes

MODEL = "model: {layers: [{type: flatten}, {type: dense, units: 3, activation: softmax}]}\nloss: sparse_categorical_crossentropy\n"


def _npz(tmp_path: Path, **arrays: np.ndarray) -> Path:
    np.savez(tmp_path / "d.npz", **arrays)
    return tmp_path / "d.npz"


def test_npz_with_its_own_test_split(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    _npz(
        tmp_path,
        x=rng.normal(size=(60, 4, 2)),
        y=np.arange(60) % 3,
        x_test=rng.normal(size=(15, 4, 2)),
        y_test=np.arange(15) % 3,
    )
    data = prepare(loads_spec(f"data: {{dataset: npz, path: d.npz}}\n{MODEL}"), tmp_path)
    assert data.task == "multiclass" and data.class_names == ["0", "1", "2"]
    assert data.input_shape == (4, 2)
    assert len(data.x_test) == 15 and len(data.x_train) + len(data.x_val) == 60
    assert list(data.test_rows) == list(range(60, 75))


def test_npz_regression_and_without_test_split(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    _npz(tmp_path, x=rng.normal(size=(50, 3)), y=rng.normal(size=50))
    spec = loads_spec("data: {dataset: npz, path: d.npz}\nmodel: {layers: [{type: dense, units: 1}]}\nloss: mse\n")
    data = prepare(spec, tmp_path)
    assert data.task == "regression" and len(data.x_test) == 10


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x": np.zeros((5, 2))}, "lacks y"),
        ({"x": np.zeros((5, 2)), "y": np.zeros(4)}, "one row per sample"),
        ({"x": np.zeros((5, 2)), "y": np.zeros(5), "x_test": np.zeros((2, 2))}, "only one of x_test and y_test"),
        ({"x": np.array([[1.0, np.nan]] * 5), "y": np.arange(5)}, "missing or infinite"),
        ({"x": np.array([[None]] * 5, dtype=object), "y": np.arange(5)}, "cannot read"),
    ],
)
def test_npz_problems_name_the_file(arrays: dict, message: str, tmp_path: Path) -> None:
    _npz(tmp_path, **arrays)
    with pytest.raises(DataProblem, match=message):
        prepare(loads_spec(f"data: {{dataset: npz, path: d.npz}}\n{MODEL}"), tmp_path)


def test_images_folder_one_class_per_sub_folder(tmp_path: Path) -> None:
    write_shapes(tmp_path / "pics", per_class=6, size=20)
    spec = loads_spec(f"data: {{dataset: images, path: pics, image_size: [12, 16], color_mode: grayscale}}\n{MODEL}")
    data = prepare(spec, tmp_path)
    assert data.input_shape == (12, 16, 1)
    assert data.class_names == ["circle", "square", "triangle"]
    assert data.streamed  # image folders stream (nnrun.data.stream); the rows read as arrays
    x = np.asarray(data.x_train)
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == 18


def test_images_problems(tmp_path: Path) -> None:
    write_shapes(tmp_path / "one", per_class=2, size=8)

    def spec(path: str) -> str:
        return f"data: {{dataset: images, path: {path}}}\n{MODEL}"

    with pytest.raises(DataProblem, match="one sub-folder per class"):
        prepare(loads_spec(spec("one/circle")), tmp_path)
    (tmp_path / "one" / "square" / "broken.png").write_text("not a picture")
    with pytest.raises(DataProblem, match=r"cannot read .*broken.png as a picture"):
        prepare(loads_spec(spec("one")), tmp_path)
    with pytest.raises(ValueError, match="image_size only applies to dataset images"):
        loads_spec("data: {dataset: iris, image_size: [8, 8]}\n" + MODEL)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# Trained and predicted through the CLI's `main` in the test's process (the `nnrun` fixture):
# what is checked is the data, not the process.


@pytest.mark.slow
def test_an_image_folder_config_trains_and_predicts_new_pictures(tmp_path: Path, nnrun) -> None:
    code, _, err = nnrun("train", CONFIGS / "images_shapes.yaml", "--out", tmp_path / "runs", "-q")
    assert code == 0, err
    (run,) = (p.parent for p in (tmp_path / "runs").rglob("run.json"))
    write_shapes(tmp_path / "new", per_class=4, size=24, seed=7)
    code, out, err = nnrun("predict", run, tmp_path / "new", "-o", "-")
    assert code == 0, err
    rows = _rows(out)
    assert [r["file"] for r in rows[:2]] == ["circle/circle_0.png", "circle/circle_1.png"]
    assert {"p_circle", "p_square", "p_triangle"} <= set(rows[0])
    assert "accuracy" in err  # class sub-folders give the truth
    assert np.mean([r["predicted"] == r["file"].split("/")[0] for r in rows]) > 0.5  # chance is 1/3
    code, out, err = nnrun("predict", run, tmp_path / "new" / "square" / "square_1.png", "-o", "-")
    assert code == 0, err
    assert len(_rows(out)) == 1 and _rows(out)[0]["file"] == "square_1.png"
    code, _, err = nnrun("predict", run, tmp_path / "nothing.png", "-o", "-")
    assert code == 2 and "Traceback" not in err


@pytest.mark.slow
def test_an_npz_config_trains_and_predicts_an_npz(tmp_path: Path, nnrun, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 5)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    np.savez(tmp_path / "train.npz", x=x, y=y)
    np.savez(tmp_path / "new.npz", x=x[:20], y=y[:20])
    config = tmp_path / "npz.yaml"
    config.write_text(
        "data: {dataset: npz, path: train.npz}\n"
        "model: {layers: [{type: dense, units: 1, activation: sigmoid}]}\n"
        "optimizer: {name: adam, learning_rate: 0.05}\nloss: binary_crossentropy\ntraining: {epochs: 20}\n"
    )
    assert nnrun("train", config, "--out", tmp_path / "runs", "-q")[0] == 0
    (run,) = (p.parent for p in (tmp_path / "runs").rglob("run.json"))
    code, out, err = nnrun("predict", run, tmp_path / "new.npz", "-o", "-")
    assert code == 0, err
    assert len(_rows(out)) == 20 and "accuracy" in err

    # read batch by batch (7 rows at a time here), compressed or not: the rows and the accuracy
    # of the file read whole
    import pandas as pd

    from nnrun import predict as predicting
    from nnrun.predict import csv_text, load_run, predict_frame, read_input

    monkeypatch.setattr(predicting, "PREDICT_BATCH", 7)
    saved = load_run(run)
    whole = predict_frame(saved, read_input(tmp_path / "new.npz", saved), source="new.npz")
    assert len(list(predicting.input_frames(tmp_path / "new.npz", saved))) == 3
    np.savez_compressed(tmp_path / "packed.npz", x=x[:20], y=y[:20])
    for name in ("new.npz", "packed.npz"):
        code, out, err = nnrun("predict", run, tmp_path / name, "-o", "-")
        assert code == 0, err
        assert out == csv_text(whole.rows)
        assert f"accuracy {whole.metrics['accuracy']:.4f}" in err
    assert len(pd.read_csv(io.StringIO(out))) == 20


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_an_npz_array_is_read_in_order_batch_by_batch(tmp_path: Path, save) -> None:
    from nnrun.data.rows import member_batches

    x = np.arange(23 * 3 * 2, dtype="float32").reshape(23, 3, 2)
    save(tmp_path / "d.npz", x=x, f=np.asfortranarray(x[:, :, 0]))
    shape, batches = member_batches(tmp_path / "d.npz", "x", 5)
    parts = list(batches)
    assert shape == (23, 3, 2) and [len(p) for p in parts] == [5, 5, 5, 5, 3]
    assert np.array_equal(np.concatenate(parts), x)
    shape, batches = member_batches(tmp_path / "d.npz", "f", 10)  # Fortran order: read whole, cut the same
    assert shape == (23, 3) and np.array_equal(np.concatenate(list(batches)), x[:, :, 0])
