"""MNIST-size training speed and peak memory: nnrun's graph and fit trainers against a plain
Keras `fit` script on the same arrays, same machine, same run (issue 13 item 6).

Models: the MLP 784-128-10 (configs/mlp_mnist.yaml) and the study guide's CNN
(configs/cnn_mnist.yaml), batch 128. Data: the real mnist.npz when Keras's cache has it,
otherwise a generated stand-in of the same shape (60 000 + 10 000 images of 28 x 28, a bright
patch per class on noise), written into a temporary Keras home; the table says which.
Each variant runs in its own process: an epoch's seconds are measured after the first
(tracing) epoch, inside one run on both sides (`nnrun_epochs.py`: `nnrun train`'s path, the
rows' hand-over timed; `keras_mnist_fit.py`: one `fit` call, a callback timing each epoch's
end); peak memory is the process's maximum resident set size. The MLP also runs with
`training.inspect: false`, to show what recording the internals costs.
`NNRUN_BENCH_MNIST_ROWS` shrinks the data for a quick check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
#: Timed epochs after the first, per model: an MLP epoch takes about half a second, a CNN
#: epoch several (the streamed runs are the MLP's).
TIMED_EPOCHS = {"mlp": 6, "cnn": 2}


def stand_in(folder: Path, n_train: int, n_test: int) -> Path:
    """mnist.npz in Keras's format: uint8 (n, 28, 28) images, uint8 labels."""
    rng = np.random.default_rng(0)
    n = n_train + n_test
    y = (np.arange(n) % 10).astype(np.uint8)
    rng.shuffle(y)
    x = rng.integers(0, 60, size=(n, 28, 28), dtype=np.uint8)
    for k in range(10):
        r, c = (k // 5) * 14, (k % 5) * 5
        x[y == k, r : r + 14, c : c + 5] = 230
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mnist.npz"
    np.savez(path, x_train=x[:n_train], y_train=y[:n_train], x_test=x[n_train:], y_test=y[n_train:])
    return path


def run_child(command: list[str], env: dict[str, str]) -> tuple[str, float]:
    """stdout and peak resident MB (ru_maxrss of exactly this child)."""
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({proc.returncode}): {err[-2000:]}")
    return out, usage.ru_maxrss / 1024


def nnrun_train(
    config: Path, trainer: str, epochs: int, env: dict[str, str], more: tuple[str, ...] = ()
) -> tuple[float, float]:
    """Seconds an epoch after the first (`nnrun_epochs.py`) and peak MB of one nnrun training."""
    script = str(ROOT / "benchmarks" / "nnrun_epochs.py")
    text, peak = run_child(
        [sys.executable, script, str(config), str(epochs), f"training.trainer={trainer}", *more], env
    )
    record = json.loads(text.strip().splitlines()[-1])
    if record["trainer"] != trainer:
        raise RuntimeError(f"{config}: asked for the {trainer} trainer, {record['trainer']} ran")
    return float(record["epoch_seconds"]), peak


def measure(which: str, env: dict[str, str]) -> dict[str, Any]:
    config = CONFIGS / ("mlp_mnist.yaml" if which == "mlp" else "cnn_mnist.yaml")
    epochs = TIMED_EPOCHS[which]
    variants = [("graph", "graph", ()), ("fit", "fit", ())]
    if which == "mlp":
        variants.append(("graph_no_inspect", "graph", ("training.inspect=false",)))
    out: dict[str, Any] = {}
    for label, trainer, more in variants:
        seconds, peak = nnrun_train(config, trainer, epochs, env, more)
        out[label] = {"epoch_seconds": seconds, "peak_mb": peak}
    text, peak = run_child([sys.executable, str(ROOT / "benchmarks" / "keras_mnist_fit.py"), which, str(epochs)], env)
    out["keras"] = {**json.loads(text.strip().splitlines()[-1]), "peak_mb": peak}
    return out


def measure_stream(mnist: Path, folder: Path, env: dict[str, str]) -> dict[str, Any]:
    """The MLP on MNIST-shaped pixels in an uncompressed npz, streamed and loaded whole, with
    both trainers (`auto` picks the graph trainer for both)."""
    import yaml

    with np.load(mnist) as arrays:
        x = (arrays["x_train"].astype(np.float32) / 255.0)[..., None]
        np.savez(folder / "pixels.npz", x=x, y=arrays["y_train"])
    config = yaml.safe_load((CONFIGS / "mlp_mnist.yaml").read_text())
    config["data"] = {"dataset": "npz", "path": str(folder / "pixels.npz"), "standardize": False}
    path = folder / "mlp_npz.yaml"
    path.write_text(yaml.safe_dump(config))
    out: dict[str, Any] = {}
    for label, trainer, stream in (
        ("stream_graph", "graph", "true"),
        ("stream", "fit", "true"),
        ("memory_fit", "fit", "false"),
        ("memory_graph", "graph", "false"),
    ):
        seconds, peak = nnrun_train(path, trainer, TIMED_EPOCHS["mlp"], env, (f"data.stream={stream}",))
        out[label] = {"epoch_seconds": seconds, "peak_mb": peak}
    return out


def run() -> str:
    from nnrun.data.download import keras_home

    rows = int(os.environ.get("NNRUN_BENCH_MNIST_ROWS", "70000"))
    env = {**os.environ, "PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    real = (keras_home() / "datasets" / "mnist.npz").is_file() and rows == 70000
    with tempfile.TemporaryDirectory() as home:
        if real:
            source = "the real MNIST (mnist.npz in Keras's cache)"
        else:
            stand_in(Path(home) / "datasets", rows * 6 // 7, rows // 7)
            env["KERAS_HOME"] = home
            source = (
                f"a generated stand-in of MNIST's shape ({rows * 6 // 7} + {rows // 7} images of 28x28; "
                "the real file is not in Keras's cache and this machine cannot download it)"
            )
        results = {which: measure(which, env) for which in ("mlp", "cnn")}
        mnist = (keras_home() if real else Path(home)) / "datasets" / "mnist.npz"
        streaming = measure_stream(mnist, Path(home), env)
    lines = [
        "## MNIST-size training: graph and fit trainers vs a plain Keras fit script",
        "",
        f"Data: {source}; 80 % of the training images train (validation 20 %), batch 128, "
        "seconds per epoch after the first (mean of "
        + ", ".join(f"{n} for the {w.upper()}" for w, n in TIMED_EPOCHS.items())
        + "), peak resident memory of each process.",
        "",
        "| model | graph s/epoch | fit s/epoch | plain Keras fit s/epoch | graph vs Keras | graph peak MB | "
        "fit peak MB | Keras peak MB | goal |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    goals = {"mlp": (1.5, ">= 1.5x faster"), "cnn": (1.0, "never slower")}
    for which, r in results.items():
        g, f, k = (r[t]["epoch_seconds"] for t in ("graph", "fit", "keras"))
        ratio = k / g
        need, words = goals[which]
        met = "met" if ratio >= need else "NOT met"
        name = "MLP 784-128-10" if which == "mlp" else "guide's CNN"
        lines.append(
            f"| {name} | {g:.2f} | {f:.2f} | {k:.2f} | {ratio:.2f}x | {r['graph']['peak_mb']:.0f} | "
            f"{r['fit']['peak_mb']:.0f} | {r['keras']['peak_mb']:.0f} | {words}: {met} |"
        )
    mlp = results["mlp"]
    plain = mlp["keras"]["epoch_seconds"]
    bare = mlp["graph_no_inspect"]["epoch_seconds"]
    lines += [
        "",
        f"The MLP's graph run without recording its internals (`training.inspect: false`): {bare:.2f} s an epoch, "
        f"{plain / bare:.2f}x faster than plain Keras; recording them (the default) costs "
        f"{mlp['graph']['epoch_seconds'] - bare:.2f} s an epoch.",
    ]
    sg, st, mf, mg = (streaming[k]["epoch_seconds"] for k in ("stream_graph", "stream", "memory_fit", "memory_graph"))
    met = ", ".join(
        f"{name} {'met' if streamed <= 1.3 * loaded else 'NOT met'}"
        for name, streamed, loaded in (("graph", sg, mg), ("fit", st, mf))
    )
    peaks = " / ".join(
        f"{streaming[k]['peak_mb']:.0f}" for k in ("stream_graph", "stream", "memory_fit", "memory_graph")
    )
    lines += [
        "",
        "Streaming (`data.stream: true`: the same 60 000 pixel rows in an uncompressed npz, read batch by "
        "batch through tf.data, by both trainers) against the arrays loaded whole, MLP, batch 128:",
        "",
        "| streamed graph s/epoch | streamed fit s/epoch | loaded fit s/epoch | loaded graph s/epoch | "
        "streamed / loaded graph | streamed / loaded fit | "
        "peak MB (streamed graph / streamed fit / loaded fit / loaded graph) | goal |",
        "|---|---|---|---|---|---|---|---|",
        f"| {sg:.2f} | {st:.2f} | {mf:.2f} | {mg:.2f} | {sg / mg:.2f}x | {st / mf:.2f}x | {peaks} | "
        f"streamed within 1.3x of loaded, same trainer: {met} |",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
