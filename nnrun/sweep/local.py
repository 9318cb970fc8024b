"""The local backend: long-lived worker processes on this machine, one point at a time each.

Why not `concurrent.futures.ProcessPoolExecutor`: when one of its workers dies (killed,
out of memory) it marks every pending future broken and terminates all the other workers,
and it cannot say which point the dead worker was running. Here each worker has its own
pipe, so a dead worker fails exactly its own point and is replaced; the others keep going.

Workers are forked by multiprocessing's fork server, which has imported TensorFlow, Keras and
nnrun's run code once (`nnrun.sweep.preload`) but never run a TensorFlow op: each worker starts
with the libraries loaded (shared copy-on-write) and no TensorFlow runtime, then limits its
thread pools to `threads` so that `workers x threads` does not exceed the cores. A new sweep
starts the server as soon as its config and grid are valid (`launch`), so it loads while the
sweep process checks the data and makes its folder; a recycled or replaced worker is forked
from it too. (Spawned workers each imported TensorFlow
themselves: about 2.3 CPU-seconds a worker, two at once on two cores.)
Their stdout/stderr go to `<sweep>/.logs/worker-<n>.log`.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
from multiprocessing import forkserver
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from nnrun.errors import Fatal
from nnrun.runs.layout import Status
from nnrun.sweep.backend import Backend, Event
from nnrun.sweep.worker import Task, serve

#: What the fork server imports once for every worker (see that module).
PRELOAD = "nnrun.sweep.preload"
#: Set in the fork server's environment as it starts, and only there: it tells the preload
#: that it runs in the server (which then ends without freeing TensorFlow).
SERVER_ENV = "NNRUN_SWEEP_FORK_SERVER"
#: A sweep gives up when workers keep dying (e.g. every point runs out of memory).
MAX_RESTARTS_PER_WORKER = 5
#: A worker whose resident memory has grown by more than this since its first point is
#: replaced by a fresh one (see nnrun.sweep.worker on why memory grows at all).
RECYCLE_GROWTH_MIB = float(os.environ.get("NNRUN_SWEEP_RECYCLE_MIB", "512"))


class _Worker:
    def __init__(self, ctx: Any, number: int, threads: int, log_dir: Path | None) -> None:
        self.number = number
        parent, child = ctx.Pipe(duplex=True)
        log = str(log_dir / f"worker-{number}.log") if log_dir else None
        self.conn: Connection = parent
        self.process = ctx.Process(target=serve, args=(child, threads, log), name=f"nnrun-sweep-{number}", daemon=True)
        self.process.start()
        child.close()
        #: The point training now, and the points that have trained and are closing (their
        #: pictures drawn in the background): all are busy until their "done".
        self.task: int | None = None
        self.closing: set[int] = set()
        self.log = log
        self.baseline_mib: float | None = None
        self.retiring = False

    @property
    def pid(self) -> int | None:
        return self.process.pid


class LocalBackend(Backend):
    name = "local"

    def __init__(self, workers: int, threads: int) -> None:
        self.slots = max(1, workers)
        self.threads = threads
        self.log_dir: Path | None = None
        self.ctx = mp.get_context("forkserver")
        self.workers: list[_Worker] = []
        self.spawned = 0
        self.deaths = 0

    def launch(self) -> None:
        self.ctx.set_forkserver_preload([PRELOAD])
        os.environ[SERVER_ENV] = "1"  # the server copies the environment as it starts
        try:
            forkserver.ensure_running()  # it loads TensorFlow while this process goes on
        finally:
            del os.environ[SERVER_ENV]

    def start(self, log_dir: Path | None = None) -> None:
        self.launch()  # (a resumed sweep starts here)
        self.log_dir = log_dir
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(self.slots):
            self._spawn()

    def _spawn(self) -> _Worker:
        self.spawned += 1
        worker = _Worker(self.ctx, self.spawned, self.threads, self.log_dir)
        self.workers.append(worker)
        return worker

    def free_slots(self) -> int:
        return sum(1 for w in self.workers if w.task is None and not w.retiring)

    def submit(self, task: Task) -> None:
        worker = next(w for w in self.workers if w.task is None and not w.retiring)
        worker.task = task.index
        worker.conn.send(task)

    def busy(self) -> set[int]:
        return {w.task for w in self.workers if w.task is not None} | {i for w in self.workers for i in w.closing}

    def poll(self, timeout: float) -> list[Event]:
        events: list[Event] = []
        if not self.workers:
            return events
        handles: list[Any] = [w.conn for w in self.workers] + [w.process.sentinel for w in self.workers]
        ready = set(wait(handles, timeout))
        for worker in list(self.workers):
            alive = worker.process.is_alive()
            if worker.conn in ready or worker.process.sentinel in ready or not alive:
                events += self._drain(worker)
            if not alive:
                events += self._buried(worker)
        return events

    def _drain(self, worker: _Worker) -> list[Event]:
        events = []
        try:
            while worker.conn.poll():
                message = worker.conn.recv()
                kind = message[0]
                if kind == "started":
                    events.append(Event("started", message[1]))
                elif kind == "free":  # trained, its pictures still being drawn: the worker takes the next
                    if worker.task == message[1]:  # (unless its "done" came first)
                        worker.closing.add(message[1])
                        worker.task = None
                        self._maybe_recycle(worker, message[2])
                elif kind == "done":
                    index = message[1]["index"]
                    events.append(Event("done", index, message[1]))
                    worker.closing.discard(index)
                    if worker.task == index:  # (a point that was "free" was measured then)
                        worker.task = None
                        self._maybe_recycle(worker, message[1].get("rss_mib"))
                elif kind == "setup_failed":
                    raise Fatal(f"a sweep worker could not start TensorFlow: {message[1]}")
        except (EOFError, OSError):
            pass
        return events

    def _maybe_recycle(self, worker: _Worker, rss: float | None) -> None:
        """Once a point has trained: retire the worker (after it has closed its points) if it grew too much."""
        if rss is None or worker.retiring:
            return
        if worker.baseline_mib is None:
            worker.baseline_mib = rss
        elif rss - worker.baseline_mib > RECYCLE_GROWTH_MIB:
            worker.retiring = True
            try:
                worker.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
            self._spawn()

    def _buried(self, worker: _Worker) -> list[Event]:
        """A worker that exited: fail its points (the one training and any still closing), and replace it."""
        worker.process.join(timeout=1)
        self.workers.remove(worker)
        worker.conn.close()
        events = []
        lost = sorted(worker.closing) + ([worker.task] if worker.task is not None else [])
        if lost:
            self.deaths += 1
            code = worker.process.exitcode
            how = f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
            hint = "; out of memory?" if code == -signal.SIGKILL else ""
            log = f"; see {worker.log}" if worker.log else ""
            error = f"the worker process died ({how}{hint}){log}"
            events += [Event("done", i, {"index": i, "status": Status.FAILED, "error": error}) for i in lost]
            worker.task = None
            worker.closing.clear()
            if self.deaths > MAX_RESTARTS_PER_WORKER * self.slots:
                raise Fatal(f"sweep workers died {self.deaths} times; giving up")
            self._spawn()
        return events

    def interrupt(self) -> None:
        for w in self.workers:
            if w.task is not None and w.pid:
                try:
                    os.kill(w.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

    def kill(self) -> None:
        for w in self.workers:
            if w.process.is_alive():
                w.process.kill()
        for w in self.workers:
            w.process.join(timeout=5)

    def close(self, wait: bool = True) -> None:
        workers, self.workers = self.workers, []
        for w in workers:
            try:
                w.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        if wait:
            _end(workers)
        else:  # joined before this process ends (not a daemon thread)
            threading.Thread(target=_end, args=(workers,), name="nnrun-end-workers").start()


def _end(workers: list[_Worker]) -> None:
    """Wait for workers told to end (a worker that does not, killed after 10 s)."""
    for w in workers:
        w.process.join(timeout=10)
        if w.process.is_alive():
            w.process.kill()
            w.process.join(timeout=5)
        w.conn.close()
