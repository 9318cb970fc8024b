"""`nnrun --help` and the commands added for integrations stay light: no TensorFlow, Keras
or MLflow is imported (checked in a fresh interpreter, where the import would be visible)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CONFIGS, run_probed


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
    run = tmp_path / "runs" / "demo" / "20250101-000000-abcdef"
    run.mkdir(parents=True)
    (run / "run.json").write_text("{}")
    proc = run_probed(*args, cwd=tmp_path, heavy=("tensorflow", "keras", "mlflow"), env=env)
    assert "HEAVY []" in proc.stderr, (args, proc.stderr[-2000:])
    assert expected in proc.stdout, (args, proc.stdout[-2000:])
