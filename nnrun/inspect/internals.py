"""What the recorder hands back after training: internals.csv's rows and the weight snapshots.

internals.csv has one row per recorded epoch and layer (every epoch, except in long runs
with very few updates per epoch: see `EVERY_EPOCH_UPDATES`) (layer names as Keras names them, as in
summary.txt), for every layer with trainable weights and every layer with a ReLU, sigmoid
or tanh activation. A value that does not apply to a layer is left blank:

    epoch               1-based, as in history.csv
    layer               the Keras layer name (dense, dense_1, leaky_re_lu, ...)
    activation          relu, leaky_relu, sigmoid or tanh when the layer has one
    grad_norm           L2 norm of the layer's gradient (all its trainable weights), averaged
                        over the epoch's updates
    weight_norm         L2 norm of the layer's trainable weights at the end of the epoch
    update_ratio        how far the epoch moved the weights: ||W_end - W_start|| / ||W_start||
    dead_fraction       ReLU layers: the fraction of units that output 0 for every probe row
    saturated_fraction  sigmoid/tanh layers: the fraction of units pinned near a limit (within
                        `SATURATION_MARGIN` of the output range) for at least
                        `SATURATED_ROWS` of the probe rows
    activation_mean, activation_std   over the layer's outputs on the probe batch

The probe batch is the first `PROBE_ROWS` training rows, fixed for the run, run through the
model in inference mode (no dropout, no augmentation). Never imports TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: Rows of the training split the activations are measured on, every epoch.
PROBE_ROWS = 256
#: A sigmoid/tanh output this close to a limit (as a fraction of the output range) is saturated ...
SATURATION_MARGIN = 0.02
#: ... and a unit is saturated when at least this fraction of the probe rows are.
SATURATED_ROWS = 0.9
#: Runs with at least this many updates per epoch record every epoch: the statistics cost a
#: few percent of an epoch. With fewer (full-batch training of a tiny net, where an epoch is
#: a few dozen operations) the statistics would cost as much as the epoch itself, so such a
#: run records every epoch up to `MAX_RECORDED` epochs and about that many, evenly spaced,
#: beyond (plus the snapshot epochs and the last).
EVERY_EPOCH_UPDATES = 4
MAX_RECORDED = 30
#: Snapshots of the weights, on a log scale of epochs, for boundary_epochs.png and weights.png.
SNAPSHOTS = 6

COLUMNS = (
    "epoch",
    "layer",
    "activation",
    "grad_norm",
    "weight_norm",
    "update_ratio",
    "dead_fraction",
    "saturated_fraction",
    "activation_mean",
    "activation_std",
)
#: The numeric columns, in order.
VALUES = COLUMNS[3:]


def snapshot_epochs(epochs: int, n: int = SNAPSHOTS) -> list[int]:
    """About `n` epochs from 1 to `epochs`, evenly spaced on a log scale (1 and the last included)."""
    if epochs <= n:
        return list(range(1, epochs + 1))
    return sorted({int(round(e)) for e in np.geomspace(1, epochs, n)})


def recorded_stride(epochs: int, updates_per_epoch: int) -> int:
    """1 (every epoch is recorded), or every how many epochs a long run of tiny epochs is."""
    if epochs <= MAX_RECORDED or updates_per_epoch >= EVERY_EPOCH_UPDATES:
        return 1
    return -(-epochs // MAX_RECORDED)


def recorded_epochs(epochs: int, updates_per_epoch: int) -> list[int]:
    """The epochs internals.csv has rows for (1-based): every `recorded_stride`-th, the
    snapshot epochs and the last; see `EVERY_EPOCH_UPDATES`."""
    stride = recorded_stride(epochs, updates_per_epoch)
    return sorted({*range(stride, epochs + 1, stride), *snapshot_epochs(epochs), epochs})


@dataclass(frozen=True)
class LayerInfo:
    """A layer internals.csv has rows for."""

    name: str
    activation: str | None  # relu, leaky_relu, sigmoid, tanh or None
    weighted: bool


@dataclass
class Inspection:
    """Everything recorded during one training: per-epoch rows and weight snapshots.

    `snapshots` maps an epoch (1-based) to the model's weights (`model.get_weights()` order)
    at the end of it.
    """

    layers: list[LayerInfo]
    rows: list[dict[str, Any]] = field(default_factory=list)
    snapshots: dict[int, list[np.ndarray]] = field(default_factory=dict)
    #: Indices into the weights list of each weighted layer's kernels (not biases), by layer name.
    kernels: dict[str, list[int]] = field(default_factory=dict)

    def add_epoch(self, epoch: int, values: np.ndarray) -> None:
        """One epoch's flat vector from the recorder (see `layout`) -> rows."""
        self.rows.extend(rows_from_vector(self.layers, epoch, values))


def vector_length(layers: list[LayerInfo]) -> int:
    weighted = sum(1 for layer in layers if layer.weighted)
    watched = sum(1 for layer in layers if layer.activation)
    return 3 * weighted + 4 * watched


def rows_from_vector(layers: list[LayerInfo], epoch: int, values: np.ndarray) -> list[dict[str, Any]]:
    """The recorder's flat vector [grad, weight, ratio per weighted layer; dead, saturated,
    mean, std per activation layer] -> one row per layer, in model order."""
    weighted = [layer for layer in layers if layer.weighted]
    watched = [layer for layer in layers if layer.activation]
    nw, na = len(weighted), len(watched)
    v = np.asarray(values, dtype="float64")
    grad, weight, ratio = v[:nw], v[nw : 2 * nw], v[2 * nw : 3 * nw]
    base = 3 * nw
    dead, sat, mean, std = (v[base + k * na : base + (k + 1) * na] for k in range(4))
    out = []
    for layer in layers:
        row: dict[str, Any] = {"epoch": epoch, "layer": layer.name, "activation": layer.activation or ""}
        row.update(dict.fromkeys(VALUES))
        if layer.weighted:
            i = weighted.index(layer)
            row["grad_norm"] = float(grad[i])
            row["weight_norm"] = float(weight[i])
            row["update_ratio"] = float(ratio[i])
        if layer.activation:
            j = watched.index(layer)
            if layer.activation == "relu":
                row["dead_fraction"] = float(dead[j])
            if layer.activation in ("sigmoid", "tanh"):
                row["saturated_fraction"] = float(sat[j])
            row["activation_mean"] = float(mean[j])
            row["activation_std"] = float(std[j])
        out.append(row)
    return out


def write(path: Path, rows: list[dict[str, Any]]) -> None:
    """internals.csv, atomically (blank where a value does not apply)."""
    from nnrun.runs.files import write_csv_rows

    write_csv_rows(path, [{c: row.get(c) for c in COLUMNS} for row in rows])


def read(path: Path) -> list[dict[str, Any]]:
    """internals.csv back as rows (numbers as floats, NaN where blank); [] if missing or unreadable."""
    import csv

    try:
        with path.open(newline="", encoding="utf-8", errors="replace") as fh:
            out = []
            for raw in csv.DictReader(fh):
                row: dict[str, Any] = {"layer": raw.get("layer") or "", "activation": raw.get("activation") or ""}
                for key in ("epoch", *VALUES):
                    try:
                        row[key] = float(raw.get(key) or "nan")
                    except ValueError:
                        row[key] = math.nan
                out.append(row)
            return out
    except (OSError, csv.Error):
        return []


def series(rows: list[dict[str, Any]], column: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{layer: (epochs, values)} for the layers that have `column`, in first-seen (model) order."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    for row in rows:
        v = row.get(column)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        epochs, values = out.setdefault(str(row["layer"]), ([], []))
        epochs.append(float(row["epoch"]))
        values.append(float(v))
    return {k: (np.asarray(e), np.asarray(v)) for k, (e, v) in out.items()}
