"""`nnrun plot activations`: a real PNG, made without importing TensorFlow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from nnrun.cli.plot import activation_curves
from nnrun.spec.activations import ACTIVATIONS
from tests.conftest import ROOT, run_cli

PROBE = """\
import runpy, sys
sys.argv = ['nnrun', *sys.argv[1:]]
code = 0
try:
    runpy.run_module('nnrun', run_name='__main__')
except SystemExit as exc:
    code = exc.code or 0
heavy = sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras'})
print('HEAVY', heavy, file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.slow
def test_plot_activations_writes_a_png_without_tensorflow(tmp_path: Path) -> None:
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    out = tmp_path / "act.png"
    proc = subprocess.run(
        [sys.executable, str(script), "plot", "activations", "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stderr
    assert f"wrote {out}" in proc.stdout
    image = matplotlib.image.imread(out)
    height, width = image.shape[:2]
    assert 600 <= height <= 1200 and 1200 <= width <= 2400
    assert image[..., :3].std() > 0.05  # something is drawn, not a blank canvas
    assert {p.name for p in tmp_path.iterdir()} == {"probe.py", "act.png"}  # no temporary file left


def test_every_activation_is_drawn_with_a_correct_derivative() -> None:
    curves = activation_curves(alpha=0.1)
    assert list(curves) == list(ACTIVATIONS)
    x = np.linspace(-4, 4, 2001)
    h = x[1] - x[0]
    for name, (f, df, _) in curves.items():
        numeric = np.gradient(f(x), h)
        away = np.abs(x) > 0.05  # kinks and the step's jump sit at 0
        np.testing.assert_allclose(df(x)[away], numeric[away], atol=1e-3, err_msg=name)


def test_unknown_format_and_missing_folder_exit_2(tmp_path: Path) -> None:
    proc = run_cli("plot", "activations", "-o", str(tmp_path / "act.txt"))
    assert proc.returncode == 2 and "expected a .png, .pdf or .svg file" in proc.stderr
    proc = run_cli("plot", "activations", "-o", str(tmp_path / "nowhere" / "act.png"))
    assert proc.returncode == 2 and "the folder" in proc.stderr and "does not exist" in proc.stderr
    assert not list(tmp_path.iterdir())
