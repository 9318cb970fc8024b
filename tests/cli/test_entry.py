"""The process entry point ends a training process without TensorFlow's teardown; nothing else may."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "nnrun"


def test_only_the_entry_point_ends_the_process() -> None:
    """os._exit only where a process ends that nnrun started: the CLI's entry point, a sweep
    worker's main loop, a worker's forked drawing process, the fork server's ending (its
    preload); the library and the Python API always return."""
    callers = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr == "_exit":
                callers.append(path.relative_to(ROOT).as_posix())
    assert sorted(callers) == [
        "nnrun/cli/app.py",
        "nnrun/experiment/pictures.py",
        "nnrun/sweep/preload.py",
        "nnrun/sweep/worker.py",
    ]
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'nnrun = "nnrun.cli.app:entry"' in pyproject
    assert "entry()" in (PACKAGE / "__main__.py").read_text()


@pytest.mark.slow
def test_main_returns_to_its_caller_after_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process (a test, a notebook) `main` ends with SystemExit and the interpreter goes on:
    here, this test's own process trains through it and carries on."""
    from nnrun.cli.app import main

    args = [
        "train",
        str(ROOT / "configs" / "xor.yaml"),
        "--quiet",
        "--out",
        str(tmp_path),
        "--set",
        "training.epochs=5",
    ]
    monkeypatch.setattr(sys, "argv", ["nnrun", *args])
    with pytest.raises(SystemExit) as ended:
        main()
    assert ended.value.code in (None, 0)
    (run_json,) = tmp_path.glob("*/*/run.json")
    assert json.loads(run_json.read_text())["status"] == "completed"


# The entry point flushes its lines before the fast exit (standard output a pipe, block-buffered):
# checked on the `nnrun train` child of tests/cli/test_train_cli.py, which reads them from a pipe.
