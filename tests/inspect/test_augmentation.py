"""`nnrun plot augmentation CONFIG`: a real grid of images, or one line and exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from nnrun.experiment import prepare_experiment
from nnrun.inspect import augmentation
from tests.cli.test_plot import PROBE
from tests.conftest import CONFIGS, ROOT, run_cli

NOISY_TABLE = """
name: noisy-table
data: {dataset: breast_cancer}
model:
  layers:
    - {type: gaussian_noise, stddev: 0.1}
    - {type: dense, units: 1, activation: sigmoid}
loss: binary_crossentropy
"""


@pytest.mark.slow
def test_cnn_digits_grid_shows_originals_and_augmented_draws(tmp_path: Path) -> None:
    out = tmp_path / "aug.png"
    proc = run_cli("plot", "augmentation", str(CONFIGS / "cnn_digits.yaml"), "-o", str(out), "--samples", "5")
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout and proc.stderr == ""
    image = matplotlib.image.imread(out)
    assert image.shape[0] > 300 and image.shape[1] > 500
    assert np.std(image[..., :3]) > 0.1  # not blank


@pytest.mark.slow
def test_the_draws_differ_from_the_originals() -> None:
    prepared = prepare_experiment(CONFIGS / "cnn_digits.yaml")
    assert augmentation.problem(prepared.spec, prepared.data) is None
    fig = augmentation.figure(prepared.spec, prepared.data, samples=3)
    grid = [np.asarray(ax.images[0].get_array()) for ax in fig.axes]  # row by row
    assert len(grid) == 3 * (1 + augmentation.DRAWS)
    originals, draws = grid[:3], grid[3:]
    assert all(a.shape == b.shape == (8, 8) for a, b in zip(originals * augmentation.DRAWS, draws, strict=True))
    assert all(not np.allclose(a, b) for a, b in zip(originals * augmentation.DRAWS, draws, strict=True))


@pytest.mark.parametrize(
    ("config", "expected"),
    [(str(CONFIGS / "xor.yaml"), "has no augmentation layer"), ("noisy.yaml", "not images")],
)
def test_nothing_to_show_is_one_line_and_exit_2_without_tensorflow(config: str, expected: str, tmp_path: Path) -> None:
    (tmp_path / "noisy.yaml").write_text(NOISY_TABLE)
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    out = tmp_path / "aug.png"
    proc = subprocess.run(
        [sys.executable, str(script), "plot", "augmentation", config, "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path if config == "noisy.yaml" else ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2, proc.stderr
    message = proc.stderr.replace("HEAVY []", "").strip()
    assert expected in message and "Traceback" not in message
    assert len(message.splitlines()) <= 3, message  # one line, wrapped at most by the console width
    assert "HEAVY []" in proc.stderr
    assert not out.exists()
