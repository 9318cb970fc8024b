"""The Python API (`nnrun.train`, `sweep`, `load`, `runs`, `validate`, `Run`, `Sweep`): light to
import, the CLI's messages and tables, and runs that are the same folders the CLI makes."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import nnrun
from nnrun.runs.layout import RunFolder
from tests.conftest import CONFIGS, ROOT, child_env, run_cli

XOR = CONFIGS / "xor.yaml"


def test_import_nnrun_loads_no_tensorflow() -> None:
    code = (
        "import sys, nnrun, nnrun.api.run, nnrun.api.sweeps, nnrun.api.html\n"
        "assert callable(nnrun.train) and callable(nnrun.sweep) and callable(nnrun.runs)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras'}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=child_env({"PYTHONPATH": str(ROOT)})
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_the_api_names_are_callable_and_the_subpackages_still_import() -> None:
    import inspect

    import nnrun.runs.layout
    import nnrun.sweep.expand

    assert nnrun.sweep.expand.LR_KEY == "optimizer.learning_rate"
    assert nnrun.runs.layout.RunFolder is RunFolder
    assert list(inspect.signature(nnrun.train).parameters) == ["config", "overrides", "out", "quiet"]
    assert "grid" in inspect.signature(nnrun.sweep).parameters


def test_validate_returns_the_spec_and_raises_the_clis_message(tmp_path: Path) -> None:
    assert nnrun.validate(XOR).name == "xor"
    assert nnrun.validate(XOR, {"training.epochs": 3}).training.epochs == 3
    bad = tmp_path / "bad.yaml"
    bad.write_text(XOR.read_text().replace("adam", "adma").replace("epochs: 500", "epochs: -1"))
    with pytest.raises(nnrun.SpecError) as caught:
        nnrun.validate(bad)
    proc = run_cli("validate", str(bad))
    assert proc.returncode == 2
    printed = [line.strip() for line in proc.stderr.splitlines()[1:]]
    assert printed == str(caught.value).splitlines()
    assert "did you mean 'adam'?" in str(caught.value)


def test_a_dict_config_and_overrides_fail_like_a_file() -> None:
    data = nnrun.validate(XOR).to_yaml_dict()
    assert nnrun.validate(data) == nnrun.validate(XOR)
    with pytest.raises(nnrun.SpecError, match=r"optimizer.learning_rate: .*Received"):
        nnrun.validate(data, {"optimizer.learning_rate": "fast"})
    with pytest.raises(nnrun.SpecError, match="training.epochs"):
        nnrun.validate(XOR, ["training.epochs=0"])
    with pytest.raises(nnrun.NnrunError, match="expected a YAML file's path, a dict or an nnrun Spec"):
        nnrun.validate(42)  # type: ignore[arg-type]


def _json_rows(text: str) -> list[dict]:
    return json.loads(text)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return b is None
    return a == b


def test_runs_is_the_table_of_compare_json(made) -> None:
    table = nnrun.runs(made.root)
    proc = run_cli("compare", str(made.root), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = _json_rows(proc.stdout)
    assert len(table) == len(rows) > 5
    assert list(table.columns) == list(rows[0])
    for got, want in zip(table.to_dict("records"), rows, strict=True):
        assert all(_same(got[k], want[k]) for k in want), (got, want)
    completed = nnrun.runs(made.root, status="completed", filter="optimizer.name=adam")
    proc = run_cli(
        "compare", str(made.root), "--format", "json", "--status", "completed", "--filter", "optimizer.name=adam"
    )
    assert completed["dir"].tolist() == [r["dir"] for r in _json_rows(proc.stdout)]
    assert set(completed["status"]) == {"completed"}


def test_load_reads_runs_and_sweeps_without_tensorflow(made) -> None:
    run = nnrun.load(made.completed["adam"])
    assert isinstance(run, nnrun.Run) and run.status == "completed"
    assert isinstance(run.history, pd.DataFrame) and len(run.history) == 12
    assert run.metrics["test"]["accuracy"] == run.test["accuracy"]
    assert run.diagnosis["verdict"]
    assert nnrun.load(made.interrupted).status == "interrupted"
    sweep = nnrun.load(made.sweep)
    assert isinstance(sweep, nnrun.Sweep)
    assert len(sweep.runs) == len(made.sweep_points)
    with pytest.raises(nnrun.NnrunError):
        nnrun.load(made.not_a_run)
