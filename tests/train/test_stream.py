"""The tf.data pipeline over streamed rows (`nnrun.train.stream.pipeline`) gives exactly the
batches `Rows.batches` describes, epoch after epoch, even when every batch is kept: the arrays
the reader lends tf.data (which keeps them without copying) are reused only once let go."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnrun.data.rows
import nnrun.data.stream
from nnrun.data import prepare
from nnrun.data.rows import Scratch
from nnrun.spec import loads_spec

ROW = 6 * 4  # a row of six float32 values


def test_a_lent_array_is_reused_only_once_nothing_refers_to_it() -> None:
    scratch = Scratch()
    f32 = np.dtype("float32")
    a = scratch.lend((10, 6), f32)
    a[...] = 1.0
    b = scratch.lend((10, 6), f32)  # a is alive: new memory
    b[...] = 2.0
    assert (a == 1.0).all() and not np.shares_memory(a, b)
    view = a[3:5]
    del a
    c = scratch.lend((10, 6), f32)  # a view of a is alive: still not a's memory
    assert not np.shares_memory(c, view)
    del view, b, c
    d = scratch.lend((4, 6), f32)
    assert d.ctypes.data % nnrun.data.rows.ALIGN == 0


def _streamed(tmp_path: Path, n: int) -> Any:
    """`n` rows of 6 random features and alternating labels in an npz, prepared streamed."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.normal(size=(n, 6)).astype("float32"), y=np.arange(n) % 2)
    spec = loads_spec(
        "data: {dataset: npz, path: d.npz, stream: true}\n"
        "model: {layers: [{type: dense, units: 1, activation: sigmoid}]}\nloss: binary_crossentropy\n"
    )
    return prepare(spec, tmp_path)


@pytest.mark.slow
def test_the_pipeline_gives_the_batches_rows_batches_describes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nnrun.train.stream import pipeline

    # Small buffers, so a few hundred rows make many blocks, buffers and lent arrays.
    monkeypatch.setattr(nnrun.data.rows, "BLOCK_BYTES", 20 * ROW)
    monkeypatch.setattr(nnrun.data.rows, "READ_BYTES", 30 * ROW)
    monkeypatch.setattr(nnrun.data.stream, "BUFFER_BYTES", 200 * ROW)
    monkeypatch.setattr(nnrun.data.stream, "TRANSFORM_BYTES", 50 * ROW)
    data = _streamed(tmp_path, 1000)
    rows = data.x_train
    ds = pipeline(rows, data.y_train, 64, seed=3)
    for epoch in range(2):
        kept = list(ds)  # every batch held until the end of the epoch
        expected = list(rows.batches(64, seed=3, epoch=epoch))  # type: ignore[attr-defined]
        assert [len(x) for x, _ in kept] == [len(p) for p, _ in expected]
        for (x, y), (p, want) in zip(kept, expected, strict=True):
            np.testing.assert_array_equal(x.numpy(), want)
            np.testing.assert_array_equal(y.numpy(), data.y_train[p])
    in_order = np.concatenate([x.numpy() for x, _ in pipeline(data.x_val, data.y_val, 1024)])
    np.testing.assert_allclose(in_order, np.asarray(data.x_val), rtol=1e-6)


@pytest.mark.slow
def test_the_graph_trainers_pieces_come_epoch_after_epoch_and_are_read_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`endless_pieces` gives the epochs' pieces one after the other, as `Rows.pieces` reads them,
    and reads the next ones while the consumer holds one, across the end of an epoch, with
    TensorFlow's op determinism on, as in every run (which turns off the prefetch of a pipeline
    whose function it knows as stateful)."""
    import tensorflow as tf

    from nnrun.train.stream import PIECES_AHEAD, endless_pieces

    tf.config.experimental.enable_op_determinism()
    monkeypatch.setattr(nnrun.data.rows, "BLOCK_BYTES", 20 * ROW)
    monkeypatch.setattr(nnrun.data.stream, "BUFFER_BYTES", 200 * ROW)
    monkeypatch.setattr(nnrun.data.stream, "TRANSFORM_BYTES", 128 * ROW)  # pieces of 128 rows: 2 an epoch
    data = _streamed(tmp_path, 300)
    rows = data.x_train
    assert math.ceil(len(rows) / rows.piece_rows(32)) == 2  # type: ignore[attr-defined]
    expected = [p for epoch in range(3) for p in rows.pieces(rows.piece_rows(32), seed=3, epoch=epoch)]  # type: ignore[attr-defined]
    expected = [(positions.copy(), x.copy()) for positions, x in expected]
    read = []
    pieces = type(rows).pieces

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        for item in pieces(self, *args, **kwargs):
            read.append(1)
            yield item

    monkeypatch.setattr(type(rows), "pieces", counted)
    it = iter(endless_pieces(rows, data.y_train, 32, seed=3))  # type: ignore[arg-type]
    first = next(it)
    deadline = time.monotonic() + 10
    while len(read) < 1 + PIECES_AHEAD and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(read) >= 1 + PIECES_AHEAD  # the next epoch's first pieces too, while this one is held
    got = [first] + [next(it) for _ in range(len(expected) - 1)]
    for (x, y), (positions, want) in zip(got, expected, strict=True):
        np.testing.assert_array_equal(x.numpy(), want)
        np.testing.assert_array_equal(y.numpy(), data.y_train[positions])
