"""Which run pictures a report embeds: as many as fit a byte budget, the ones a reader needs most
first, the rest linked to their files.

A run leaves up to ten PNGs (an XOR run about 370 kB of them), so fifty runs would make a page
of 25 MB. The budget counts the actual bytes of the pictures, and fills it rank by rank over
every run: first each run's loss curve, then its results (confusion matrix, decision regions,
predictions), then its other curves (metrics, learning rate), then its insides (gradients,
activations, weights, the regions over epochs), those of runs with an internals verdict before
the others. Once a rank does not fit whole, no later rank is embedded: a run never shows its
weights while another run's confusion matrix is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nnrun.runs.layout import RunFolder

#: PNG bytes one report embeds in all, page-wide pictures included. Base64 makes them 4/3 as
#: large, so the page stays under about `PAGE_BYTES`: small enough to mail.
IMAGE_BUDGET = 7_000_000
#: What the page is meant to stay under (the pictures' base64 plus the tables and text).
PAGE_BYTES = 10_000_000

LOSS, RESULT, CURVES, INSIDE = range(4)
#: What each rank is, for the note on a page that left pictures out.
RANK_NAMES = ("loss curve", "results", "other curves", "insides")
RESULT_PLOTS = (RunFolder.CONFUSION_PLOT, RunFolder.BOUNDARY_PLOT, RunFolder.PREDICTIONS_PLOT)
INSIDE_PLOTS = (
    RunFolder.GRADIENTS_PLOT,
    RunFolder.ACTIVATIONS_PLOT,
    RunFolder.WEIGHTS_PLOT,
    RunFolder.BOUNDARY_EPOCHS_PLOT,
)


@dataclass(frozen=True)
class Picture:
    """One run picture: its name, its PNG bytes and the file it was read from (None when it
    was drawn for the report, e.g. the curves of a run that has no loss.png)."""

    name: str
    png: bytes
    path: Path | None = None


def rank(name: str) -> int:
    """How much a reader needs the picture: `LOSS` first, `INSIDE` last."""
    if name == RunFolder.LOSS_PLOT or name.startswith("loss ("):
        return LOSS
    if name in RESULT_PLOTS:
        return RESULT
    if name in INSIDE_PLOTS:
        return INSIDE
    return CURVES


@dataclass
class Plan:
    """Per run (in the order given): the pictures to embed and those to link, each in the run's
    own order; `spent` bytes embedded, and the ranks that were cut."""

    embedded: list[list[Picture]]
    linked: list[list[Picture]]
    spent: int
    cut: list[int]


def plan(pictures: Sequence[Sequence[Picture]], budget: int, concerned: Sequence[bool] = ()) -> Plan:
    """Fill `budget` bytes rank by rank (module doc). `concerned[i]`: run i has an internals
    verdict, so its insides come before the other runs' insides."""
    keyed = []
    for i, run in enumerate(pictures):
        worry = 0 if i < len(concerned) and concerned[i] else 1
        for j, picture in enumerate(run):
            r = rank(picture.name)
            keyed.append(((r, worry if r == INSIDE else 0, i, j), picture))
    keyed.sort(key=lambda k: k[0])
    chosen: set[tuple[int, int]] = set()
    spent, first_cut, cut = 0, None, set()
    for (r, _, i, j), picture in keyed:
        # within the first rank that does not fit whole, smaller pictures may still go in
        if (first_cut is None or r == first_cut) and spent + len(picture.png) <= budget:
            chosen.add((i, j))
            spent += len(picture.png)
            continue
        first_cut = r if first_cut is None else first_cut
        cut.add(r)
    embedded = [[p for j, p in enumerate(run) if (i, j) in chosen] for i, run in enumerate(pictures)]
    linked = [[p for j, p in enumerate(run) if (i, j) not in chosen] for i, run in enumerate(pictures)]
    return Plan(embedded, linked, spent, sorted(cut))
