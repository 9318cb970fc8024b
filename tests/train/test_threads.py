"""A network of dense layers runs each TensorFlow op on one thread; others keep TensorFlow's
default pool (`nnrun.train.threads`), set before the runtime starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nnrun.spec.parse import load_spec
from nnrun.train.threads import intra_op_threads

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"


@pytest.mark.parametrize(("config", "threads"), [("mlp_mnist.yaml", 1), ("xor.yaml", 1), ("cnn_mnist.yaml", None)])
def test_dense_networks_get_one_thread_an_op(config: str, threads: int | None) -> None:
    spec, _ = load_spec(CONFIGS / config)
    assert intra_op_threads(spec) == threads


def test_a_wide_dense_network_keeps_the_default_pool(tmp_path: Path) -> None:
    wide = (CONFIGS / "mlp_mnist.yaml").read_text().replace("units: 128", "units: 2048")
    (tmp_path / "wide.yaml").write_text(wide)
    spec, _ = load_spec(tmp_path / "wide.yaml")
    assert spec.model.layers[1].units == 2048
    assert intra_op_threads(spec) is None


@pytest.mark.slow
def test_a_fresh_process_starts_tensorflow_with_the_specs_threads() -> None:
    code = (
        "import sys\n"
        "from nnrun.experiment import prepare_experiment\n"
        "from nnrun.tf_import import import_tensorflow\n"
        "prepare_experiment(sys.argv[1])\n"
        "print(import_tensorflow().config.threading.get_intra_op_parallelism_threads())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for config, expected in (("breast_cancer.yaml", "1"), ("cnn_digits.yaml", "0")):  # 0: the default
        proc = subprocess.run(
            [sys.executable, "-c", code, str(CONFIGS / config)], capture_output=True, text=True, env=env, check=True
        )
        assert proc.stdout.split()[-1] == expected, (config, proc.stdout, proc.stderr[-2000:])
