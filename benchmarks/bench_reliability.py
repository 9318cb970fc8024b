"""How fast nnrun refuses hostile configs, and how fast it stops when asked.

1. Every hostile file of tests/reliability/hostile.py through `prepare_experiment`: CPU
   seconds (median of 3) and the peak of Python allocations; then all of them through one
   `nnrun validate` child process (wall time, including Python start-up). Target: each file
   within a second of CPU, a few MiB.
2. Ctrl-C and SIGTERM to `nnrun train` (both trainers) on an endless XOR: seconds from the
   signal until run.json says `interrupted`, and until the process has exited.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REPEATS = 3
TARGET_CPU_SECONDS = 1.0


def _hostile(tmp: Path) -> list[str]:
    from nnrun.errors import SpecError
    from nnrun.experiment import prepare_experiment
    from tests.reliability.hostile import HOSTILE

    rows = ["| file | CPU s (median) | peak MiB | message |", "|---|---:|---:|---|"]
    worst = 0.0
    for name, (content, _) in HOSTILE.items():
        path = tmp / name
        path.write_bytes(content.replace(b"{marker}", str(tmp / "EXECUTED").encode()))
        times, message = [], ""
        for i in range(REPEATS + 1):  # the last pass measures memory (tracemalloc slows Python down)
            if i == REPEATS:
                tracemalloc.start()
            t0 = time.process_time()
            try:
                prepare_experiment(path)
                message = "ACCEPTED (a bug)"
            except SpecError as exc:
                message = exc.problems[0].message
            if i < REPEATS:
                times.append(time.process_time() - t0)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        cpu = statistics.median(times)
        worst = max(worst, cpu)
        short = message if len(message) <= 70 else message[:67] + "..."
        rows.append(f"| {name} | {cpu:.3f} | {peak / 2**20:.1f} | {short.replace('|', '/')} |")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "nnrun", "validate", *HOSTILE],
        cwd=tmp,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    wall = time.perf_counter() - t0
    verdict = "met" if worst <= TARGET_CPU_SECONDS else "MISSED"
    return [
        f"{len(HOSTILE)} hostile files; the slowest took {worst:.2f} s of CPU (target {TARGET_CPU_SECONDS:.0f} s: "
        f"{verdict}). All of them through one `nnrun validate` process: {wall:.2f} s wall, exit code "
        f"{proc.returncode}, {proc.stderr.count('error:')} error messages, "
        f"{'a traceback (a bug)' if 'Traceback' in proc.stderr else 'no traceback'}.",
        "",
        *rows,
    ]


def _stop_latency(tmp: Path) -> list[str]:
    from tests.reliability.procs import LONG_XOR, first_run_with_history, read_json, spawn, wait_until

    config = tmp / "long.yaml"
    config.write_text(LONG_XOR)
    rows = [
        "| trainer | signal | epochs run | s to run.json interrupted | s to exit | exit code |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for trainer in ("fit", "graph"):
        for sig in (signal.SIGINT, signal.SIGTERM):
            out = tmp / f"runs-{trainer}-{sig}"
            proc = spawn("train", str(config), "--set", f"training.trainer={trainer}", "--out", str(out), "-q")
            run_dir = wait_until(first_run_with_history(out), proc, "a history row")
            time.sleep(1.0)
            t0 = time.perf_counter()
            proc.send_signal(sig)
            recorded = None
            while proc.poll() is None:
                if recorded is None:
                    try:
                        if read_json(run_dir / "run.json")["status"] == "interrupted":
                            recorded = time.perf_counter() - t0
                    except (OSError, ValueError):
                        pass
                time.sleep(0.01)
            exited = time.perf_counter() - t0
            proc.communicate()
            record = read_json(run_dir / "run.json")
            recorded = recorded if recorded is not None else exited
            rows.append(
                f"| {trainer} | {signal.Signals(sig).name} | {record.get('epochs_run')} | {recorded:.2f} | "
                f"{exited:.2f} | {proc.returncode} |"
            )
    return rows


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        hostile = _hostile(tmp)
        latency = _stop_latency(tmp)
    return "\n".join(
        [
            "## Reliability: hostile configs and stopping",
            "",
            "### Hostile configs (`tests/reliability/hostile.py`)",
            "",
            *hostile,
            "",
            "### Stopping a training run",
            "",
            "From the signal to run.json saying `interrupted` (history, model, metrics written), and to the "
            "process exiting (the rest is Python and TensorFlow shutting down).",
            "",
            *latency,
        ]
    )


if __name__ == "__main__":
    print(run())
