"""Verdicts on a run's internals: vanishing gradients, exploding gradients, dying ReLU.

Pure Python and NumPy (no TensorFlow): the runner calls `judge` when a run ends and writes
the verdicts to run.json (`internals_verdicts`, beside the fit `diagnosis`); readers call it
again on internals.csv for runs whose run.json lacks them. The rules:

1. **vanishing gradients**: in a network with at least `MIN_DEPTH` layers with weights, the
   first layer's gradient norm is below `VANISHING_RATIO` of the last layer's for
   `PERSIST` epochs in a row (all of them when fewer ran). The epoch is the first of those.
   Hint (`vanishing_hint`): what the network does not do yet. Sigmoid/tanh hidden layers: ReLU
   or leaky ReLU with He initialisation; ReLU ones: leaky ReLU (a unit at 0 passes no gradient
   back), He initialisation, batch normalisation, fewer layers.
2. **exploding gradients**: the total gradient norm (all layers) grew more than
   `EXPLODING_GROWTH` times above its lowest value so far, and then either the run
   diverged (a NaN/inf loss or gradient, or a training loss that exploded while staying
   finite: `nnrun.diagnose.explosion`) or the growth held for `PERSIST` epochs.
   The epoch is the first one above that line. Hint: lower the learning rate, clip the
   gradients (`optimizer.clipnorm`).
3. **dying ReLU**: at the last epoch at least `DEAD_FRACTION` of a ReLU layer's units are
   dead (zero for every probe row). The epoch is the first from which the layer stayed at
   or above that fraction. Hint: leaky_relu, a lower learning rate.

A run gets any number of these (often none). Thresholds were set on the example configs:
an 8-layer sigmoid MLP on moons has a first/last ratio around 1e-3 to 1e-4 while the same
net with ReLU stays near 0.1-1; a well-tuned deep ReLU net has up to 30-45 % dead units in a layer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nnrun.diagnose import Diagnosis, explosion
from nnrun.inspect.internals import read, series
from nnrun.runs.layout import RunFolder

if TYPE_CHECKING:
    from nnrun.runs.reader import RunInfo

#: run.json's field for the verdicts (`RunJson.internals_verdicts`): a list, empty when none
#: applies; absent when the run was not inspected.
VERDICTS_FIELD = "internals_verdicts"

VANISHING = "vanishing gradients"
EXPLODING = "exploding gradients"
DYING_RELU = "dying ReLU"
VERDICTS = (VANISHING, EXPLODING, DYING_RELU)

MIN_DEPTH = 3
VANISHING_RATIO = 1e-2
EXPLODING_GROWTH = 100.0
DEAD_FRACTION = 0.5
PERSIST = 3


@dataclass(frozen=True)
class Verdict(Diagnosis):
    """One finding on the internals: what, from which epoch, in words, and what to try; the fit
    diagnosis's shape plus the layer it concerns (dying ReLU)."""

    layer: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "layer": self.layer}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict | None:
        """A verdict read back from run.json; None for anything that is not one."""
        if not isinstance(data, Mapping) or data.get("verdict") not in VERDICTS:
            return None
        epoch = data.get("epoch")
        return cls(
            str(data["verdict"]),
            str(data.get("label") or data["verdict"]),
            str(data.get("hint") or ""),
            epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else None,
            str(data["layer"]) if data.get("layer") else None,
        )


def _persistent_start(flags: np.ndarray) -> int | None:
    """Index of the first run of `PERSIST` true flags (or of all flags when fewer exist)."""
    need = min(PERSIST, len(flags))
    if need == 0:
        return None
    run = 0
    for i, f in enumerate(flags):
        run = run + 1 if f else 0
        if run >= need:
            return i - need + 1
    return None


#: Activations that squash their input (the study guide: both suffer from vanishing gradients).
SATURATING = ("sigmoid", "tanh")
#: Initializers that start every unit of a layer alike (no random start to break the symmetry).
ALIKE = ("zeros", "ones", "constant")


def _config_layers(config: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """Every layer of config.yaml's model (plain data), nested ones included."""
    out: list[Mapping[str, Any]] = []
    todo = [(config or {}).get("model")]
    while todo:
        item = todo.pop()
        if isinstance(item, Mapping):
            if "type" in item:
                out.append(item)
            todo += [v for v in item.values() if isinstance(v, (Mapping, list))]
        elif isinstance(item, list):
            todo += item
    return out


def _initializer(layer: Mapping[str, Any]) -> str:
    init = layer.get("kernel_initializer")
    name = init.get("name") if isinstance(init, Mapping) else init
    return str(name) if name else "glorot_uniform"  # Keras's default


def vanishing_hint(rows: Sequence[Mapping[str, Any]], config: Mapping[str, Any] | None = None) -> str:
    """What to try against vanishing gradients, leaving out what the network already does.

    The hidden layers' activations are read from internals.csv's rows (every layer but the
    last with weights, the output); the initializers and batch normalisation from config.yaml
    (plain data; without it nothing is known of them and both are suggested)."""
    output = [r["layer"] for r in rows if isinstance(r.get("grad_norm"), float) and math.isfinite(r["grad_norm"])]
    hidden = {str(r["activation"]) for r in rows if r.get("activation") and (not output or r["layer"] != output[-1])}
    layers = _config_layers(config)
    weighted = [layer for layer in layers if "units" in layer or "filters" in layer]
    inits = {_initializer(layer) for layer in weighted}
    normalised = any(layer.get("type") == "batch_normalization" for layer in layers) or any(
        str(r.get("layer", "")).startswith("batch_normalization") for r in rows
    )
    he = "He initialisation (kernel_initializer: he_normal)"
    alike = sorted(inits & set(ALIKE))
    if alike:
        he = f"random starting weights (kernel_initializer: he_normal, not {'/'.join(alike)})"
    elif inits and all(i.startswith("he_") for i in inits):
        he = ""
    tries: list[str] = []
    squashing = sorted(hidden & set(SATURATING))
    if squashing:
        lead = (
            f"the hidden layers use {'/'.join(squashing)}, which shrinks the gradient at every layer: "
            f"use relu (or leaky_relu) there instead" + (f", with {he}" if he else "")
        )
        tries += ["batch_normalization between layers"] if not normalised else []
    else:
        relu = "relu" in hidden
        lead = "the hidden layers already use relu: try " if relu else "the hidden layers already use leaky_relu: try "
        if not hidden:
            lead = "try relu (or leaky_relu) in the hidden layers, "
        tries += (
            ["leaky_relu (a ReLU unit stuck at 0 passes no gradient back)"]
            if relu and "leaky_relu" not in hidden
            else []
        )
        tries += [he] if he else []
        tries += ["batch_normalization between layers"] if not normalised else []
        tries += ["fewer layers"]
        return lead + (", ".join(tries[:-1]) + " or " + tries[-1] if len(tries) > 1 else tries[0])
    return lead + (f", or {tries[0]}" if tries else "")


def _vanishing(rows: Sequence[Mapping[str, Any]], config: Mapping[str, Any] | None = None) -> Verdict | None:
    grads = series(list(rows), "grad_norm")
    if len(grads) < MIN_DEPTH:
        return None
    names = list(grads)
    (e_first, g_first), (e_last, g_last) = grads[names[0]], grads[names[-1]]
    epochs = np.intersect1d(e_first, e_last)
    if not len(epochs):
        return None
    first = g_first[np.isin(e_first, epochs)]
    last = g_last[np.isin(e_last, epochs)]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = first / last
    flags = np.isfinite(ratio) & (ratio < VANISHING_RATIO)
    start = _persistent_start(flags)
    if start is None:
        return None
    typical = float(np.median(ratio[start:][np.isfinite(ratio[start:])]))
    epoch = int(epochs[start])
    size = (
        f"is about 10^-{int(math.floor(-math.log10(typical)))} of the last layer's ({names[-1]}), so the early layers "
        "barely learn"
        if typical > 0
        else f"is 0: it gets no gradient at all while the last layer's ({names[-1]}) does, so the early layers do not learn"
    )
    return Verdict(
        VANISHING,
        f"vanishing gradients from epoch {epoch}",
        f"the first layer's gradient ({names[0]}) {size}: {vanishing_hint(rows, config)}",
        epoch,
        names[0],
    )


def _exploding(rows: Sequence[Mapping[str, Any]], diverged: bool, stayed_finite: bool = False) -> Verdict | None:
    grads = series(list(rows), "grad_norm")
    if not grads:
        return None
    epochs = np.unique(np.concatenate([e for e, _ in grads.values()]))
    total = np.zeros(len(epochs))
    for e, g in grads.values():
        total[np.searchsorted(epochs, e)] += g**2
    total = np.sqrt(total)
    finite = np.isfinite(total)
    diverged = diverged or not finite.all()
    lowest = np.minimum.accumulate(np.where(finite & (total > 0), total, np.inf))
    known = np.isfinite(lowest)
    above = known & (~finite | (total > EXPLODING_GROWTH * np.where(known, lowest, 1.0)))
    # after a divergence one epoch above the line is enough; otherwise the growth must hold
    first_above = int(np.argmax(above)) if above.any() else None
    start = first_above if diverged else _persistent_start(above)
    if start is None:
        return None
    epoch = int(epochs[start])
    peak = total[start:][finite[start:]]
    factor = float(peak.max()) / float(lowest[start]) if len(peak) else math.inf
    growth = (
        f"{factor:,.0f}x"
        if factor < 1000
        else f"about 10^{int(math.log10(factor))}x"
        if math.isfinite(factor)
        else "to inf"
    )
    return Verdict(
        EXPLODING,
        f"exploding gradients from epoch {epoch}",
        f"the gradient norm grew {growth} above its lowest value"
        + (" as the loss exploded" if stayed_finite else " before the loss diverged" if diverged else "")
        + ": lower optimizer.learning_rate (try 10x smaller), clip the gradients (optimizer.clipnorm: 1.0) "
        "or standardize the inputs",
        epoch,
    )


def _dying_relu(rows: Sequence[Mapping[str, Any]]) -> list[Verdict]:
    out = []
    for layer, (epochs, dead) in series(list(rows), "dead_fraction").items():
        if not len(dead) or not dead[-1] >= DEAD_FRACTION:
            continue
        below = np.flatnonzero(~(dead >= DEAD_FRACTION))
        start = int(below[-1]) + 1 if len(below) else 0
        epoch = int(epochs[start])
        out.append(
            Verdict(
                DYING_RELU,
                f"dying ReLU in {layer} from epoch {epoch}",
                f"{dead[-1]:.0%} of {layer}'s units never fire (zero for every probe row), so they no longer "
                "learn: use leaky_relu, or lower optimizer.learning_rate",
                epoch,
                layer,
            )
        )
    return out


def judge(
    rows: Sequence[Mapping[str, Any]],
    history: Sequence[Mapping[str, Any]] = (),
    status: str | None = None,
    config: Mapping[str, Any] | None = None,
) -> list[Verdict]:
    """Every verdict on one run's internals (rows of internals.csv), in the order of `VERDICTS`;
    `config`: config.yaml as plain data (what the hints leave out: what the network already does)."""
    diverged = status == "diverged" or any(
        isinstance(v, float) and not math.isfinite(v)
        for row in history
        for k, v in row.items()
        if str(k).endswith("loss")
    )
    # a loss that exploded while staying finite diverged too (the fit diagnosis's rule 1)
    exploded = not diverged and bool(history) and explosion(history) is not None
    found = [v for v in (_vanishing(rows, config), _exploding(rows, diverged or exploded, exploded)) if v is not None]
    return found + _dying_relu(rows)


def summary(verdicts: Sequence[Verdict]) -> str:
    """One short cell for tables: `vanishing gradients (e3); dying ReLU dense_1 (e12)`, or `none`."""
    if not verdicts:
        return "none"
    return "; ".join(
        f"{v.verdict}{' ' + v.layer if v.layer and v.verdict == DYING_RELU else ''}"
        + (f" (e{v.epoch})" if v.epoch is not None else "")
        for v in verdicts
    )


def of_run(run: RunInfo) -> list[Verdict] | None:
    """A run's verdicts: from run.json, else judged from its internals.csv; None if it has neither.

    Like the fit diagnosis, failed, running and crashed runs have none.
    """
    stored = run.run_json.internals_verdicts
    if stored is not None:
        return [v for v in map(Verdict.from_dict, stored) if v is not None]
    if run.status not in ("completed", "interrupted", "diverged"):
        return None
    rows = read(RunFolder(run.dir).internals)
    return judge(rows, run.history(), run.status, run.config) if rows else None
