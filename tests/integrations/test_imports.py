"""`nnrun --help` and the commands added for integrations stay light: no TensorFlow, Keras
or MLflow is imported (checked in a fresh interpreter, where the import would be visible)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CONFIGS

PROBE = """\
import runpy, sys
sys.argv = ['nnrun', *sys.argv[1:]]
try:
    runpy.run_module('nnrun', run_name='__main__')
except SystemExit:
    pass
heavy = sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'mlflow'})
print('HEAVY', heavy, file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--help"], {}, "export"),
        (["export", "--help"], {}, "--tracking-uri"),
        (["init", "--list"], {}, "mlp"),
        (["init", "xor", "-o", "-"], {}, "name: xor"),
        (["init", "-o", "starter.yaml"], {}, "wrote starter.yaml"),
        (
            [],
            {"_NNRUN_COMPLETE": "complete_bash", "COMP_WORDS": f"nnrun train {CONFIGS}/x", "COMP_CWORD": "2"},
            f"{CONFIGS}/xor.yaml",
        ),
        (
            [],
            {"_NNRUN_COMPLETE": "complete_bash", "COMP_WORDS": "nnrun export mlflow r", "COMP_CWORD": "3"},
            "runs/demo/20250101-000000-abcdef",
        ),
    ],
    ids=["help", "export-help", "init-list", "init-stdout", "init-file", "complete-config", "complete-runs"],
)
def test_no_heavy_imports(args: list[str], env: dict[str, str], expected: str, tmp_path: Path) -> None:
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    run = tmp_path / "runs" / "demo" / "20250101-000000-abcdef"
    run.mkdir(parents=True)
    (run / "run.json").write_text("{}")
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, **env},
    )
    assert "HEAVY []" in proc.stderr, (args, proc.stderr[-2000:])
    assert expected in proc.stdout, (args, proc.stdout[-2000:])
