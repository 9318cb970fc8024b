"""The cost of `training.inspect`: training seconds of the example MLPs with it on and off.

Each config runs as a user runs it (`python -m nnrun train CONFIG --quiet`, its own process,
graph trainer), with `training.inspect=true` and `=false` interleaved, best of `REPEATS`
each (the least disturbed run, as timeit does). Seconds are run.json's `train_seconds`:
the training loop only, which is where the recorder works (the pictures are drawn after
it, and their seconds are given apart). Target (issue 12): at most 15 % more training time.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
REPEATS = 3
TARGET = 0.15
ENV = {**os.environ, "PYTHONHASHSEED": "0"}

#: (config, overrides): the example MLPs, at their own lengths.
CASES: list[tuple[str, list[str]]] = [
    ("xor.yaml", []),
    ("xor_sgd.yaml", []),
    ("breast_cancer.yaml", ["training.early_stopping=null"]),
    ("mlp.yaml", []),
]


def train(config: str, overrides: list[str]) -> tuple[float, float, dict[str, Any]]:
    """(train seconds, whole-process CPU seconds, run.json) of one `nnrun train`."""
    with tempfile.TemporaryDirectory() as tmp:
        sets = [a for o in overrides for a in ("--set", o)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(
            [sys.executable, "-m", "nnrun", "train", str(CONFIGS / config), "--quiet", "--out", tmp, *sets],
            cwd=ROOT,
            env=ENV,
            capture_output=True,
            check=True,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        (record,) = [json.loads(p.read_text()) for p in Path(tmp).glob("*/*/run.json")]
    assert record["status"] == "completed" and record["trainer"] == "graph", record
    return float(record["train_seconds"]), cpu, record


def run() -> str:
    lines = [
        "## The cost of looking inside: `training.inspect` on vs off (bench_inspect)",
        "",
        f"Training seconds from run.json, best of {REPEATS} interleaved runs each, graph trainer. "
        "`on` records internals.csv (every epoch, or about 30 epochs of a long full-batch run): these dense "
        "nets keep their gradient norms (every update) and each epoch's weights in the graph loop, and the "
        "weight norms, update ratios, snapshots and the probe batch's activations are replayed in NumPy "
        "after training (`nnrun/inspect/replay.py`; other nets trace them into the loop); the pictures "
        "are drawn after training and show in the whole-process column (CPU seconds of the whole `nnrun train`: "
        "importing TensorFlow, training, evaluating, every picture).",
        "",
        "| config | epochs x updates/epoch | off | on | training overhead | whole process CPU off / on | target <= 15 % |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    worst = 0.0
    for config, overrides in CASES:
        off: list[tuple[float, float]] = []
        on: list[tuple[float, float]] = []
        record: dict[str, Any] = {}
        for _ in range(REPEATS):
            t, w, record = train(config, [*overrides, "training.inspect=false"])
            off.append((t, w))
            t, w, _ = train(config, [*overrides, "training.inspect=true"])
            on.append((t, w))
        t_off, t_on = min(t for t, _ in off), min(t for t, _ in on)
        w_off, w_on = min(w for _, w in off), min(w for _, w in on)
        overhead = t_on / t_off - 1
        worst = max(worst, overhead)
        lines.append(
            f"| {config} | {record['epochs_run']} x {record['batches_per_epoch']} | {t_off:.2f} s | {t_on:.2f} s | "
            f"{overhead:+.0%} | {w_off:.1f} s / {w_on:.1f} s | {'met' if overhead <= TARGET else '**not met**'} |"
        )
    lines += ["", f"Largest training overhead: {worst:+.0%} (load average {os.getloadavg()[0]:.1f} at the end)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
