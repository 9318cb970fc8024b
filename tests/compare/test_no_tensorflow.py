"""compare, show and report only read run folders: they never import TensorFlow or Keras.

Each command runs in a fresh interpreter (the point of the test) through the real entry
point, then prints which heavy modules ended up in sys.modules.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.compare.made_runs import MadeRuns
from tests.conftest import ROOT

PROBE = """
import json, sys
from nnrun.cli.app import main
sys.argv = ["nnrun", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "mlflow", "ray")})
print("HEAVY=" + json.dumps({"code": code, "heavy": heavy}))
"""


def probe(*args: object) -> tuple[int, list[str], str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps([str(a) for a in args])],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    line = next(x for x in proc.stdout.splitlines() if x.startswith("HEAVY="))
    result = json.loads(line.removeprefix("HEAVY="))
    return result["code"], result["heavy"], proc.stderr


@pytest.mark.parametrize(
    "command",
    [
        lambda m, t: ["compare", m.root, "--sort", "test.accuracy", "--filter", "name=moons", "--plot", t / "c.png"],
        lambda m, t: ["compare", m.root, "--format", "json", "--output", t / "c.json"],
        lambda m, t: ["show", m.completed["adam"]],
        lambda m, t: ["show", m.failed],
        lambda m, t: ["report", m.root, "-o", t / "r.html"],
        lambda m, t: ["compare", "--help"],
    ],
    ids=["compare-plot", "compare-json", "show", "show-failed", "report", "help"],
)
def test_reading_commands_never_import_tensorflow(made: MadeRuns, tmp_path: Path, command) -> None:
    code, heavy, stderr = probe(*command(made, tmp_path))
    assert code in (0, None), stderr
    assert heavy == [], f"imported {heavy}"
