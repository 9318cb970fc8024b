"""One status everywhere (issue 17.19, the sweep's part): the summary of an interrupted sweep
shows the figures of points that were interrupted after thousands of epochs (not "—"), and
each point's status is the one compare gives its run."""

from __future__ import annotations

import csv
import io
import json
import signal
import time
from pathlib import Path

import pytest

from nnrun.compare import collect
from tests.conftest import CONFIGS, start_cli


@pytest.mark.slow
def test_interrupted_points_with_history_have_figures_in_the_summary(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    proc = start_cli(
        "sweep", str(CONFIGS / "xor.yaml"), "--lr", "0.01,0.1", "--workers", "1",
        "--set", "training.epochs=1000000", "--set", "training.trainer=graph", "--out", str(root), "--quiet",
    )  # fmt: skip
    end = time.monotonic() + 600
    while time.monotonic() < end:
        assert proc.poll() is None, proc.communicate()
        histories = list(root.glob("xor/sweep-*/p*/history.csv"))
        if histories and len(histories[0].read_text().splitlines()) > 1000:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=300)
    (sweep,) = root.glob("xor/sweep-*")
    rows = list(csv.DictReader(io.StringIO((sweep / "summary.csv").read_text())))
    assert rows[0]["status"] == "interrupted"
    assert float(rows[0]["epochs"]) > 1000 and rows[0]["best_val_loss"] not in ("", "—")
    assert rows[0]["fit"] not in ("", "—")
    assert rows[0]["runs_completed"] == "0"
    runs, _ = collect([sweep])
    record = json.loads((sweep / "sweep.json").read_text())
    by_dir = {r.dir.name: str(r.status) for r in runs}
    for point in record["points"]:
        if point["run_dir"]:
            assert by_dir[point["run_dir"]] == point["status"]


def test_only_a_key_of_three_or_more_numbers_gets_the_value_picture() -> None:
    from nnrun.sweep.summary import Group, _swept_number

    schedules = [None, {"type": "exponential", "decay_rate": 0.5}, {"type": "step", "boundaries": [5]}]
    groups = [
        Group(i, {"optimizer.schedule": s, "model.layers.0.units": u, "seed_like": 1}, str(i))
        for i, (s, u) in enumerate(zip(schedules, (2, 4, 8), strict=True))
    ]
    # a schedule (mappings, unhashable) is skipped, not a crash; units 2, 4, 8 are the number
    assert _swept_number(groups, ["optimizer.schedule", "model.layers.0.units"]) == "model.layers.0.units"
    assert _swept_number(groups, ["optimizer.schedule", "seed_like"]) is None
