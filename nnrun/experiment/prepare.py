"""Everything about an experiment that can fail because of the user's input, without TensorFlow.

`validate` and `train` both go through here, so they reject the same configs and a bad
config never leaves a run folder behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nnrun.data import DataProblem, Dataset, prepare
from nnrun.errors import Problem, SpecError
from nnrun.spec import Spec
from nnrun.spec.checks import DataFacts, static_facts
from nnrun.spec.loader import Document
from nnrun.spec.parse import dotted, load_spec, semantic_problems
from nnrun.tf_import import request_intra_op_threads
from nnrun.train.threads import intra_op_threads


@dataclass
class Prepared:
    spec: Spec
    doc: Document
    data: Dataset
    config_path: Path | None = None


def _data_error(exc: DataProblem, doc: Document) -> SpecError:
    return SpecError(
        [
            Problem(
                key=dotted(exc.key),
                message=exc.message,
                line=doc.line_of(exc.key),
                suggestion=exc.suggestion,
            )
        ],
        doc.source,
    )


def prepare_experiment(config: str | Path, overrides: list[str] | None = None) -> Prepared:
    """Load, validate and load the data; raises SpecError for anything the user must fix."""
    spec, doc = load_spec(config, overrides)
    return prepare_loaded(spec, doc, Path(config).resolve().parent, Path(config))


def prepare_loaded(spec: Spec, doc: Document, base: Path, config_path: Path | None = None) -> Prepared:
    # before loading the data, which may start TensorFlow (the Keras datasets); imports nothing
    request_intra_op_threads(intra_op_threads(spec))
    try:
        data = prepare(spec, base)
    except DataProblem as exc:
        raise _data_error(exc, doc) from None
    # The run's config.yaml must train as is from anywhere: it keeps the data file's absolute path.
    spec.data.absolute_path(base)
    if static_facts(spec) is None:
        facts = DataFacts(data.task, data.input_shape, data.n_classes, data.n_outputs)
        problems = semantic_problems(spec, facts, doc)
        if problems:
            raise SpecError(problems, doc.source)
    return Prepared(spec, doc, data, config_path)
