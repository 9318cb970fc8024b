"""Which trainer runs a spec: `training.trainer: auto | graph | fit`."""

from __future__ import annotations

from nnrun.data import Dataset
from nnrun.errors import NnrunError
from nnrun.spec import Spec
from nnrun.train.base import Trainer


def trainers() -> dict[str, type[Trainer]]:
    from nnrun.train.fit import FitTrainer

    table: dict[str, type[Trainer]] = {"fit": FitTrainer}
    try:
        from nnrun.train.graph import GraphTrainer
    except ImportError:  # pragma: no cover - the graph trainer ships with nnrun
        return table
    table["graph"] = GraphTrainer
    return table


def choose(spec: Spec, data: Dataset) -> tuple[Trainer, str | None]:
    """The trainer to use, and why the graph trainer was not used (for `auto`)."""
    table = trainers()
    wanted = spec.training.trainer
    if wanted == "fit":
        return table["fit"](), None
    graph = table.get("graph")
    reason = graph.unsupported(spec, data) if graph else "the graph trainer is not available"
    if wanted == "graph":
        if reason:
            raise NnrunError(f"training.trainer: graph cannot run this config: {reason}; use trainer: fit or auto")
        assert graph is not None
        return graph(), None
    if graph is not None and reason is None:
        return graph(), None
    return table["fit"](), reason
