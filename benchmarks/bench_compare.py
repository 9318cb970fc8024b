"""`nnrun compare` over 2 000 synthetic run folders, against reading them into pandas.

The folders are written like the runner writes them (run.json, config.yaml, history.csv,
metrics.json, summary.txt, predictions.csv, preprocessing.json, PNGs), with the mix a
busy `runs/` has: a few sweeps, some failed and interrupted runs, one corrupted folder.
No training: the point is the reading side. Target: compare under 2 s on this machine.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

N_RUNS = 2000
EPOCHS = 50
REPEATS = 3
TARGET_SECONDS = 2.0
ROOT = Path(__file__).resolve().parents[1]


def _png() -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot(range(EPOCHS), np.exp(-np.arange(EPOCHS) / 10))
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _config(i: int, rng: np.random.Generator) -> dict[str, Any]:
    opt = ["adam", "sgd", "rmsprop"][i % 3]
    optimizer: dict[str, Any] = {"name": opt, "learning_rate": float([1e-4, 1e-3, 1e-2, 1e-1][(i // 3) % 4])}
    if opt == "adam":
        optimizer.update(beta_1=0.9, beta_2=0.999, epsilon=1e-7)
    elif opt == "sgd":
        optimizer.update(momentum=float([0.0, 0.9][i % 2]), nesterov=False)
    else:
        optimizer.update(rho=0.9, momentum=0.0, epsilon=1e-7)
    units = [8, 16, 32, 64][(i // 12) % 4]
    return {
        "name": f"exp{i % 20:02d}",
        "seed": 42 + i % 5,
        "data": {
            "dataset": "breast_cancer",
            "task": "auto",
            "test_size": 0.2,
            "validation": "test",
            "standardize": True,
            "sequence_length": 20,
        },
        "model": {
            "layers": [
                {"type": "dense", "units": units, "activation": "relu", "use_bias": True},
                {"type": "dropout", "rate": float(rng.choice([0.0, 0.2, 0.5]))},
                {"type": "dense", "units": 1, "activation": "sigmoid", "use_bias": True},
            ]
        },
        "optimizer": optimizer,
        "loss": "binary_crossentropy",
        "metrics": ["accuracy"],
        "training": {"epochs": EPOCHS, "batch_size": 32, "shuffle": True, "trainer": "auto", "tensorboard": False},
        "evaluation": {"threshold": 0.5},
    }


def _history(rng: np.random.Generator, epochs: int) -> list[dict[str, float]]:
    t = np.arange(1, epochs + 1)
    tau = rng.uniform(3, 30)
    loss = 0.05 + 0.65 * np.exp(-t / tau) + rng.normal(0, 0.005, epochs)
    val = 0.08 + 0.62 * np.exp(-t / tau) + rng.uniform(0, 0.004) * np.maximum(t - rng.integers(10, 60), 0)
    val = val + rng.normal(0, 0.01, epochs)
    acc = 1 - loss / 1.4
    return [
        {
            "epoch": int(e),
            "accuracy": float(acc[e - 1]),
            "loss": float(loss[e - 1]),
            "val_accuracy": float(1 - val[e - 1] / 1.4),
            "val_loss": float(val[e - 1]),
            "learning_rate": 0.001,
        }
        for e in t
    ]


def _csv(rows: list[dict[str, Any]]) -> str:
    cols = list(rows[0])
    return ",".join(cols) + "\n" + "".join(",".join(repr(r[c]) for c in cols) + "\n" for r in rows)


def make_runs(root: Path, n: int = N_RUNS, seed: int = 0) -> dict[str, int]:
    """Write `n` realistic run folders under `root`; returns counts by kind."""
    from nnrun.diagnose import diagnose

    rng = np.random.default_rng(seed)
    png = _png()
    summary = "Model: sequential\n" + "dense (Dense) (None, 16) 496\n" * 5
    predictions = "index,true,p_1,pred\n" + "".join(f"{k},{k % 2},0.{k:03d},{k % 2}\n" for k in range(114))
    counts = {"completed": 0, "failed": 0, "interrupted": 0, "corrupted": 0}
    sweeps: dict[str, Path] = {}
    for i in range(n):
        config = _config(i, rng)
        name = config["name"]
        parent = root / name
        if i % 20 < 4:  # every fifth experiment name keeps its runs in a sweep folder
            sweep = sweeps.get(name)
            if sweep is None:
                sweep = sweeps[name] = parent / "sweep-20250101-120000-abcdef"
                sweep.mkdir(parents=True)
                (sweep / "sweep.json").write_text(json.dumps({"grid": {"optimizer.learning_rate": [1e-3, 1e-2]}}))
            parent = sweep
        minute, second = divmod(i, 60)
        run_id = f"20250102-{10 + minute // 60:02d}{minute % 60:02d}{second:02d}-{i:06x}"
        run = parent / run_id
        run.mkdir(parents=True)
        kind = "failed" if i % 50 == 7 else "interrupted" if i % 100 == 13 else "completed"
        epochs = EPOCHS if kind == "completed" else int(rng.integers(1, EPOCHS))
        history = _history(rng, epochs)
        record: dict[str, Any] = {
            "id": run_id,
            "name": name,
            "status": kind,
            "started": f"2025-01-02T{10 + minute // 60:02d}:{minute % 60:02d}:{second:02d}+00:00",
            "ended": f"2025-01-02T{10 + minute // 60:02d}:{minute % 60:02d}:{second:02d}+00:00",
            "duration_seconds": round(float(rng.uniform(2, 9)), 3),
            "train_seconds": round(float(rng.uniform(1, 5)), 3),
            "seed": config["seed"],
            "command": ["nnrun", "train", "configs/breast_cancer.yaml"],
            "cwd": "/work",
            "pid": 1000 + i,
            "host": "bench-host",
            "versions": {"nnrun": "0.1.0", "python": "3.11.7", "tensorflow": "2.21.0", "keras": "3.15.1"},
            "config_source": "configs/breast_cancer.yaml",
            "trainer": "graph",
            "graph_trainer_skipped": None,
            "epochs_run": epochs,
            "stop_reason": kind,
            "stopped_epoch": None,
            "best_epoch": None,
            "batches_per_epoch": 15,
            "total_updates": 15 * epochs,
        }
        (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False, default_flow_style=None, width=100))
        (run / "preprocessing.json").write_text(json.dumps({"scaler": {"mean": [0.1] * 30, "scale": [1.0] * 30}}))
        (run / "summary.txt").write_text(summary)
        (run / "history.csv").write_text(_csv(history))
        if kind == "failed":
            record["error"] = {"type": "RuntimeError", "message": "out of memory"}
        else:
            record["diagnosis"] = diagnose(history, kind).as_dict()
            low = min(history, key=lambda r: r["val_loss"])
            test = {
                "loss": history[-1]["val_loss"],
                "accuracy": history[-1]["val_accuracy"],
                "precision": 0.95,
                "recall": 0.96,
                "f1": 0.955,
                "roc_auc": 0.99,
                "confusion_matrix": [[40, 3], [2, 69]],
                "class_names": ["malignant", "benign"],
                "threshold": 0.5,
            }
            metrics = {
                "test": test,
                "final": {k: v for k, v in history[-1].items() if k != "epoch"},
                "best_val_loss": {"epoch": low["epoch"], "val_loss": low["val_loss"]},
            }
            (run / "metrics.json").write_text(json.dumps(metrics, indent=2))
            (run / "predictions.csv").write_text(predictions)
            for png_name in ("loss.png", "accuracy.png", "confusion_matrix.png"):
                (run / png_name).write_bytes(png)
        (run / "run.json").write_text(json.dumps(record, indent=2))
        counts[kind] += 1
    broken = root / "exp00" / "20250103-000000-dead00"
    broken.mkdir(parents=True)
    (broken / "run.json").write_text('{"id": "20250103-000000-dead00", "name": "exp00", "sta')
    counts["corrupted"] += 1
    return counts


def read_with_pandas(root: Path) -> tuple[Any, float]:
    """The obvious way: every history.csv through pandas, the JSON files through json, the
    config through yaml.safe_load. Returns the table and the seconds spent in pd.read_csv."""
    import pandas as pd

    rows = []
    csv_seconds = 0.0
    for run_json in sorted(root.rglob("run.json")):
        run = run_json.parent
        try:
            record = json.loads(run_json.read_text())
        except json.JSONDecodeError:
            continue
        config = yaml.safe_load((run / "config.yaml").read_text())
        metrics_path = run / "metrics.json"
        metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
        t0 = time.perf_counter()
        history = pd.read_csv(run / "history.csv")
        csv_seconds += time.perf_counter() - t0
        flat = pd.json_normalize(config, sep=".").iloc[0].to_dict()
        rows.append(
            {
                "run": record["id"],
                "name": record["name"],
                "status": record["status"],
                **flat,
                "epochs": len(history),
                "val_loss": history["val_loss"].iloc[-1],
                "best_val_loss": history["val_loss"].min(),
                **{f"test.{k}": v for k, v in metrics.get("test", {}).items() if not isinstance(v, list)},
                "train_seconds": record.get("train_seconds"),
                "duration": record.get("duration_seconds"),
            }
        )
    return pd.DataFrame(rows), csv_seconds


def _time_compare(root: Path, *args: str) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall and CPU (user + system) seconds of one `nnrun compare` process."""
    import resource

    env = {**os.environ, "COLUMNS": "200"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "nnrun", "compare", str(root), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="nnrun-bench-compare-") as tmp:
        root = Path(tmp) / "runs"
        t0 = time.perf_counter()
        counts = make_runs(root)
        made = time.perf_counter() - t0
        timings: dict[str, list[float]] = {"table": [], "csv": []}
        cpu: dict[str, list[float]] = {"table": [], "csv": []}
        load = os.getloadavg()[0]
        for _ in range(REPEATS):
            for fmt in timings:
                seconds, cpu_seconds, proc = _time_compare(root, "--format", fmt)
                if proc.returncode != 0:
                    raise RuntimeError(f"nnrun compare failed: {proc.stderr[-2000:]}")
                timings[fmt].append(seconds)
                cpu[fmt].append(cpu_seconds)
        rows = proc.stdout.count("\n") - 1
        t0 = time.perf_counter()
        frame, csv_seconds = read_with_pandas(root)
        pandas_seconds = time.perf_counter() - t0
        import_t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import nnrun.cli.app"], check=True, cwd=ROOT)
        startup = time.perf_counter() - import_t0
    table = statistics.median(timings["table"])
    verdict = "met" if table < TARGET_SECONDS else "MISSED"
    lines = [
        "## nnrun compare over 2 000 run folders",
        "",
        f"{N_RUNS} synthetic run folders ({counts['completed']} completed, {counts['failed']} failed, "
        f"{counts['interrupted']} interrupted, {counts['corrupted']} corrupted; {EPOCHS} epochs each; "
        f"some inside sweep folders), written in {made:.1f} s. Median of {REPEATS} runs, wall time of the "
        "whole `python -m nnrun compare runs/` process (Python start-up included).",
        "",
        "| what | wall s | CPU s |",
        "|---|---|---|",
        f"| `nnrun compare runs/` (the table, {rows} rows) | {table:.2f} | {statistics.median(cpu['table']):.2f} |",
        f"| `nnrun compare runs/ --format csv` | {statistics.median(timings['csv']):.2f} "
        f"| {statistics.median(cpu['csv']):.2f} |",
        f"| Python start-up + `import nnrun.cli.app` alone | {startup:.2f} | |",
        f"| pandas, the obvious way (read_csv of every history.csv + json/yaml loads; in-process) "
        f"| {pandas_seconds:.2f} | |",
        f"| of which `pd.read_csv` of the 2 000 history.csv files | {csv_seconds:.2f} | |",
        "",
        f"Target under {TARGET_SECONDS:.0f} s wall: **{verdict}** (1-minute load average {load:.1f} on "
        f"{os.cpu_count()} cores when the timing started; CPU seconds show the work itself when other jobs "
        f"share the machine). The pandas table has {len(frame)} rows and "
        f"{len(frame.columns)} columns; compare reads no CSV for these runs (metrics.json carries the final and "
        "lowest val_loss; run.json the diagnosis).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
