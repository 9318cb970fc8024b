"""Every example config validates, and YAML -> spec -> YAML round-trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from nnrun.spec import Spec, loads_spec
from nnrun.spec.loader import load
from nnrun.spec.parse import parse
from tests.conftest import CONFIGS, run_cli

ALL = sorted(CONFIGS.glob("*.yaml"))


def test_there_is_a_config_per_idea() -> None:
    assert len(ALL) >= 20


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_config_validates_and_round_trips(path: Path) -> None:
    spec = parse(load(path))
    dumped = yaml.safe_dump(spec.to_yaml_dict(), sort_keys=False)
    again = loads_spec(dumped, source="round-trip")
    assert again == spec
    assert again.to_yaml_dict() == spec.to_yaml_dict()


def test_defaults_are_filled_in() -> None:
    spec = loads_spec(
        "data: {dataset: moons}\nmodel: {layers: [{type: dense, units: 1, activation: sigmoid}]}\nloss: binary_crossentropy\n"
    )
    data = spec.to_yaml_dict()
    assert data["data"]["n_samples"] == 500
    assert data["data"]["standardize"] is True
    assert data["metrics"] == ["accuracy"]
    assert data["training"]["batch_size"] == 32
    assert data["optimizer"] == {"name": "sgd", "learning_rate": 0.01, "momentum": 0.0, "nesterov": False}
    assert data["model"]["layers"][0]["activation"] == "sigmoid"


def test_leaky_relu_alpha_round_trips() -> None:
    spec = loads_spec((CONFIGS / "circles_leaky_relu.yaml").read_text())
    assert spec.to_yaml_dict()["model"]["layers"][0]["activation"] == {"name": "leaky_relu", "alpha": 0.1}


def test_json_schema_lists_the_vocabulary() -> None:
    schema = Spec.model_json_schema()
    text = json.dumps(schema)
    for word in ("breast_cancer", "leaky_relu", "transformer_encoder", "cyclical", "sparse_categorical_crossentropy"):
        assert word in text


@pytest.mark.slow
def test_commands_that_do_not_train_never_import_tensorflow(tmp_path: Path) -> None:
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['nnrun', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('nnrun', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
        "print('HEAVY', heavy[:3], file=sys.stderr)\n"
    )
    script = tmp_path / "probe.py"
    script.write_text(probe)
    import subprocess
    import sys

    for args in (["--help"], ["validate", str(CONFIGS / "xor.yaml")], ["schema"]):
        proc = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=120)
        assert "HEAVY []" in proc.stderr, (args, proc.stderr[-2000:])


def test_schema_command_prints_json() -> None:
    proc = run_cli("schema")
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    assert data["title"] == "nnrun config"
    assert "data" in data["required"]
