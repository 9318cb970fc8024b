"""`sweep --resume` removes only point folders the sweep made (issue 17.1): a sweep.json edited
to name another folder (absolute, `..`, a sibling, a link, a look-alike) is refused with exit 2,
and nothing is removed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import CONFIGS, run_cli


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sweep") / "runs"
    proc = run_cli(
        "sweep", str(CONFIGS / "xor.yaml"), "--lr", "0.01,0.1", "--workers", "1",
        "--set", "training.epochs=3", "--out", str(root), "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (sweep,) = root.glob("xor/sweep-*")
    return sweep


def _victim(parent: Path) -> Path:
    victim = parent / "victim"
    victim.mkdir(parents=True)
    (victim / "thesis.txt").write_text("years of work")
    (victim / "run.json").write_text('{"status": "failed"}')
    return victim


CASES = {
    "absolute": lambda sweep, victim: str(victim),
    "dotdot": lambda sweep, victim: "..",
    "relative-escape": lambda sweep, victim: f"../../{victim.parent.name}/victim",
    "sibling-in-sweep": lambda sweep, victim: shutil.move(str(victim), sweep / "mine") and "mine",
    "look-alike": lambda sweep, victim: (
        shutil.move(str(victim), sweep / "p000-20240101-000000-abcdef") and "p000-20240101-000000-abcdef"
    ),
    "symlink": lambda sweep, victim: (
        (sweep / "p000-20240101-000000-abcdef").symlink_to(victim) or "p000-20240101-000000-abcdef"
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_resume_refuses_folders_it_did_not_make(finished_sweep: Path, tmp_path: Path, case: str) -> None:
    sweep = tmp_path / "runs" / "xor" / finished_sweep.name
    shutil.copytree(finished_sweep, sweep)
    victim = _victim(tmp_path / "elsewhere")
    record = json.loads((sweep / "sweep.json").read_text())
    name = CASES[case](sweep, victim)
    record["points"][0].update(status="failed", run_dir=name)
    (sweep / "sweep.json").write_text(json.dumps(record))
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    proc = run_cli("sweep", "--resume", str(sweep), "--workers", "1", "--quiet")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "nothing was removed" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before
    assert json.loads((sweep / "sweep.json").read_text()) == record


@pytest.mark.slow
def test_resume_still_reruns_its_own_failed_point(finished_sweep: Path, tmp_path: Path) -> None:
    sweep = tmp_path / "runs" / "xor" / finished_sweep.name
    shutil.copytree(finished_sweep, sweep)
    record = json.loads((sweep / "sweep.json").read_text())
    old = record["points"][1]["run_dir"]
    run = json.loads((sweep / old / "run.json").read_text())
    (sweep / old / "run.json").write_text(json.dumps({**run, "status": "failed"}))
    record["points"][1]["status"] = "failed"
    (sweep / "sweep.json").write_text(json.dumps(record))
    proc = run_cli("sweep", "--resume", str(sweep), "--workers", "1", "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = json.loads((sweep / "sweep.json").read_text())
    assert not (sweep / old).exists() and after["points"][1]["run_dir"] != old
    assert after["points"][1]["attempts"][-1]["run_dir"] == old
    assert [p["status"] for p in after["points"]] == ["completed", "completed"]


def test_resume_refuses_a_record_whose_points_were_renumbered(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep-20240101-000000-abcdef"
    sweep.mkdir()
    points = [{"index": 1, "status": "failed", "run_dir": None}, {"index": 0, "status": "failed", "run_dir": None}]
    (sweep / "sweep.json").write_text(json.dumps({"grid": {}, "points": points, "status": "interrupted"}))
    proc = run_cli("sweep", "--resume", str(sweep), "--quiet")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "point 0 has no valid index or status" in proc.stderr and "Traceback" not in proc.stderr
