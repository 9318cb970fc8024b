"""The process entry point ends a training process without TensorFlow's teardown; nothing else may."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, child_env

PACKAGE = ROOT / "nnrun"


def test_only_the_entry_point_ends_the_process() -> None:
    """os._exit only in the two process entry points (the CLI's, a sweep worker process's main
    loop): the library and the Python API always return."""
    callers = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr == "_exit":
                callers.append(path.relative_to(ROOT).as_posix())
    assert sorted(callers) == ["nnrun/cli/app.py", "nnrun/sweep/worker.py"]
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'nnrun = "nnrun.cli.app:entry"' in pyproject
    assert "entry()" in (PACKAGE / "__main__.py").read_text()


@pytest.mark.slow
def test_main_returns_to_its_caller_after_training(tmp_path: Path) -> None:
    """In-process (a test, a notebook) `main` ends with SystemExit and the interpreter goes on."""
    probe = (
        "import sys\n"
        "from nnrun.cli.app import main\n"
        f"sys.argv = ['nnrun', 'train', 'configs/xor.yaml', '--quiet', '--out', {str(tmp_path)!r},"
        " '--set', 'training.epochs=5']\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    print('STILL-HERE', exc.code)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=600
    )
    assert "STILL-HERE None" in out.stdout or "STILL-HERE 0" in out.stdout, out.stderr


@pytest.mark.slow
def test_entry_flushes_its_lines_before_the_fast_exit(tmp_path: Path) -> None:
    """Standard output is a pipe here (block-buffered): the result lines still arrive, exit code 0."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "nnrun",
            "train",
            "configs/xor.yaml",
            "--out",
            str(tmp_path),
            "--set",
            "training.epochs=5",
        ],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    assert "completed" in out.stdout and "run folder:" in out.stdout
    (run_json,) = tmp_path.glob("*/*/run.json")
    assert json.loads(run_json.read_text())["status"] == "completed"
