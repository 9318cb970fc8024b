"""sweep.json: the grid, the command, and the status of every point, rewritten atomically as
points start and finish, so a sweep killed at any moment can be read back and resumed.

    {
      "id": "sweep-20250101-120000-a1b2c3", "name": "xor", "status": "running",
      "grid": {"optimizer.learning_rate": [0.001, 0.01]}, "seeds": 1, "base_seed": 42,
      "command": [...], "backend": "local", "workers": 2, "threads_per_worker": 1, ...
      "points": [
        {"index": 0, "values": {"optimizer.learning_rate": 0.001}, "label": "...",
         "seed": 42, "seed_index": 0, "status": "completed", "run_dir": "p000-...",
         "error": null, "epochs_run": 50, "train_seconds": 0.4, "worker_pid": 123,
         "peak_rss_mib": 410.2, "rss_mib": 405.0, "attempts": []},
        ...
      ],
      "best": {"index": 1, "label": "...", "metric": "best_val_loss", "value": 0.01}
    }

`run_dir` is relative to the sweep folder; `peak_rss_mib` and `rss_mib` are the worker's
peak and current resident memory right after the point. `attempts` keeps what earlier tries of a point
ended with (status, error) when `--resume` re-ran it.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from nnrun.errors import NnrunError
from nnrun.runs import liveness
from nnrun.runs.files import atomic_write_json
from nnrun.runs.layout import RunFolder, Status, SweepFolder, read_json_object
from nnrun.runs.records import RunJson, SweepJson, SweepPoint


class SweepRecord:
    """sweep.json in memory, a `SweepJson` (fields declared in nnrun/runs/records.py); `save()`
    after every change."""

    def __init__(self, sweep_dir: Path, json: SweepJson) -> None:
        self.dir = sweep_dir
        self.json = json

    @property
    def points(self) -> list[SweepPoint]:
        return self.json.points or []

    def point(self, index: int) -> SweepPoint:
        return self.points[index]

    def run_dir(self, index: int) -> Path | None:
        """The point's folder: always a direct child of the sweep folder named as the runner
        names it; None if there is none, or if sweep.json names anything else."""
        rel = self.points[index].run_dir
        if SweepFolder.point_index(rel) != index:
            return None
        return self.dir / rel

    def removable_run_dir(self, index: int) -> Path | None:
        """The point's old folder, if it may be removed before the point runs again; raises
        NnrunError if sweep.json names a folder this sweep cannot prove it created.

        A point folder may go only if it is a direct child of the sweep folder (a real folder,
        not a symlink), named `p<index>-<time>-<hex>`, and either empty or holding a run.json
        that says it is this point of this sweep.
        """
        rel = self.points[index].run_dir
        if rel is None:
            return None
        path = self.dir / str(rel)
        refuse = f"--resume: {self.dir / SweepFolder.SWEEP} names {str(rel)!r} as the folder of point {index}"
        if SweepFolder.point_index(rel) != index:
            raise NnrunError(f"{refuse}, which is not a point folder of this sweep; nothing was removed")
        if not os.path.lexists(path):
            return None
        if path.is_symlink() or not path.is_dir():
            raise NnrunError(f"{refuse}, which is not a folder (a link or a file); nothing was removed")
        if not any(path.iterdir()):
            return path
        run = read_json_object(RunFolder(path).run_json) or {}
        owner = RunJson.model_validate(run).sweep or {}
        if owner.get("id") != self.json.id or owner.get("index") != index:
            raise NnrunError(
                f"{refuse}, whose {RunFolder.RUN} does not say it is that point of this sweep; nothing was removed"
            )
        return path

    def save(self) -> None:
        atomic_write_json(self.dir / SweepFolder.SWEEP, self.json.to_data())

    def mark(self, index: int, **fields: Any) -> None:
        self.points[index].set(**fields)
        self.save()

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.points:
            key = str(p.status)
            out[key] = out.get(key, 0) + 1
        return out

    @classmethod
    def load(cls, sweep_dir: Path) -> SweepRecord:
        path = sweep_dir / SweepFolder.SWEEP
        if not sweep_dir.is_dir():
            raise NnrunError(f"--resume: {sweep_dir} is not a folder")
        if not path.is_file():
            raise NnrunError(f"--resume: {sweep_dir} is not a sweep folder (no {SweepFolder.SWEEP})")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise NnrunError(f"--resume: cannot read {path}: {exc}") from None
        typed = SweepJson.model_validate(data) if isinstance(data, dict) else None
        if typed is None or typed.points is None or typed.grid is None:
            raise NnrunError(f"--resume: {path} is not a sweep record")
        for i, point in enumerate(typed.points):
            if point.index != i or point.status is None:
                raise NnrunError(f"--resume: {path}: point {i} has no valid index or status; the record was edited")
        return cls(sweep_dir, typed)

    def still_running(self) -> int | None:
        """The pid of a live process that is running this sweep right now, if any."""
        pid = self.json.pid
        if self.json.status != Status.RUNNING or self.json.host != socket.gethostname():
            return None
        if pid is None or pid <= 0 or pid == os.getpid():
            return None
        if not liveness.pid_exists(pid):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return pid
        return pid if b"sweep" in cmdline else None
