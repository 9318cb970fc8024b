"""TensorBoard event files from the epoch rows that every trainer hands to the runner.

`training.tensorboard: true` makes the runner feed each finished epoch here, so the fit
trainer and the in-graph trainer produce the same files:

    <run>/tensorboard/train/events.out.tfevents.*        loss, metrics, learning_rate
    <run>/tensorboard/validation/events.out.tfevents.*   loss, metrics (the val_ columns)

Train and validation use the same tag names (`loss`, `accuracy`, ...), so TensorBoard draws
them as two curves on one chart, as it does for Keras' own TensorBoard callback. The step is
the epoch. `tensorboard --logdir runs/` then shows every run.

Only TensorFlow is needed to write: scalars are written with `tf.summary.write` and the
scalar plugin's metadata, which is what `tf.summary.scalar` does when the `tensorboard`
package is installed (tensorflow-cpu does not pull it in). Rows are written by one
`tf.function` per split, so a chunk of a thousand epochs costs one call, not thousands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nnrun.runs.layout import RunFolder

#: Subfolder of the run folder that holds the event files.
FOLDER = RunFolder.TENSORBOARD
TRAIN = "train"
VALIDATION = "validation"
VAL_PREFIX = "val_"


def split_row(row: dict[str, float]) -> dict[str, dict[str, float]]:
    """One history row as {split: {tag: value}}: `val_x` goes to validation as `x`."""
    out: dict[str, dict[str, float]] = {TRAIN: {}, VALIDATION: {}}
    for key, value in row.items():
        if key == "epoch" or value is None:
            continue
        if key.startswith(VAL_PREFIX):
            out[VALIDATION][key[len(VAL_PREFIX) :]] = float(value)
        else:
            out[TRAIN][key] = float(value)
    return out


def _scalar_metadata() -> bytes:
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "scalars"
    metadata.data_class = summary_pb2.DATA_CLASS_SCALAR
    return metadata.SerializeToString()


class _SplitWriter:
    """One event-file writer (one TensorBoard run) and a compiled writer per tag set."""

    def __init__(self, logdir: Path, metadata: bytes) -> None:
        import tensorflow as tf

        self.writer = tf.summary.create_file_writer(str(logdir))
        self.metadata = metadata
        self.functions: dict[tuple[str, ...], Any] = {}

    def _function(self, tags: tuple[str, ...]) -> Any:
        import tensorflow as tf

        fn = self.functions.get(tags)
        if fn is None:
            writer, metadata = self.writer, self.metadata

            @tf.function(
                input_signature=[
                    tf.TensorSpec([None], tf.int64),
                    tf.TensorSpec([None, len(tags)], tf.float32),
                ]
            )
            def write(steps: Any, values: Any) -> Any:
                with writer.as_default():
                    for i in tf.range(tf.shape(steps)[0]):
                        for j, tag in enumerate(tags):
                            tf.summary.write(tag, values[i, j], step=steps[i], metadata=metadata)
                return tf.constant(0)

            fn = self.functions[tags] = write
        return fn

    def write(self, steps: list[int], rows: list[dict[str, float]]) -> None:
        import numpy as np

        # Rows of one run share their columns; group by tag set in case one ever differs.
        groups: dict[tuple[str, ...], tuple[list[int], list[list[float]]]] = {}
        for step, row in zip(steps, rows, strict=True):
            tags = tuple(row)
            if not tags:
                continue
            group = groups.setdefault(tags, ([], []))
            group[0].append(step)
            group[1].append([row[t] for t in tags])
        for tags, (group_steps, values) in groups.items():
            self._function(tags)(np.asarray(group_steps, np.int64), np.asarray(values, np.float32))

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class TensorBoardLog:
    """Writes history rows as TensorBoard scalars under `<run_dir>/tensorboard/`."""

    def __init__(self, run_dir: Path) -> None:
        self.root = Path(run_dir) / FOLDER
        self.metadata = _scalar_metadata()
        self.writers: dict[str, _SplitWriter] = {}
        self.closed = False

    def _writer(self, split: str) -> _SplitWriter:
        if split not in self.writers:
            self.writers[split] = _SplitWriter(self.root / split, self.metadata)
        return self.writers[split]

    def write(self, rows: list[dict[str, float]]) -> None:
        """Write finished epochs (history rows with an `epoch` column, 1-based)."""
        if self.closed or not rows:
            return
        per_split: dict[str, tuple[list[int], list[dict[str, float]]]] = {}
        for row in rows:
            step = int(row["epoch"])
            for split, values in split_row(row).items():
                if values:
                    steps, split_rows = per_split.setdefault(split, ([], []))
                    steps.append(step)
                    split_rows.append(values)
        for split, (steps, split_rows) in per_split.items():
            self._writer(split).write(steps, split_rows)

    def flush(self) -> None:
        for writer in self.writers.values():
            writer.flush()

    def close(self) -> None:
        """Flush and close the event files; later writes are ignored."""
        if self.closed:
            return
        self.closed = True
        for writer in self.writers.values():
            writer.close()
