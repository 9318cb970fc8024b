"""Beyond memory, for real: an npz larger than the room a memory limit leaves trains when
streamed, and loading it whole fails under the same limit.

The limit is an address-space limit (RLIMIT_AS) set on a child `nnrun train` process by
tests/data/memory_limit.py before it imports anything. TensorFlow alone maps about 3 GiB, so
the limit is the peak virtual size of the same streamed run on a small file (the baseline,
measured first, buffers and threads included) plus half the size of the big file's array: the
big file cannot be loaded, let alone converted to float32, within the limit, but streaming it
only needs the baseline's bounded buffers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT

LIMITED = ROOT / "tests" / "data" / "memory_limit.py"
SIDE = 64  # pictures of 64 x 64 uint8: 4 KiB a row in the file, 16 KiB as float32
SMALL_ROWS = 4_000  # more than one shuffle buffer (nnrun.data.stream.BUFFER_BYTES) of rows
BIG_ROWS = 60_000  # 240 MiB in the file, 940 MiB as float32

CONFIG = """\
name: beyond-memory
seed: 1
data: {dataset: npz, path: DATA, standardize: false}
model:
  layers:
    - {type: flatten}
    - {type: dense, units: 1, activation: sigmoid}
optimizer: {name: adam}
loss: binary_crossentropy
metrics: [accuracy]
training: {epochs: 1, batch_size: 256}
"""


def _write(path: Path, rows: int) -> int:
    """An uncompressed npz of `rows` pictures (class 1 has a bright top band); its x's bytes."""
    rng = np.random.default_rng(0)
    y = np.arange(rows) % 2
    x = rng.integers(0, 200, size=(rows, SIDE, SIDE), dtype=np.uint8)
    x[y == 1, :8] = 255
    np.savez(path, x=x, y=y)
    return int(x.nbytes)


def _train(tmp: Path, data: str, limit: int, stream: str) -> tuple[subprocess.CompletedProcess[str], int]:
    config = tmp / f"{data}.yaml"
    config.write_text(CONFIG.replace("DATA", f"{data}.npz"))
    peak = tmp / f"{data}-{stream}.peak"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "MALLOC_ARENA_MAX": "2"}
    command = [sys.executable, str(LIMITED), str(limit), str(peak), "train", str(config), "--out", str(tmp / data)]
    proc = subprocess.run(
        [*command, "--set", f"data.stream={stream}"], env=env, capture_output=True, text=True, timeout=300
    )
    return proc, int(peak.read_text()) if peak.exists() else 0


@pytest.mark.slow
def test_an_npz_beyond_the_memory_limit_streams_and_loading_it_whole_fails(tmp_path: Path) -> None:
    _write(tmp_path / "small.npz", SMALL_ROWS)
    big = _write(tmp_path / "big.npz", BIG_ROWS)
    proc, baseline = _train(tmp_path, "small", 0, "true")
    assert proc.returncode == 0, proc.stderr[-2000:]
    limit = baseline + big // 2

    # auto sees the limit (nnrun.data.stream.available_memory), streams, and trains in-graph on
    # the stream (fit on it passes the same test with its own baseline: it maps about 15 MB more)
    proc, peak = _train(tmp_path, "big", limit, "auto")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "streamed: 60000 rows read from big.npz" in proc.stderr + proc.stdout
    assert peak <= limit
    (run_json,) = (tmp_path / "big" / "beyond-memory").glob("*/run.json")
    record = json.loads(run_json.read_text())
    assert record["status"] == "completed" and record["trainer"] == "graph"
    assert record["split"]["train"] + record["split"]["validation"] + record["split"]["test"] == BIG_ROWS

    proc, _ = _train(tmp_path, "big", limit, "false")
    assert proc.returncode != 0 and "MemoryError" in proc.stderr, proc.stderr[-2000:]
    assert len(list((tmp_path / "big" / "beyond-memory").glob("*/run.json"))) == 1  # no second run
