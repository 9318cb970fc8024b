"""The Keras datasets: fetched by Keras's own `get_file` over real HTTP from a local server
serving small stand-ins in the loaders' formats, read from Keras's cache, shaped and scaled
for the guide's models; offline without the file, one clear message and exit code 2."""

from __future__ import annotations

import dataclasses
import json
import socket
import time
from pathlib import Path

import numpy as np
import pytest

from nnrun.data import prepare
from nnrun.spec import loads_spec
from tests.conftest import CONFIGS, run_cli


def _spec(dataset: str, extra: str = "", head: str = "{type: flatten}, ") -> str:
    out = (
        "{type: dense, units: 1, activation: sigmoid}"
        if dataset == "imdb"
        else "{type: dense, units: 10, activation: softmax}"
    )
    loss = "binary_crossentropy" if dataset == "imdb" else "sparse_categorical_crossentropy"
    return f"data: {{dataset: {dataset}{extra}}}\nmodel: {{layers: [{head}{out}]}}\nloss: {loss}\n"


@pytest.mark.slow  # the first download imports TensorFlow (Keras's get_file)
@pytest.mark.parametrize(
    ("name", "shape", "rows", "tests", "cached"),
    [
        ("mnist", (28, 28, 1), 400, 100, "datasets/mnist.npz"),
        ("fashion_mnist", (28, 28, 1), 400, 100, "datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"),
        ("cifar10", (32, 32, 3), 240, 40, "datasets/cifar-10-batches-py-target/cifar-10-batches-py/test_batch"),
        ("imdb", (200,), 300, 100, "datasets/imdb.npz"),
    ],
)
def test_downloaded_once_into_keras_cache_then_read_from_it(
    name: str,
    shape: tuple[int, ...],
    rows: int,
    tests: int,
    cached: str,
    keras_mirror: dict[str, str],
    tmp_path: Path,
    monkeypatch,
) -> None:
    data = prepare(loads_spec(_spec(name)), tmp_path)
    assert (Path(keras_mirror["KERAS_HOME"]) / cached).is_file()
    assert data.input_shape == shape
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == rows
    assert len(data.x_test) == tests  # Keras's own test files are the test split
    if name == "imdb":
        assert data.x_train.min() >= 0 and data.x_train.max() < 10_000
        assert data.class_names == ["negative", "positive"]
    else:
        assert data.x_train.min() >= 0.0 and data.x_train.max() <= 1.0 and data.x_train.max() > 0.8
        assert len(data.class_names or []) == 10
    # Cached now: read without the network (the mirror points at a closed port).
    monkeypatch.setenv("NNRUN_DATASETS_MIRROR", "http://127.0.0.1:9/")
    again = prepare(loads_spec(_spec(name)), tmp_path)
    np.testing.assert_array_equal(again.x_test, data.x_test)


@pytest.mark.slow
def test_n_samples_is_a_stratified_subset_and_imdb_options_apply(keras_cache: dict[str, str], tmp_path: Path) -> None:
    data = prepare(loads_spec(_spec("mnist", ", n_samples: 100")), tmp_path)
    y = np.concatenate([data.y_train, data.y_val, data.y_test])
    assert len(y) == 100 and all(9 <= n <= 11 for n in np.bincount(y.astype(int)))  # the classes' shares
    assert 24 <= len(data.y_test) <= 26  # about a quarter: the stand-in's test file is 100 of 400 rows
    imdb = prepare(loads_spec(_spec("imdb", ", num_words: 60, sequence_length: 12")), tmp_path)
    assert imdb.input_shape == (12,)
    x = imdb.x_train
    assert x.max() <= 59 and (x == 2).any()  # words past num_words become 2 (out of vocabulary)
    assert (x[:, 0] == 0).any() or (x == 1).any()  # zeros in front of short reviews, 1 starts a review


@pytest.mark.slow  # a child process imports TensorFlow to try the download
def test_offline_without_the_file_is_one_clear_message(tmp_path: Path) -> None:
    home = tmp_path / "empty-keras-home"
    env = {"KERAS_HOME": str(home), "NNRUN_DATASETS_MIRROR": "http://127.0.0.1:9/"}
    proc = run_cli("validate", str(CONFIGS / "cnn_mnist.yaml"), env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text
    assert "mnist.npz" in text and "http://127.0.0.1:9/mnist.npz" in text
    assert str(home / "datasets") in text


@pytest.mark.slow  # a child process imports TensorFlow for the download
def test_a_mirror_serving_another_file_is_refused_and_the_file_removed(keras_server: str, tmp_path: Path) -> None:
    # The stand-in mnist.npz is not Keras's file: the child checks Keras's own SHA-256.
    home = tmp_path / "home"
    env = {"KERAS_HOME": str(home), "NNRUN_DATASETS_MIRROR": keras_server}
    proc = run_cli("validate", str(CONFIGS / "mlp_mnist.yaml"), env=env, timeout=120)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2, text
    assert "Traceback" not in text
    assert f"mnist.npz from {keras_server}mnist.npz is not the file Keras expects" in " ".join(text.split())
    assert "replace it there with Keras's file" in " ".join(text.split())
    assert not (home / "datasets" / "mnist.npz").exists()  # never left in the cache to be read later


def test_a_damaged_download_is_found_by_its_hash(keras_files: Path, tmp_path: Path, monkeypatch) -> None:
    from nnrun.data import keras_datasets as kd
    from nnrun.data.base import DataProblem
    from nnrun.data.download import _corrupted, sha256

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("NNRUN_DATASETS_MIRROR", "http://mirror.example/")
    remote = dataclasses.replace(kd.IMDB, file_hash=sha256(keras_files / "imdb.npz"))
    assert _corrupted(remote, "http://mirror.example/imdb.npz", "imdb") is None  # nothing downloaded
    remote.local().parent.mkdir(parents=True)
    damaged = bytearray((keras_files / "imdb.npz").read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    remote.local().write_bytes(bytes(damaged))
    problem = _corrupted(remote, "http://mirror.example/imdb.npz", "imdb")
    assert isinstance(problem, DataProblem) and problem.key == ("data", "dataset")
    assert "imdb.npz from http://mirror.example/imdb.npz is not the file Keras expects" in problem.message
    assert "replace it there" in problem.message and not remote.local().exists()
    remote.local().write_bytes((keras_files / "imdb.npz").read_bytes())
    assert _corrupted(remote, "http://mirror.example/imdb.npz", "imdb") is None  # the right file is kept


def test_a_tampered_cached_file_runs_no_code(keras_cache: dict[str, str], tmp_path: Path) -> None:
    import pickle

    class Payload:
        def __reduce__(self) -> tuple:
            return (Path.touch, (tmp_path / "ran",))

    imdb = Path(keras_cache["KERAS_HOME"]) / "datasets" / "imdb.npz"
    np.savez(imdb, x_train=np.array([Payload()], dtype=object), y_train=[1], x_test=[[1]], y_test=[1])
    with pytest.raises(ValueError, match=r"imdb\.npz is not a file Keras wrote \(it asks for pathlib"):
        prepare(loads_spec(_spec("imdb")), tmp_path)
    batch = Path(keras_cache["KERAS_HOME"]) / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py"
    (batch / "data_batch_1").write_bytes(pickle.dumps({b"data": Payload()}))
    with pytest.raises(ValueError, match="data_batch_1 is not a file Keras wrote"):
        prepare(loads_spec(_spec("cifar10")), tmp_path)
    assert not (tmp_path / "ran").exists()


@pytest.mark.slow
def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections (the backlog) and never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        env = {
            "KERAS_HOME": str(tmp_path / "home"),
            "NNRUN_DATASETS_MIRROR": f"http://127.0.0.1:{port}/",
            "NNRUN_DOWNLOAD_TIMEOUT": "1",
        }
        start = time.monotonic()
        proc = run_cli("validate", str(CONFIGS / "mlp_mnist.yaml"), env=env, timeout=120)
    assert proc.returncode == 2 and "timed out" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    assert time.monotonic() - start < 60
    assert not (tmp_path / "home" / "datasets" / "mnist.npz").exists()  # nothing half-written


def test_keras_datasets_need_no_file_to_validate_the_spec() -> None:
    spec = loads_spec(
        _spec("imdb", ", num_words: 500").replace(
            "{type: flatten}, ", "{type: embedding, output_dim: 8}, {type: global_average_pooling1d}, "
        )
    )
    assert spec.data.sequence_length == 200 and spec.data.num_words == 500
    with pytest.raises(ValueError, match="num_words only applies to imdb"):
        loads_spec(_spec("mnist", ", num_words: 5"))
    with pytest.raises(ValueError, match="noise only applies"):
        loads_spec(_spec("mnist", ", noise: 0.1"))


@pytest.mark.slow
def test_the_guides_cnn_trains_on_mnist_format_data(keras_cache: dict[str, str], tmp_path: Path, nnrun) -> None:
    # through the CLI's main in this process (the cache is in this process's environment)
    args = ("--set", "training.epochs=2", "--set", "training.batch_size=16", "--out", tmp_path / "runs")
    code, _, err = nnrun("train", CONFIGS / "cnn_mnist.yaml", *args)
    assert code == 0, err
    (run,) = (p.parent for p in (tmp_path / "runs").rglob("run.json"))
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] > 0.3  # ten classes: chance is 0.1
    assert json.loads((run / "run.json").read_text())["status"] == "completed"
