"""The fixed cost of a run (issue 16): what a run costs besides importing and training.

Every figure is measured in this one run, interleaved with a bare
`python -c "import tensorflow, sklearn, matplotlib"` (the libraries any training run needs),
so a loaded machine slows both sides alike; each line gives the median of REPEATS runs and
the ratio to that bare import. Targets:

1. `nnrun train configs/xor.yaml`: wall - bare import - train_seconds <= 0.5 s.
2. 25-point learning-rate sweep of configs/xor.yaml in one worker: per-point overhead
   (point cost - its train_seconds) <= 0.3 s. Measured as (sweep wall - bare import -
   sum of train_seconds) / points, so it also carries the sweep's own start and its summary
   figures: an upper bound on the per-point figure; and as the median over points of the time
   from one point's start to the next one's, minus its train_seconds. With two workers: the
   sweep's wall >= 2x faster than on the issue's day, against the code of the commit the issue
   was filed against (`ISSUE_COMMIT`, run from a temporary `git worktree` of it with this
   interpreter; it drew 3 PNGs a point and recorded no internals, where a point now draws 8 and
   records them). Beside it, the same code with every point tracing its own training loop
   (`NNRUN_SWEEP_WARM=0`, what every point did before issue 16) shows what warm reuse alone
   saves today; it is no target, since everything else that made the sweep faster is in both.
   The two-worker sweeps alternate, `SWEEP_PAIRS` times each; medians. The least such a sweep
   could take on this machine (loading the libraries once as nnrun does, plus the points'
   training split over two cores, nothing else) says how far any code could go.
3. Worker memory, over a 50-point sweep in one worker: growth of the worker's resident memory per point (rss after point 5 to
   after the last point, as the worker reports it in sweep.json) <= 0.5 MiB.
4. `nnrun train` of 5 example configs in one call against 5 separate calls.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
ENV = {**os.environ, "PYTHONHASHSEED": "0"}
REPEATS = 3
SWEEP_POINTS = 25
#: The issue measures a worker's memory over 50 points of one architecture.
MEMORY_POINTS = 50
FIVE = ["and.yaml", "xor.yaml", "xor_sgd.yaml", "perceptron_and.yaml", "iris_softmax.yaml"]
BARE = [sys.executable, "-c", "import tensorflow, sklearn, matplotlib"]
#: The same libraries loaded as a training command of nnrun loads them: the cyclic collector
#: paused from the start until TensorFlow is in, then what was loaded frozen (nnrun.tf_import).
NNRUN_IMPORT = [
    sys.executable,
    "-c",
    "from nnrun.tf_import import import_tensorflow, pause_collector; pause_collector(); "
    "import sklearn, matplotlib; import_tensorflow()",
]
#: The commit issue 16 was filed against (23 Nov 2026).
ISSUE_COMMIT = "7100e11"
SWEEP_PAIRS = 2


#: Every command runs under this wrapper, which waits for all the processes the command leaves
#: behind (a sweep's fork server and the workers it forked), so their CPU seconds count.
REAP = [sys.executable, str(ROOT / "benchmarks" / "reap.py")]


def _cost(command: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> tuple[float, float]:
    """(wall, CPU seconds: user + system of the process and all its descendants) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([*REAP, *command], cwd=cwd, env={**ENV, **(env or {})}, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def _wall(command: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> float:
    return _cost(command, env, cwd)[0]


def _nnrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "nnrun", *args]


def _train_seconds(root: Path) -> list[float]:
    return [json.loads(p.read_text())["train_seconds"] for p in sorted(root.glob("**/run.json"))]


def _ok(met: bool) -> str:
    return "met" if met else "**not met**"


def one_run(work: Path) -> tuple[list[str], float, float]:
    bare: list[tuple[float, float]] = []
    loaded: list[tuple[float, float]] = []
    rows: list[tuple[float, float, float]] = []
    for i in range(REPEATS):
        bare.append(_cost(BARE))
        loaded.append(_cost(NNRUN_IMPORT))
        out = work / f"one{i}"
        wall, cpu = _cost(_nnrun("train", str(CONFIGS / "xor.yaml"), "--quiet", "--out", str(out)))
        (train,) = _train_seconds(out)
        rows.append((wall, cpu, train))
    imp = statistics.median(w for w, _ in bare)
    wall = statistics.median(w for w, _, _ in rows)
    train = statistics.median(t for _, _, t in rows)
    overhead = statistics.median(w - b - t for (w, _, t), (b, _) in zip(rows, bare, strict=True))
    cpu = statistics.median(c - b for (_, c, _), (_, b) in zip(rows, bare, strict=True))
    own, own_cpu = _medians(loaded)
    bare_cpu = statistics.median(c for _, c in bare)
    return (
        [
            f"| the same libraries loaded as nnrun loads them (collector paused while loading) | {own:.2f} s "
            f"({own / imp:.2f}x the bare import), {own_cpu:.1f} CPU s against {bare_cpu:.1f} | | | |",
            f"| `nnrun train configs/xor.yaml` | {wall:.2f} s ({wall / imp:.2f}x the bare import) | "
            f"training {train:.2f} s | wall - import - training: **{overhead:.2f} s** "
            f"(CPU - the import's CPU, training included: {cpu:.2f} s) | <= 0.5 s: {_ok(overhead <= 0.5)} |",
        ],
        imp,
        own,
    )


def five_configs(work: Path, imp: float) -> list[str]:
    paths = [str(CONFIGS / name) for name in FIVE]
    together = _wall(_nnrun("train", *paths, "--quiet", "--out", str(work / "together")))
    bare = _wall(BARE)
    apart = sum(_wall(_nnrun("train", p, "--quiet", "--out", str(work / "apart"))) for p in paths)
    assert len(_train_seconds(work / "together")) == len(_train_seconds(work / "apart")) == len(FIVE)
    ref = statistics.median([imp, bare])
    return [
        f"| `nnrun train` of 5 configs ({', '.join(FIVE)}) in one call | {together:.1f} s "
        f"({together / ref:.2f}x the bare import) | 5 separate calls: {apart:.1f} s ({apart / ref:.2f}x) | "
        f"**{apart / together:.1f}x faster** in one call | one call faster: {_ok(together < apart)} |"
    ]


def _point_overheads(record_path: Path, points: list[dict]) -> list[float]:
    """Each point's wall (from its config.yaml, written as it starts, to the next point's, in
    one worker) minus its train_seconds."""
    starts = [(record_path.parent / p["run_dir"] / "config.yaml").stat().st_mtime for p in points]
    return [b - a - p["train_seconds"] for a, b, p in zip(starts, starts[1:], points, strict=False)]


@contextmanager
def _issue_day(work: Path) -> Iterator[tuple[Path | None, str]]:
    """A detached worktree of `ISSUE_COMMIT` (removed afterwards), or None and why not."""
    tree = work / "issue-day"
    git = ["git", "-C", str(ROOT)]
    made = subprocess.run(
        [*git, "worktree", "add", "--detach", str(tree), ISSUE_COMMIT], capture_output=True, text=True
    )
    if made.returncode != 0:
        first = (made.stderr.strip().splitlines() or ["git failed"])[-1]
        yield None, f"no git history with commit {ISSUE_COMMIT} here ({first}; a shallow clone?)"
        return
    try:
        yield tree, ""
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(tree)], capture_output=True)


def _sweep(
    out: Path, workers: int, env: dict[str, str] | None = None, tree: Path = ROOT, points: int = SWEEP_POINTS
) -> tuple[tuple[float, float], list[dict], Path]:
    """One `nnrun sweep` of configs/xor.yaml with the code in `tree`: (wall, CPU seconds), its
    points, sweep.json."""
    args = ["sweep", str(tree / "configs" / "xor.yaml"), "--lr", f"1e-3:1:{points}", "--workers", str(workers)]
    code = {"PYTHONPATH": str(tree)} if tree != ROOT else {}
    cost = _cost(_nnrun(*args, "--out", str(out), "-q"), {**code, **(env or {})}, cwd=tree)
    (record_path,) = out.glob("xor/sweep-*/sweep.json")
    return cost, json.loads(record_path.read_text())["points"], record_path


def _points(out: Path) -> list[dict]:
    (record_path,) = out.glob("xor/sweep-*/sweep.json")
    return json.loads(record_path.read_text())["points"]


def _faster(ratio: float) -> str:
    """A wall-time ratio (before / now) in words."""
    return f"{ratio:.2f}x faster" if ratio >= 1 else f"{1 / ratio:.2f}x slower"


def _medians(costs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(w for w, _ in costs), statistics.median(c for _, c in costs)


def sweeps(work: Path, imp: float, own: float) -> list[str]:
    lines = []
    (wall, _), points, record_path = _sweep(work / "sweep1", 1)
    trained = sum(p.get("train_seconds") or 0 for p in points)
    per_point = (wall - imp - trained) / len(points)
    median = statistics.median(_point_overheads(record_path, points))
    lines.append(
        f"| {SWEEP_POINTS}-point learning-rate sweep of XOR, 1 worker | {wall:.1f} s "
        f"({wall / imp:.2f}x the bare import) | training {trained:.1f} s in all | "
        f"overhead per point: median **{median:.2f} s** (point wall - its train_seconds), "
        f"{per_point:.2f} s upper bound | <= 0.3 s: {_ok(median <= 0.3)} |"
    )
    _, points, _ = _sweep(work / "sweep1memory", 1, points=MEMORY_POINTS)
    rss = [p["rss_mib"] for p in points if p.get("rss_mib")]
    growth = (rss[-1] - rss[4]) / (len(rss) - 5) if len(rss) > 5 else float("nan")
    lines.append(
        f"| worker memory over {len(rss)} points of one architecture | {rss[0]:.0f} MiB after point 1, "
        f"{rss[4]:.0f} after 5, {rss[-1]:.0f} after {len(rss)} | | growth **{growth:+.2f} MiB per point** | "
        f"<= 0.5 MiB: {_ok(growth <= 0.5)} |"
    )
    costs: dict[str, list[tuple[float, float]]] = {"warm": [], "cold": [], "issue": []}
    with _issue_day(work) as (tree, why_not):
        for i in range(SWEEP_PAIRS):
            costs["warm"].append(_sweep(work / f"sweep2warm{i}", 2)[0])
            costs["cold"].append(_sweep(work / f"sweep2cold{i}", 2, {"NNRUN_SWEEP_WARM": "0"})[0])
            if tree is not None:
                costs["issue"].append(_sweep(work / f"sweep2issue{i}", 2, tree=tree)[0])
    (warm, warm_cpu), (cold, cold_cpu) = _medians(costs["warm"]), _medians(costs["cold"])
    lines.append(
        f"| the same sweep, 2 workers | {warm:.1f} s ({warm / imp:.2f}x the bare import), {warm_cpu:.1f} CPU s | "
        f"each point tracing its own loop (`NNRUN_SWEEP_WARM=0`, as before issue 16): {cold:.1f} s, "
        f"{cold_cpu:.1f} CPU s | **{_faster(cold / warm)}** with warm workers | "
        "what warm reuse alone saves today (the target is against the issue's day: next line) |"
    )
    trained = statistics.median(
        sum(p.get("train_seconds") or 0 for p in _points(work / f"sweep2warm{i}")) for i in range(SWEEP_PAIRS)
    )
    floor = own + trained / 2
    if costs["issue"]:
        issue, issue_cpu = _medians(costs["issue"])
        lines.append(
            f"| the same sweep, 2 workers, against the issue's day | {warm:.1f} s, {warm_cpu:.1f} CPU s | "
            f"the code of {ISSUE_COMMIT} (23 Nov 2026; 3 PNGs a point, no internals; now 8 PNGs and "
            f"internals): {issue:.1f} s, {issue_cpu:.1f} CPU s | **{_faster(issue / warm)}** than on the "
            f"issue's day | >= 2x: {_ok(issue / warm >= 2)} |"
        )
        lines.append(
            f"| the least this sweep could take | {floor:.1f} s: loading the libraries as nnrun does "
            f"({own:.1f} s) and the points' training ({trained:.1f} s) split over 2 cores, nothing else | "
            f"| at best {issue / floor:.2f}x faster than on the issue's day | |"
        )
    else:
        lines.append(f"| the same sweep, 2 workers, against the issue's day | {warm:.1f} s | not run: {why_not} | | |")
    return lines


def run() -> str:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="nnrun-bench-fixed-") as tmp:
        work = Path(tmp)
        first, imp, own = one_run(work)
        rows = first + five_configs(work, imp) + sweeps(work, imp, own)
    return "\n".join(
        [
            "## The fixed cost of a run (bench_fixedcost, issue 16)",
            "",
            f'Bare `python -c "import tensorflow, sklearn, matplotlib"`: median {imp:.2f} s of {REPEATS}, '
            f"interleaved with the runs below (load average {load:.1f} on {os.cpu_count()} cores when this "
            "section began; other jobs slow both sides, hence the ratios).",
            "",
            "| what | wall | | figure | target |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
    )


if __name__ == "__main__":
    print(run())
