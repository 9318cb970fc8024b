"""Sweeps: `nnrun sweep` against one `nnrun train` process per point, and memory over a long sweep.

1. An 8-point learning-rate sweep of configs/xor.yaml (its 500 epochs, learning rates
   log-spaced from 1e-3 to 1): `nnrun sweep --lr 1e-3:1:8` with the default workers (one per
   core) against 8 `nnrun train --set optimizer.learning_rate=...` processes run one after
   another. Both write complete run folders. Target (issue 5): the sweep at least 3x faster,
   because each worker imports TensorFlow once and both cores train.
2. 50 points in one worker (`--workers 1`): the worker's peak resident memory after 5 and
   after 50 points, as the worker itself reports it (getrusage) in sweep.json. Flat means the
   points share one traced training loop and the worker collects each point's garbage
   (issues 8 and 16, `nnrun.train.warm`).

CPU seconds are those of the processes and all their descendants (getrusage, under
benchmarks/reap.py, which waits for the sweep's fork server and its workers too), so
"cores busy" = CPU seconds / wall seconds.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
XOR = ROOT / "configs" / "xor.yaml"
ENV = {**os.environ, "PYTHONHASHSEED": "0"}
POINTS = 8
LONG_POINTS = 50


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(args: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    cpu0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "reap.py"), sys.executable, "-m", "nnrun", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=ENV,
    )
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if proc.returncode != 0:
        raise RuntimeError(f"nnrun {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return wall, cpu, proc


def _sweep_record(root: Path) -> dict:
    (path,) = root.glob("xor/sweep-*/sweep.json")
    return json.loads(path.read_text())


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def lr_sweep_vs_sequential(work: Path) -> tuple[list[str], float]:
    load_before = _load()
    sweep_wall, sweep_cpu, _ = _timed(["sweep", str(XOR), "--lr", f"1e-3:1:{POINTS}", "--out", str(work / "s"), "-q"])
    record = _sweep_record(work / "s")
    lrs = [p["values"]["optimizer.learning_rate"] for p in record["points"]]
    assert all(p["status"] in ("completed", "diverged") for p in record["points"]), record["points"]
    seq_wall = seq_cpu = 0.0
    for lr in lrs:
        wall, cpu, _ = _timed(
            ["train", str(XOR), "--set", f"optimizer.learning_rate={lr}", "--out", str(work / "t"), "-q"]
        )
        seq_wall += wall
        seq_cpu += cpu
    runs = list((work / "t" / "xor").iterdir())
    assert len(runs) == POINTS
    ratio = seq_wall / sweep_wall
    lines = [
        f"### {POINTS}-point learning-rate sweep of configs/xor.yaml (500 epochs each)",
        "",
        f"Learning rates {', '.join(f'{lr:g}' for lr in lrs)}; {record['workers']} workers x "
        f"{record['threads_per_worker']} TensorFlow thread(s) on {os.cpu_count()} cores; load average "
        f"{load_before} before and {_load()} after (other processes on the machine slow both sides, the "
        "sweep more, since it counts on every core being free).",
        "",
        "| how | wall s | CPU s | cores busy |",
        "|---|---|---|---|",
        f"| `nnrun sweep --lr 1e-3:1:{POINTS}` | {sweep_wall:.1f} | {sweep_cpu:.1f} | {sweep_cpu / sweep_wall:.2f} |",
        f"| {POINTS} x `nnrun train` one after another | {seq_wall:.1f} | {seq_cpu:.1f} | {seq_cpu / seq_wall:.2f} |",
        "",
        f"**The sweep is {ratio:.1f}x faster** (target >= 3x): "
        f"{'met' if ratio >= 3 else 'NOT met'}. Best point: {record['best']['label'] if record['best'] else 'none'}.",
        "",
    ]
    return lines, ratio


def memory_over_a_long_sweep(work: Path) -> list[str]:
    wall, _, _ = _timed(
        ["sweep", str(XOR), "--lr", f"1e-4:1:{LONG_POINTS}", "--workers", "1", "--out", str(work / "m"), "-q"]
    )
    record = _sweep_record(work / "m")
    points = record["points"]
    pids = {p["worker_pid"] for p in points}
    assert len(pids) == 1, pids  # one worker did all of them
    assert all(p["peak_rss_mib"] for p in points)
    rss = [p["peak_rss_mib"] for p in points]
    after5, after50 = rss[4], rss[LONG_POINTS - 1]
    growth = after50 - after5
    per_point = growth / (LONG_POINTS - 5)
    return [
        f"### {LONG_POINTS} points in one worker (configs/xor.yaml, 500 epochs each)",
        "",
        "| worker peak RSS after | MiB |",
        "|---|---|",
        f"| 1 point | {rss[0]:.0f} |",
        f"| 5 points | {after5:.0f} |",
        f"| 25 points | {rss[24]:.0f} |",
        f"| {LONG_POINTS} points | {after50:.0f} |",
        "",
        f"Growth from point 5 to point {LONG_POINTS}: {growth:+.0f} MiB ({per_point:+.2f} MiB per point); "
        f"{LONG_POINTS} points took {wall:.1f} s wall in one worker.",
        "",
    ]


def run() -> str:
    lines = ["## Sweeps (`nnrun sweep`)", ""]
    with tempfile.TemporaryDirectory(prefix="nnrun-bench-sweep-") as tmp:
        work = Path(tmp)
        section, _ = lr_sweep_vs_sequential(work)
        lines += section
        lines += memory_over_a_long_sweep(work)
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
