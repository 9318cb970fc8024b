"""Two `nnrun train` and one `nnrun sweep` (two workers) writing runs of the same name into the
same output root at once, with `nnrun compare` reading it meanwhile.

Nothing collides (every run has its own folder and id, made with an exclusive mkdir), nothing
is lost (every run started is there with whole files and a final status), and `compare`,
reading while they write, always succeeds and shows the runs as running.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from nnrun.runs.layout import Status
from nnrun.runs.reader import Unreadable, iter_runs
from tests.reliability.procs import (
    LONG_XOR,
    assert_every_file_parses,
    compare_json,
    finish,
    history_rows,
    read_json,
    run_dirs,
    spawn,
    wait_until,
)

#: Every test here trains or starts nnrun processes: only in the full suite.
pytestmark = pytest.mark.slow


def test_two_trains_and_a_sweep_share_one_runs_folder(tmp_path: Path) -> None:
    config = tmp_path / "long.yaml"
    config.write_text(LONG_XOR)
    out = tmp_path / "runs"
    common = ("--set", "training.trainer=fit", "--out", str(out), "-q")
    trains = [spawn("train", str(config), *common) for _ in range(2)]
    sweep = spawn("sweep", str(config), "--lr", "0.01,0.02", "--workers", "2", *common)
    procs = [*trains, sweep]

    def all_training() -> list[Path] | None:
        dirs = run_dirs(out)
        if len(dirs) == 4 and all(history_rows(d) >= 1 for d in dirs):
            return dirs
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(f"a process ended early: {p.args} -> {p.returncode}: {p.communicate()}")
        return None

    snapshots = []
    try:
        dirs = wait_until(all_training, what="two trains and two sweep points training at once")
        for _ in range(3):  # reading while four processes write
            snapshots.append(compare_json(out))
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
    results = [finish(p) for p in procs]

    for rows in snapshots:
        assert len(rows) == 4
        assert {r["status"] for r in rows} == {Status.RUNNING}
        assert {r["name"] for r in rows} == {"long-xor"}
    assert [code for code, _, _ in results[:2]] == [143, 143], [err for _, _, err in results]
    assert results[2][0] != 0  # the sweep was stopped
    assert all("Traceback" not in err for _, _, err in results)

    # nothing collided: four folders, four ids, two of them inside one sweep folder
    assert sorted(run_dirs(out)) == sorted(dirs)
    records = [assert_every_file_parses(d)["run.json"] for d in dirs]
    assert len({r["id"] for r in records}) == 4
    assert len({r["pid"] for r in records}) == 4
    in_sweep = [d for d in dirs if (d.parent / "sweep.json").is_file()]
    assert len(in_sweep) == 2 and in_sweep[0].parent == in_sweep[1].parent
    assert {d.parent for d in dirs if d not in in_sweep} == {out / "long-xor"}

    # nothing lost: every run closed as interrupted with its history, model and metrics
    for run_dir, record in zip(dirs, records, strict=True):
        assert record["status"] == Status.INTERRUPTED, run_dir
        assert record["epochs_run"] == history_rows(run_dir) >= 1
        assert (run_dir / "model.keras").is_file() and (run_dir / "metrics.json").is_file()
    sweep_record = read_json(in_sweep[0].parent / "sweep.json")
    assert sweep_record["status"] == Status.INTERRUPTED
    assert sorted(p["run_dir"] for p in sweep_record["points"]) == sorted(d.name for d in in_sweep)
    assert not [item for item in iter_runs([out]) if isinstance(item, Unreadable)]
    assert {r["status"] for r in compare_json(out)} == {Status.INTERRUPTED}
