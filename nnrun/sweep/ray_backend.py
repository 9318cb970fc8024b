"""The Ray backend: the same points as Ray tasks, on a local Ray or an existing cluster.

Ray is an optional extra (`pip install 'nnrun[ray]'`) and is imported only here. Locally,
`ray.init(num_cpus=workers)` starts a private Ray for this sweep and shuts it down at the
end; with `--address` the tasks go to an existing cluster, whose nodes must have nnrun
installed and see the sweep folder at the same path (a shared filesystem).

Each task needs one CPU and is never retried by Ray (a retry would train the point twice
into one folder); a failed point is recorded and `nnrun sweep --resume` re-runs it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from nnrun.errors import Fatal, NnrunError
from nnrun.runs.layout import Status
from nnrun.sweep.backend import Backend, Event
from nnrun.sweep.worker import Task, ray_task

INSTALL_HINT = "pip install 'nnrun[ray]'"
#: Points a Ray worker process trains before Ray replaces it (bounds memory growth; see
#: nnrun.sweep.worker): a fresh process costs one TensorFlow import.
MAX_CALLS = 100


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise NnrunError(f"--backend ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


class RayBackend(Backend):
    name = "ray"

    def __init__(self, workers: int, threads: int, address: str | None = None) -> None:
        self.ray = import_ray()
        self.slots = max(1, workers)
        self.threads = threads
        self.address = address
        self.inflight: dict[Any, int] = {}
        self.cancelled: set[int] = set()
        self.started: list[Event] = []
        self._remote: Any = None

    def start(self, log_dir: Path | None = None) -> None:
        ray = self.ray
        options: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": logging.ERROR,
            "ignore_reinit_error": True,
        }
        try:
            if self.address:
                ray.init(address=self.address, **options)
            else:
                # "local": a private Ray for this sweep, even if `ray start` left one running
                ray.init(address="local", num_cpus=self.slots, **options)
        except ConnectionError as exc:
            raise NnrunError(f"cannot connect to the Ray cluster at {self.address}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - Ray raises many kinds at start-up
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise Fatal(f"Ray did not start: {type(exc).__name__}: {first}") from None
        self._remote = ray.remote(num_cpus=1, max_retries=0, max_calls=MAX_CALLS)(ray_task)

    def free_slots(self) -> int:
        return self.slots - len(self.inflight)

    def submit(self, task: Task) -> None:
        ref = self._remote.remote(task, self.threads)
        self.inflight[ref] = task.index
        self.started.append(Event("started", task.index))  # Ray does not say when a task begins

    def busy(self) -> set[int]:
        return set(self.inflight.values())

    def poll(self, timeout: float) -> list[Event]:
        events, self.started = self.started, []
        if not self.inflight:
            return events
        ray = self.ray
        refs = list(self.inflight)
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0 if events else timeout)
        for ref in ready:
            index = self.inflight.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.TaskCancelledError:
                result = {"index": index, "status": Status.INTERRUPTED}
            except ray.exceptions.RayError as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                result = {"index": index, "status": Status.FAILED, "error": f"{type(exc).__name__}: {first}"[:500]}
            events.append(Event("done", index, result))
        return events

    def interrupt(self) -> None:
        for ref, index in self.inflight.items():
            if index not in self.cancelled:
                self.cancelled.add(index)
                self.ray.cancel(ref, force=False)

    def kill(self) -> None:
        for ref in self.inflight:
            self.ray.cancel(ref, force=True)

    def close(self, wait: bool = True) -> None:
        if self.ray.is_initialized():
            self.ray.shutdown()
