"""Warm reuse in a notebook: a fresh Jupyter kernel (nbclient + ipykernel) trains XOR twice
with `nnrun.train`. The first call pays for importing TensorFlow; the second should pay only
for its own work: its wall time within 1 s of its own `train_seconds` (issue 14).

Both runs are then checked against the CLI: `nnrun train configs/xor.yaml` in its own process
must leave the same history.csv and metrics.json, bit for bit (`nnrun.runs.match`, what
`nnrun rerun` reports), and `nnrun rerun` of the second run must say `identical`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
XOR = ROOT / "configs" / "xor.yaml"
TARGET_SECONDS = 1.0
#: More runs in the same kernel after the two timed ones, to see how memory grows per run.
LEAK_RUNS = 10

CELLS = [
    "import json, time\nimport nnrun",
    # Instrumentation only: how much of each call goes to drawing the run's pictures (the PNGs
    # `nnrun train` draws too, in a background thread), so the rest of the overhead can be read apart.
    "import nnrun.experiment.pictures as _p\n"
    "pictures = []\n"
    "def _timed(f):\n"
    "    def g(*a, **k):\n"
    "        t = time.perf_counter()\n"
    "        try:\n"
    "            return f(*a, **k)\n"
    "        finally:\n"
    "            pictures[-1] += time.perf_counter() - t\n"
    "    return g\n"
    "_add = _p.Pictures.add\n"
    "_p.Pictures.add = lambda self, figures: _add(self, [_timed(f) for f in figures])",
    "pictures.append(0.0)\nt0 = time.perf_counter()\nfirst = nnrun.train({xor!r}, out={out!r})\nfirst_wall = time.perf_counter() - t0",
    "pictures.append(0.0)\nt0 = time.perf_counter()\nsecond = nnrun.train({xor!r}, out={out!r})\nsecond_wall = time.perf_counter() - t0",
    # memory: resident size after each of LEAK_RUNS more (short) runs in the same kernel
    "from nnrun.sweep.worker import rss_mib\n"
    "rss = [rss_mib()]\n"
    "for _ in range({leak_runs}):\n"
    "    pictures.append(0.0)\n"
    "    nnrun.train({xor!r}, overrides={{'training.epochs': 20}}, out={out!r})\n"
    "    rss.append(rss_mib())",
    "print(json.dumps({{'runs': [[str(r.dir), r.train_seconds] for r in (first, second)], "
    "'walls': [first_wall, second_wall], 'pictures': pictures[:2], 'rss': rss}}))",
]


def _kernel_calls(out: Path) -> dict:
    import nbclient
    import nbformat

    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(c.format(xor=str(XOR), out=str(out), leak_runs=LEAK_RUNS)) for c in CELLS]
    env_path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    os.environ["PYTHONPATH"] = env_path  # the kernel imports this checkout's nnrun
    client = nbclient.NotebookClient(
        book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(out.parent)}}
    )
    client.execute()
    text = "".join(o.get("text", "") for o in book.cells[-1].outputs if o.get("output_type") == "stream")
    return json.loads(text)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "nnrun", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )


def run() -> str:
    from nnrun.runs.match import compare_runs

    with tempfile.TemporaryDirectory() as tmp:
        here = Path(tmp)
        found = _kernel_calls(here / "runs")
        (first_dir, first_train), (second_dir, second_train) = found["runs"]
        first_wall, second_wall = found["walls"]
        first_pictures, second_pictures = found["pictures"]
        proc = _cli("train", str(XOR), "--out", str(here / "cli"), "-q", cwd=here)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr)
        (cli_dir,) = (here / "cli" / "xor").iterdir()
        same = [compare_runs(cli_dir, Path(d)).identical for d in (first_dir, second_dir)]
        rerun = _cli("rerun", second_dir, "--out", str(here / "rerun"), "-q", cwd=here)
        rerun_says = rerun.stdout.strip().splitlines()[-1] if rerun.stdout.strip() else rerun.stderr.strip()
    rss = found["rss"]
    growth = (rss[-1] - rss[1]) / (len(rss) - 2) if len(rss) > 2 else float("nan")
    overhead = second_wall - second_train
    verdict = "met" if overhead <= TARGET_SECONDS else "NOT met"
    lines = [
        "## Warm reuse: XOR twice in one Jupyter kernel (`nnrun.train`)",
        "",
        "A fresh kernel (nbclient + ipykernel) calls `nnrun.train(configs/xor.yaml)` twice, timing each call.",
        "",
        "| call | wall s | train_seconds | wall - train | drawing the run's pictures (a thread) | the rest "
        "| same as `nnrun train` (CLI) |",
        "|---|---|---|---|---|---|---|",
        f"| first (imports TensorFlow) | {first_wall:.2f} | {first_train:.2f} | {first_wall - first_train:.2f} | "
        f"{first_pictures:.2f} | {first_wall - first_train - first_pictures:.2f} | "
        f"{'identical' if same[0] else 'DIFFERENT'} |",
        f"| second (warm) | {second_wall:.2f} | {second_train:.2f} | {overhead:.2f} | {second_pictures:.2f} | "
        f"{overhead - second_pictures:.2f} | {'identical' if same[1] else 'DIFFERENT'} |",
        "",
        f"Target: the second call within {TARGET_SECONDS:.0f} s of its own train_seconds: {verdict} "
        f"({overhead:.2f} s; without the PNGs every run draws, CLI or Python: {overhead - second_pictures:.2f} s). "
        f"`nnrun rerun` of the second run: {rerun_says}.",
        f"Memory: {LEAK_RUNS} more runs in the same kernel took its resident size from {rss[0]:.0f} to "
        f"{rss[-1]:.0f} MiB, {growth:.1f} MiB per run after the first of them (Keras keeps each model's traced "
        "graph; nnrun.train releases the session before each run, as a sweep worker does between points).",
        "Identical means history.csv (every epoch, every column) and metrics.json (every value) are equal "
        "bit for bit (`nnrun.runs.match`).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
