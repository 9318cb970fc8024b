"""Warm reuse: the runs of one architecture in a sweep worker share one model and one traced loop.

Tracing the graph trainer's loop costs more than training a small model, and every traced
loop stays in memory for the life of the process (Keras/TensorFlow keep it alive through a
reference cycle in C++). So a sweep worker (`enable`, called by `nnrun.sweep.worker.setup`)
keeps the model and loop of the last few architectures it trained, keyed by `architecture`:
everything in the spec and the arrays' shapes that is baked into the traced loop. What may
differ between two runs that share an entry is only what the loop reads as inputs or
variables: the seed, the learning rate (a plain rate, not a schedule), the data's values,
the number of epochs (unless `training.inspect`, whose recorded epochs depend on it), the
run's name and the sweep section.

A run that reuses an entry is the same run a fresh process makes: the run still seeds
everything and builds its own model exactly as a fresh one (`adopt` gets it), so the initial
weights and the seed generators' states come from the same random draws; its variables,
and those of its freshly built optimizer (iterations, the learning rate, slots with their own
initial values), are copied into the kept model, whose metrics are reset. The loop resets its
own state (`_EpochLoop.restart`: epoch counter, early stopping, the recorder's accumulators)
and takes the run's seed and arrays as arguments of every call. The fresh model is then
dropped without ever being traced, so a worker's memory stays flat.
"""

from __future__ import annotations

import gc
import json
import os
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

    from nnrun.data import Dataset
    from nnrun.spec import Spec

#: Architectures a worker keeps (a grid that alternates a few architectures still reuses them).
SIZE = 4
#: `NNRUN_SWEEP_WARM=0` turns kept models off: every point traces its own loop, as before.
ENV = "NNRUN_SWEEP_WARM"


@dataclass
class _Entry:
    model: keras.Model
    loop: Any = None  # the graph trainer's loop, made by the first run
    forward: Any = None  # its outputs as a traced function (`nnrun.train.forward`), made by the first run that asks
    #: The optimizer's variables as built, before any update (iterations, a plain rate, slots);
    #: none of them depends on the seed or on the weights.
    optimizer_start: list[Any] | None = None


class _Cache:
    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[str, _Entry] = OrderedDict()

    def find(self, model: keras.Model) -> _Entry | None:
        return next((e for e in self.entries.values() if e.model is model), None)

    def drop(self, key: str) -> None:
        del self.entries[key]
        gc.collect()  # the dropped model's Python cycles; its traced loop stays (see module docstring)


_cache: _Cache | None = None


def enable(size: int = SIZE) -> None:
    """Keep models and loops between runs in this process (a sweep worker), unless `ENV` is 0."""
    global _cache
    if _cache is None and os.environ.get(ENV, "1").strip() != "0":
        _cache = _Cache(size)


def disable() -> None:
    global _cache
    _cache = None


def enabled() -> bool:
    return _cache is not None


def architecture(spec: Spec, data: Dataset) -> str:
    """What two runs must share to share a traced loop: the spec without what the loop takes
    as inputs or variables, and the arrays' shapes and types."""
    d = spec.model_dump(mode="json")
    for key in ("name", "seed", "sweep", "data"):
        d.pop(key, None)
    if d["optimizer"].get("schedule") is None:  # a plain rate is an optimizer variable
        d["optimizer"].pop("learning_rate", None)
    training = d["training"]
    training.pop("tensorboard", None)
    if not training.get("inspect"):
        training.pop("epochs", None)
    d["arrays"] = [[list(a.shape), str(a.dtype)] for a in (data.x_train, data.y_train, data.x_val, data.y_val)]
    d["input_shape"] = list(data.input_shape)
    d["streamed"] = data.streamed  # a streamed run's loop reads iterators (`nnrun.train.graph_stream`)
    return json.dumps(d, sort_keys=True)


def adopt(fresh: keras.Model, spec: Spec, data: Dataset) -> keras.Model:
    """The model to train: `fresh` (just built and seeded), or a kept model of the same
    architecture set to exactly `fresh`'s state. Without `enable`, always `fresh`."""
    if _cache is None:
        return fresh
    key = architecture(spec, data)
    entry = _cache.entries.get(key)
    if entry is not None and entry.loop is not None and _take_state(entry.model, fresh):
        _cache.entries.move_to_end(key)
        return entry.model
    if entry is not None:
        _cache.drop(key)
    fresh.optimizer.build(fresh.trainable_variables)  # as training would first thing: no random draw
    _cache.entries[key] = _Entry(fresh, optimizer_start=[v.numpy() for v in fresh.optimizer.variables])
    while len(_cache.entries) > _cache.size:
        _cache.drop(next(iter(_cache.entries)))
    return fresh


def build(spec: Spec, data: Dataset, seed: Callable[[], None], make: Callable[[], keras.Model]) -> keras.Model:
    """The model to train: a kept model of the same architecture set to exactly the state that
    `make()` would build after `seed()`, or `make()`'s model (kept for the next run).

    A kept model takes a run's state without building that run's model: the run's layers are
    made after `seed()`, as a fresh process makes them (their initializers draw their seeds when
    they are made), but in a `keras.StatelessScope`, where a layer's variables are created
    without values; each value is then its initializer's, computed as building would compute it,
    and assigned to the kept variable. The optimizer gets its state as built (`optimizer_start`)
    and the run's learning rate. Creating the variables of a model and of its optimizer, then
    copying them, took about 30 ms of CPU a point for the XOR MLP; this takes about half."""
    if _cache is not None:
        key = architecture(spec, data)
        entry = _cache.entries.get(key)
        if entry is not None and entry.loop is not None and entry.optimizer_start is not None:
            seed()
            if _take_initial_state(entry, spec, data):
                _cache.entries.move_to_end(key)
                return entry.model
    seed()
    return adopt(make(), spec, data)


def _take_initial_state(entry: _Entry, spec: Spec, data: Dataset) -> bool:
    """Set `entry.model` to the state a fresh build of `spec` would have (see `build`)."""
    import keras
    from keras.src.backend.common import global_state

    from nnrun.build.model import sequential

    try:
        with keras.StatelessScope(initialize_variables=False):
            layers = sequential(spec, data.input_shape).layers
    finally:  # where Keras lists the variables made without a value: they stay without one
        global_state.set_global_attribute("uninitialized_variables", [])
    kept = entry.model
    optimizer = kept.optimizer
    start = entry.optimizer_start or []
    if len(kept.layers) != len(layers) or len(optimizer.variables) != len(start):
        return False
    if any(len(k.variables) != len(f.variables) for k, f in zip(kept.layers, layers, strict=True)):
        return False
    pairs = [
        (a, b) for k, f in zip(kept.layers, layers, strict=True) for a, b in zip(k.variables, f.variables, strict=True)
    ]
    if not _alike(pairs):
        return False
    for a, b in pairs:
        a.assign(b._initializer(b._shape, dtype=b._dtype) if b._value is None else b.value)
    for v, value in zip(optimizer.variables, start, strict=True):
        v.assign(value)
    if spec.optimizer.schedule is None:  # the run's own rate, as the optimizer's constructor casts it
        optimizer.learning_rate.assign(float(spec.optimizer.learning_rate))  # type: ignore[attr-defined]
    kept.reset_metrics()
    return True


def _alike(pairs: list[tuple[Any, Any]]) -> bool:
    """Each kept variable can take its partner's value: same shape, same dtype."""
    return all(tuple(a.shape) == tuple(b.shape) and a.dtype == b.dtype for a, b in pairs)


def _take_state(kept: keras.Model, fresh: keras.Model) -> bool:
    """Copy every variable of `fresh` and of its (newly built) optimizer into `kept`."""
    fresh.optimizer.build(fresh.trainable_variables)
    pairs = [
        *zip(kept.variables, fresh.variables, strict=False),
        *zip(kept.optimizer.variables, fresh.optimizer.variables, strict=False),
    ]
    if len(kept.variables) != len(fresh.variables) or len(kept.optimizer.variables) != len(fresh.optimizer.variables):
        return False
    if not _alike(pairs):
        return False
    for a, b in pairs:
        a.assign(b.value)
    kept.reset_metrics()
    return True


def loop_of(model: keras.Model) -> Any:
    """The traced loop kept with `model`, or None (not kept, or not trained yet)."""
    entry = _cache.find(model) if _cache is not None else None
    return entry.loop if entry is not None else None


def keep_loop(model: keras.Model, loop: Any) -> None:
    """Keep the loop traced for a kept `model` (no-op for a model that is not kept)."""
    entry = _cache.find(model) if _cache is not None else None
    if entry is not None:
        entry.loop = loop


def forward_of(model: keras.Model) -> Any:
    """The traced forward pass kept with `model` (`nnrun.train.forward.Traced`, made on the first
    call), or None for a model that is not kept."""
    entry = _cache.find(model) if _cache is not None else None
    if entry is None:
        return None
    if entry.forward is None:
        from nnrun.train.forward import Traced

        entry.forward = Traced(model)
    return entry.forward


def forget(model: keras.Model) -> None:
    """Stop keeping `model` (a run that failed inside its loop)."""
    if _cache is None:
        return
    for key, entry in list(_cache.entries.items()):
        if entry.model is model:
            _cache.drop(key)
