"""A CSV text column -> word-index sequences for an `embedding` layer, as Keras's
`TextVectorization(max_tokens, output_sequence_length)` makes them with its defaults.

The same rules, in plain Python so that `nnrun/data` never imports TensorFlow: lower-case
(ASCII, as `tf.strings.lower`), strip punctuation with Keras's own pattern, split on whitespace;
the vocabulary is index 0 = padding, 1 = `[UNK]` (any word not in it), then the training
split's words by falling count, ties broken as Keras breaks them; each text is cut or padded
with zeros *at the end* to `output_sequence_length`. It is fitted on the training rows only and
saved with the run as vocabulary.json, which `nnrun predict` reads back.
`tests/data/test_text.py` checks it against `keras.layers.TextVectorization` itself.
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from nnrun.errors import NnrunError
from nnrun.runs.records import written

if TYPE_CHECKING:
    import pandas as pd

    from nnrun.data.base import Raw
    from nnrun.spec.data import DataSpec

#: Keras's `lower_and_strip_punctuation` pattern (keras/src/layers/preprocessing/text_vectorization.py).
PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
PAD, OOV = "", "[UNK]"


def tokens(text: str) -> list[str]:
    return PUNCTUATION.sub("", str(text).translate(_ASCII_LOWER)).split()


class VocabularyRecord(BaseModel):
    """vocabulary.json: which column, the words by index, the sequence length."""

    model_config = ConfigDict(extra="ignore")

    column: str
    vocabulary: list[str]
    sequence_length: int


class TextVectorizer:
    """fit (training texts) / transform (any texts) / save / load."""

    def __init__(self, column: str, max_tokens: int, sequence_length: int) -> None:
        self.column = column
        self.max_tokens = max_tokens
        self.sequence_length = sequence_length
        self.vocabulary_: list[str] = []
        self.index_: dict[str, int] = {}

    def fit(self, texts: Iterable[str]) -> TextVectorizer:
        counts = Counter(t for text in texts for t in tokens(text))
        words = np.array(list(counts), dtype=object)
        freq = np.array([counts[w] for w in words], dtype=np.int64)
        # Keras: np.lexsort((tokens, counts))[::-1] - by count, then by the token, both descending.
        order = np.lexsort((words.astype(str), freq))[::-1] if len(words) else np.array([], dtype=int)
        learned = [str(w) for w in words[order]][: self.max_tokens - 2]
        self._set([PAD, OOV, *learned])
        return self

    def _set(self, vocabulary: list[str]) -> None:
        self.vocabulary_ = vocabulary
        self.index_ = {w: i for i, w in enumerate(vocabulary) if i >= 2}

    def transform(self, texts: Iterable[str]) -> np.ndarray:
        rows = [[self.index_.get(t, 1) for t in tokens(text)][: self.sequence_length] for text in texts]
        out = np.zeros((len(rows), self.sequence_length), dtype="int64")
        for i, ids in enumerate(rows):
            out[i, : len(ids)] = ids
        return out

    @property
    def names(self) -> list[str]:
        """The token columns the model's input is made of."""
        return [f"{self.column}_token_{i}" for i in range(self.sequence_length)]

    def frame(self, texts: Iterable[str]) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.transform(texts).astype("float32"), columns=self.names)

    def record(self) -> VocabularyRecord:
        return written(
            VocabularyRecord, column=self.column, vocabulary=self.vocabulary_, sequence_length=self.sequence_length
        )

    def save(self, path: Path) -> None:
        from nnrun.runs.files import atomic_write_text

        atomic_write_text(Path(path), json.dumps(self.record().model_dump(), ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: Path) -> TextVectorizer:
        try:
            record = VocabularyRecord.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValidationError) as exc:
            raise NnrunError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None
        if record.vocabulary[:2] != [PAD, OOV]:
            raise NnrunError(f"{path} is unusable: its vocabulary must start with '' and '[UNK]'")
        out = cls(record.column, len(record.vocabulary), record.sequence_length)
        out._set(list(record.vocabulary))
        return out


def as_sequences(raw: Raw, spec: DataSpec, train_rows: np.ndarray) -> tuple[Raw, TextVectorizer, str]:
    """`raw` with its text column (`data.text`) as word indices, the vocabulary fitted on the
    training rows only; the other feature columns are left out (a note says so)."""
    import dataclasses
    import difflib

    from nnrun.data.base import DataProblem

    column = str(spec.text)
    columns = [str(c) for c in raw.frame.columns]
    if column not in columns:
        near = difflib.get_close_matches(column, columns, n=1)
        raise DataProblem(
            ("data", "text"), f"no column {column!r} in {raw.source}; columns: {', '.join(columns[:20])}", *near[:1]
        )
    texts = raw.frame[column].astype(str)
    vectorizer = TextVectorizer(column, int(spec.vocabulary_size or 10_000), int(spec.sequence_length or 100))
    vectorizer.fit(texts.iloc[train_rows])
    others = [c for c in columns if c != column]
    lengths = texts.map(lambda t: len(tokens(t)))
    note = (
        f"data.text: {column!r} as word indices, {len(vectorizer.vocabulary_)} words (padding and [UNK] included) "
        f"learned from the training rows; texts have {int(lengths.median())} words (median), cut or padded to "
        f"{vectorizer.sequence_length} (data.sequence_length)"
        + (f"; other columns left out: {', '.join(others[:5])}" if others else "")
    )
    return dataclasses.replace(raw, frame=vectorizer.frame(texts)), vectorizer, note
