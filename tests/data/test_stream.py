"""Streamed data (`data.stream`) is the data loaded whole, read in pieces: the same split rows,
the same Preprocessor, the same numbers; shuffled epochs visit every row once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnrun.data import DataProblem, prepare
from nnrun.data.stream import Rows, available_memory
from nnrun.errors import SpecError
from nnrun.spec import loads_spec
from tests.data.picture_files import write_shapes

MODEL = "model: {layers: [{type: flatten}, {type: dense, units: 3, activation: softmax}]}\nloss: sparse_categorical_crossentropy\n"


def _spec(data: str) -> object:
    return loads_spec(f"data: {{{data}}}\n{MODEL}")


def _same(a: object, b: object) -> None:
    for k in ("x_train", "x_val", "x_test"):
        np.testing.assert_allclose(np.asarray(getattr(a, k)), getattr(b, k), rtol=1e-6, atol=1e-6)
    for k in ("y_train", "y_val", "y_test", "test_rows"):
        assert np.array_equal(getattr(a, k), getattr(b, k)), k
    ra, rb = a.preprocessor.record(), b.preprocessor.record()  # type: ignore[attr-defined]
    assert ra.feature_names == rb.feature_names and ra.input_shape == rb.input_shape
    if rb.scaler is not None:
        np.testing.assert_allclose(ra.scaler.mean, rb.scaler.mean, atol=1e-9)
        np.testing.assert_allclose(ra.scaler.scale, rb.scaler.scale, rtol=1e-9)


@pytest.mark.parametrize("own_test", [False, True])
def test_a_streamed_npz_is_the_loaded_one_row_for_row(own_test: bool, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    arrays = {"x": rng.normal(3, 2, size=(300, 5, 4)).astype("float32"), "y": np.arange(300) % 3}
    if own_test:
        arrays |= {"x_test": rng.normal(size=(40, 5, 4)), "y_test": np.arange(40) % 3}
    np.savez(tmp_path / "d.npz", **arrays)
    streamed = prepare(_spec("dataset: npz, path: d.npz, stream: true, split_seed: 7"), tmp_path)
    loaded = prepare(_spec("dataset: npz, path: d.npz, stream: false, split_seed: 7"), tmp_path)
    assert streamed.streamed and isinstance(streamed.x_train, Rows) and not loaded.streamed
    assert streamed.input_shape == loaded.input_shape == (5, 4)
    _same(streamed, loaded)
    assert any("streamed: " in n for n in streamed.notes)
    picked = np.array([7, 0, 3])
    np.testing.assert_allclose(streamed.x_val[picked], loaded.x_val[picked], atol=1e-6)


def test_shuffled_epochs_visit_every_row_once_in_full_batches(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.arange(1000 * 6, dtype="float32").reshape(1000, 6), y=np.arange(1000) % 2)
    data = prepare(_spec("dataset: npz, path: d.npz, stream: true, standardize: false"), tmp_path)
    rows = data.x_train
    epochs = []
    for epoch in range(2):
        batches = list(rows.batches(64, seed=3, epoch=epoch))  # type: ignore[attr-defined]
        positions = np.concatenate([p for p, _ in batches])
        assert sorted(positions.tolist()) == list(range(len(rows)))
        assert [len(p) for p, _ in batches[:-1]] == [64] * (len(batches) - 1)
        for p, x in batches[:3]:
            assert np.array_equal(x, rows[p])
        epochs.append(positions)
    assert not np.array_equal(epochs[0], epochs[1])  # a new order each epoch
    again = np.concatenate([p for p, _ in rows.batches(64, seed=3, epoch=1)])  # type: ignore[attr-defined]
    assert np.array_equal(again, epochs[1])  # ... the same for the same seed and epoch


def test_auto_streams_beyond_the_memory_share_and_image_folders_always(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.ones((50, 4)), y=np.arange(50) % 2)
    assert not prepare(_spec("dataset: npz, path: d.npz"), tmp_path).streamed
    assert available_memory() > 0
    tiny = prepare(_spec("dataset: npz, path: d.npz, memory_share: 1.0e-12"), tmp_path)
    assert tiny.streamed and "more than memory_share" in " ".join(tiny.notes)
    write_shapes(tmp_path / "pics", per_class=5, size=12)
    pics = "dataset: images, path: pics, image_size: [8, 8]"
    streamed, loaded = prepare(_spec(pics), tmp_path), prepare(_spec(pics + ", stream: false"), tmp_path)
    assert streamed.streamed and not loaded.streamed
    _same(streamed, loaded)


def test_what_cannot_stream_says_so(tmp_path: Path) -> None:
    np.savez_compressed(tmp_path / "z.npz", x=np.ones((50, 4)), y=np.arange(50) % 2)
    assert not prepare(_spec("dataset: npz, path: z.npz, memory_share: 1.0e-12"), tmp_path).streamed
    with pytest.raises(DataProblem, match="compressed.*np.savez"):
        prepare(_spec("dataset: npz, path: z.npz, stream: true"), tmp_path)
    with pytest.raises(SpecError, match="stream: true only applies to dataset npz, images"):
        loads_spec("data: {dataset: iris, stream: true}\n" + MODEL)


def test_a_non_finite_value_is_named_before_training(tmp_path: Path) -> None:
    x = np.ones((40, 3), dtype="float32")
    x[33, 1] = np.inf
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(40) % 2)
    with pytest.raises(DataProblem, match="row 33 of x has missing or infinite values"):
        prepare(_spec("dataset: npz, path: d.npz, stream: true"), tmp_path)


@pytest.mark.slow
def test_a_streamed_npz_trains_with_either_trainer_and_predicts(tmp_path: Path) -> None:
    import json

    from nnrun.experiment import execute, prepare_experiment

    rng = np.random.default_rng(0)
    y = np.arange(400) % 3
    x = rng.normal(size=(400, 6)).astype("float32")
    x[np.arange(400), y] += 3.0
    np.savez(tmp_path / "d.npz", x=x, y=y)
    config = tmp_path / "c.yaml"
    config.write_text(
        f"name: s\nseed: 2\ndata: {{dataset: npz, path: d.npz, stream: true}}\n{MODEL}"
        "optimizer: {name: adam, learning_rate: 0.05}\ntraining: {epochs: 8, batch_size: 32}\n"
    )
    for wanted, ran in (("auto", "graph"), ("fit", "fit")):
        prepared = prepare_experiment(config, [f"training.trainer={wanted}"])
        outcome = execute(prepared, tmp_path / wanted, command=["test"])
        record = json.loads((outcome.run_dir / "run.json").read_text())
        assert record["status"] == "completed" and record["trainer"] == ran
        assert record["graph_trainer_skipped"] is None
        metrics = json.loads((outcome.run_dir / "metrics.json").read_text())
        assert metrics["test"]["accuracy"] > 0.9, wanted
