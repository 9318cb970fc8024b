"""Where TensorFlow may be imported, checked statically (like an import-linter contract) and
in fresh interpreters: only the modules that build, train or load models import it, the
pydantic spec never does, and the commands that do not train never load it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import CONFIGS, ROOT, run_probed

HEAVY = {"tensorflow", "keras"}

#: The only modules that may import TensorFlow or Keras (at the top or inside a function).
MAY_IMPORT_TENSORFLOW = {
    "nnrun.tf_import",  # the one quiet import (file descriptor 2 redirected)
    "nnrun.build.custom",  # custom Keras layers
    "nnrun.build.model",  # spec -> keras.Model
    "nnrun.build.registry",  # name -> Keras object
    "nnrun.train.base",  # the trainer interface (type hints only)
    "nnrun.train.fit",
    "nnrun.train.graph",
    "nnrun.train.graph_stream",  # the graph trainer's loop over the tf.data pipeline
    "nnrun.train.warm",  # kept models and traced loops of a sweep worker (type hints only)
    "nnrun.train.stream",  # the tf.data pipeline over streamed rows
    "nnrun.train.forward",  # a kept model's traced forward pass in a sweep worker
    "nnrun.experiment.lifecycle",  # seeds TensorFlow before building
    "nnrun.integrations.tensorboard",  # event files
    "nnrun.predict",  # loads model.keras
    "nnrun.data.download",  # keras.utils.get_file, only when a Keras dataset file is not cached yet
    "nnrun.sweep.worker",  # thread pools set before TensorFlow's first op
    "nnrun.sweep.preload",  # the fork server of local sweep workers loads TensorFlow once for all of them
    "nnrun.experiment.artefacts",  # samples the optimizer's schedule at every update for lr_steps.csv
    "nnrun.inspect.recorder",  # per-epoch internals, inside the training loop
    "nnrun.inspect.replay",  # a dense net's weights kept in the training loop, its internals replayed after
    "nnrun.inspect.augmentation",  # runs the config's Keras augmentation layers on samples
}


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / "nnrun").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imported(path: Path) -> set[str]:
    """Every module an import statement names, anywhere in the file (functions included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_the_model_modules_import_tensorflow() -> None:
    found = {name for name, path in modules().items() if {n.split(".")[0] for n in imported(path)} & HEAVY}
    assert found <= MAY_IMPORT_TENSORFLOW, (
        f"imports TensorFlow/Keras but is not listed: {sorted(found - MAY_IMPORT_TENSORFLOW)}"
    )


@pytest.mark.parametrize("package", ["nnrun.spec", "nnrun.runs", "nnrun.compare"])
def test_light_packages_reach_no_model_module(package: str) -> None:
    """The spec, the run-folder format and compare never import (even lazily) a module that loads TensorFlow."""
    bad = {}
    for name, path in modules().items():
        if name == package or name.startswith(package + "."):
            reached = {n for n in imported(path) if n.split(".")[0] in HEAVY or n in MAY_IMPORT_TENSORFLOW}
            if reached:
                bad[name] = sorted(reached)
    assert not bad


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["validate", str(CONFIGS / "xor.yaml")],
        ["validate", str(CONFIGS / "csv_example.yaml")],
        ["schema"],
        ["compare", "runs-that-do-not-exist"],
        ["show", "runs-that-do-not-exist"],
        ["report", "runs-that-do-not-exist", "-o", "report.html"],
    ],
    ids=["help", "validate", "validate-csv", "schema", "compare", "show", "report"],
)
def test_commands_that_do_not_train_never_load_tensorflow(args: list[str], tmp_path: Path) -> None:
    proc = run_probed(*args, cwd=tmp_path, heavy=tuple(HEAVY))
    assert "HEAVY []" in proc.stderr, proc.stderr[-2000:]
