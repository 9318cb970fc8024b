"""A CSV text column (`data.text`) -> word-index sequences exactly as Keras's TextVectorization
makes them, the vocabulary from the training rows only, saved with the run and used by predict."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from nnrun.data import DataProblem, prepare
from nnrun.data.text import TextVectorizer
from nnrun.spec import loads_spec
from tests.conftest import CONFIGS
from tests.data.text_files import write_reviews

TEXTS = [
    "The movie was GREAT, great fun!",
    "a dull, dull... film; the end",
    "Great acting: the best film (really) of the year",
    "Ünïcode Words stay; tabs\tand  spaces split",
    "b a b a c",  # ties: Keras orders equal counts by the token, descending
    "",
]


@pytest.mark.slow  # imports TensorFlow to compare with Keras itself
@pytest.mark.parametrize(("max_tokens", "length"), [(100, 12), (6, 4)])
def test_same_vocabulary_and_sequences_as_keras_text_vectorization(max_tokens: int, length: int) -> None:
    import keras

    layer = keras.layers.TextVectorization(max_tokens=max_tokens, output_sequence_length=length)
    layer.adapt(TEXTS)
    ours = TextVectorizer("t", max_tokens, length).fit(TEXTS)
    assert ours.vocabulary_ == list(layer.get_vocabulary())
    new = [*TEXTS, "never seen words, and GREAT ones"]
    np.testing.assert_array_equal(ours.transform(new), keras.ops.convert_to_numpy(layer(new)))


def _spec(extra: str = "") -> str:
    return (
        "data: {dataset: csv, path: r.csv, target: sentiment, text: review, sequence_length: 8" + extra + "}\n"
        "model: {layers: [{type: embedding, output_dim: 4}, {type: global_average_pooling1d},"
        " {type: dense, units: 1, activation: sigmoid}]}\nloss: binary_crossentropy\n"
    )


def test_text_column_becomes_word_indices_learned_from_training_rows(tmp_path: Path) -> None:
    write_reviews(tmp_path / "r.csv", n=60, extra=True)
    spec = loads_spec(_spec(", vocabulary_size: 500"))
    assert spec.model.layers[0].input_dim == 500  # the embedding's vocabulary: data.vocabulary_size
    data = prepare(spec, tmp_path)
    assert data.input_shape == (8,) and data.x_train.max() < 500
    assert data.text is not None and data.text.vocabulary_[:2] == ["", "[UNK]"]
    assert any("other columns left out: stars" in n for n in data.notes)
    # Only the training split taught the vocabulary (not the validation or test rows).
    from nnrun.data.prepare import load_raw, split
    from nnrun.data.text import tokens

    train_rows, val_rows, _ = split(load_raw(spec, tmp_path), spec)
    column = _column(tmp_path)
    assert set(data.text.vocabulary_[2:]) == {w for t in column[train_rows] for w in tokens(t)}
    unseen = {w for t in column[val_rows] for w in tokens(t)} - set(data.text.vocabulary_)
    np.testing.assert_array_equal(data.text.transform([" ".join(unseen)])[0][: len(unseen)], 1)
    np.testing.assert_array_equal(data.x_test, data.text.transform(_column(tmp_path)[data.test_rows]))
    assert data.preprocessor.record().scaler is None  # indices are not standardised


def _column(tmp_path: Path) -> np.ndarray:
    import pandas as pd

    return pd.read_csv(tmp_path / "r.csv")["review"].to_numpy()


def test_text_problems(tmp_path: Path) -> None:
    write_reviews(tmp_path / "r.csv", n=20)
    with pytest.raises(DataProblem, match="no column 'reveiw'"):
        prepare(loads_spec(_spec().replace("text: review", "text: reveiw")), tmp_path)
    with pytest.raises(ValueError, match="text only applies to dataset csv"):
        loads_spec("data: {dataset: iris, text: x}\nmodel: {layers: [{type: dense, units: 3}]}\nloss: mse\n")
    with pytest.raises(ValueError, match="is the target column"):
        loads_spec(_spec().replace("text: review", "text: sentiment"))


@pytest.mark.slow
def test_the_text_config_trains_and_predicts_new_reviews(tmp_path: Path, nnrun) -> None:
    """Through the CLI's main in this process (the `nnrun` fixture): train, then predict."""
    code, _, err = nnrun("train", CONFIGS / "text_reviews.yaml", "--out", tmp_path / "runs", "-q")
    assert code == 0, err
    (run,) = (p.parent for p in (tmp_path / "runs").rglob("run.json"))
    saved = json.loads((run / "vocabulary.json").read_text())
    assert saved["column"] == "review" and saved["vocabulary"][:2] == ["", "[UNK]"]
    new = tmp_path / "new.csv"
    new.write_text('review\n"A wonderful film, I loved the music!"\nSo boring and dull. A mess.\n')
    code, out, err = nnrun("predict", run, new, "-o", "-")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["predicted"] for r in rows] == ["positive", "negative"]
    assert rows[0]["review"] == "A wonderful film, I loved the music!"
    (tmp_path / "bad.csv").write_text("text\nhello\n")
    code, _, err = nnrun("predict", run, tmp_path / "bad.csv", "-o", "-")
    assert code == 2 and "lacks the text column 'review'" in err
