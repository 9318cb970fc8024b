"""A run's pictures, drawn in the background while the run closes (and, in a sweep worker,
while the next point trains).

The lifecycle hands each picture over as soon as what it shows is known (the curves once the
history is, the confusion matrix once the test split is evaluated) and goes on saving the
model, evaluating and diagnosing meanwhile. Then either it waits for the pictures (`finish`)
before run.json says the run's final status, or (a sweep worker) it leaves that last step to
the drawing thread (`then`) and returns at once. A picture's data is computed by the caller
(the model is only ever called from the run's own thread); the drawing thread draws matplotlib
Figures of its own (no pyplot state) and writes each PNG atomically, so nothing is ever half a
picture.

Every run of the process draws in one thread, in the order the pictures were handed over: a
run's pictures and its closing step come after those of the run before it. In a sweep worker (`use_process`) that thread has each picture drawn by a
drawing process of its own instead: matplotlib is mostly Python, and in a thread it would take
turns with the next point's Python for one interpreter lock. The process is started once
(`nnrun.drawer`: a fork of the worker when that is safe, else a fresh interpreter), never runs
TensorFlow, and gets each picture as a pickled call (a `functools.partial` of a plot function
and its data); a picture that does not pickle, or any picture once the process is gone, is
drawn in the thread as before. While the
worker waits for its previous point to close, it draws the next queued pictures itself
(`help_while`); a closing step still waits for every picture handed over before it.

As with `nnrun.plots.draw_each`: a stop signal skips the pictures not yet drawn, and a
picture that fails is left out (a picture is never worth a run).
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

#: How often a waiting thread wakes to let its signal handlers run.
POLL_SECONDS = 0.02


class _Mark:
    """A place in the queue: `action` runs there, then `reached` is set."""

    def __init__(self, action: Callable[[], Any] | None = None) -> None:
        self.action = action
        self.reached = threading.Event()

    def wait(self) -> None:
        """Wake every few hundredths of a second: a signal that the kernel handed to another
        thread is only handled when this (the main) thread runs Python again, and a stop signal
        must skip the pictures not drawn yet without waiting for all of them."""
        while not self.reached.wait(POLL_SECONDS):
            pass


#: A fresh drawing process (`nnrun.drawer`).
_CHILD = "from nnrun.drawer import main; main()"


class _Process:
    """The drawing process (see the module docstring): a fork of this process when that is safe
    and the drawing code is loaded here already (a sweep worker forked from the fork server),
    else a fresh interpreter."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | _Fork | None = _Fork.start() or _fresh()

    def draw(self, figure: Callable[[], Any]) -> bool | None:
        """True if drawn there, False if it failed there; None: draw it here instead."""
        proc = self.proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            return None
        try:
            data = pickle.dumps(figure, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - not plain data: the thread draws it
            return None
        try:
            proc.stdin.write(struct.pack("<Q", len(data)) + data)
            proc.stdin.flush()
            answer = proc.stdout.read(1)
        except OSError:
            answer = b""
        if answer == b"":  # the process is gone: from now on the thread draws
            self.close()
            return None
        return answer == b"1"

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            for pipe in (proc.stdin, proc.stdout):
                try:
                    if pipe is not None:
                        pipe.close()
                except OSError:
                    pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()


def _fresh() -> subprocess.Popen[bytes]:
    import nnrun

    # nnrun's own folder first, however this process found it (a checkout, an install)
    path = [str(Path(nnrun.__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": os.pathsep.join(p for p in path if p)}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")  # one core's work
    return subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)


def _one_thread() -> bool:
    """This process runs one thread only, native ones included (a fork copies just the calling
    thread: a lock another thread holds would stay held in the child)."""
    try:
        return threading.active_count() == 1 and len(os.listdir("/proc/self/task")) == 1
    except OSError:  # no /proc: not known, so not safe
        return False


class _Fork:
    """A drawing process forked from this one, with the part of `subprocess.Popen` `_Process`
    uses (`stdin`, `stdout`, `wait`, `kill`). A fork starts drawing at once: importing
    matplotlib and the drawing code in a fresh interpreter costs about a quarter of a CPU-second."""

    def __init__(self, pid: int, stdin: Any, stdout: Any) -> None:
        self.pid, self.stdin, self.stdout = pid, stdin, stdout

    @classmethod
    def start(cls) -> _Fork | None:
        """The fork, or None when forking is not safe here or would gain nothing."""
        if not hasattr(os, "fork") or "nnrun.inspect.plots" not in sys.modules or not _one_thread():
            return None
        jobs_in, jobs_out = os.pipe()
        answers_in, answers_out = os.pipe()
        pid = os.fork()
        if pid == 0:  # the drawing process: never returns into this process's code
            try:
                _drawing_fork(jobs_in, answers_out)
            finally:
                os._exit(0)
        os.close(jobs_in)
        os.close(answers_out)
        return cls(pid, os.fdopen(jobs_out, "wb"), os.fdopen(answers_in, "rb"))

    def wait(self, timeout: float) -> int:
        end = time.monotonic() + timeout
        while True:
            try:
                done, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # already reaped
                return 0
            if done:
                return status
            if time.monotonic() > end:
                raise subprocess.TimeoutExpired(f"drawing process {self.pid}", timeout)
            time.sleep(POLL_SECONDS)

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def _drawing_fork(jobs: int, answers: int) -> None:
    """The forked drawing process: only its two pipes and the standard descriptors kept open
    (as a fresh one is started: the worker's connections are not held open by it), standard
    output sent to standard error, the stop signals ignored, then `nnrun.drawer.serve`."""
    import gc

    from nnrun import drawer

    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in (jobs, answers):
            try:
                os.close(fd)
            except OSError:
                pass
    os.dup2(2, 1)
    drawer.ignore_stop_signals()
    gc.freeze()  # what the worker loaded lives as long as this process: no collector passes over it
    drawer.serve(os.fdopen(jobs, "rb"), os.fdopen(answers, "wb"))


class _Drawer:
    """The process's one drawing thread, started on first use; another thread may `help`."""

    def __init__(self) -> None:
        self._jobs: deque[tuple[Pictures | None, Any]] = deque()
        self._ready = threading.Condition()
        self._helping = 0  # pictures taken by a helping thread and not yet drawn
        self._at_mark = False  # the drawing thread has reached a mark (it waits for the helpers)
        self._thread: threading.Thread | None = None
        self.process: _Process | None = None

    def put(self, owner: Pictures | None, job: Any) -> None:
        with self._ready:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="nnrun-pictures", daemon=True)
                self._thread.start()
            self._jobs.append((owner, job))
            self._ready.notify_all()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._jobs:
                    self._ready.wait()
                owner, job = self._jobs.popleft()
                self._at_mark = isinstance(job, _Mark)  # helpers take nothing more until it is passed
                while self._at_mark and self._helping:  # a picture before the mark is being drawn
                    self._ready.wait()
            if isinstance(job, _Mark):
                try:
                    if job.action is not None:
                        job.action()
                except Exception:  # noqa: BLE001, S110 - the action reports its own failures
                    pass
                finally:
                    with self._ready:
                        self._at_mark = False
                    job.reached.set()
            elif owner is not None:
                owner._draw(job)  # noqa: SLF001 - the owner decides whether to skip it

    def help(self) -> bool:
        """Draw the next queued picture in the calling thread, in this process; False (at once)
        if the next thing queued is not a picture."""
        with self._ready:
            if self._at_mark or not self._jobs or self._jobs[0][0] is None or isinstance(self._jobs[0][1], _Mark):
                return False
            owner, job = self._jobs.popleft()
            self._helping += 1
        try:
            if owner is not None:
                owner._draw(job, here=True)  # noqa: SLF001
        finally:
            with self._ready:
                self._helping -= 1
                self._ready.notify_all()
        return True


_drawer = _Drawer()


def use_process() -> None:
    """Draw this process's pictures in a drawing process from now on (a sweep worker; idempotent)."""
    with _drawer._ready:  # noqa: SLF001
        if _drawer.process is None:
            _drawer.process = _Process()


def stop_process() -> None:
    """Wait for what was handed over, then end the drawing process (it is idle by then)."""
    wait_all()
    process, _drawer.process = _drawer.process, None
    if process is not None:
        process.close()


def help_while(waiting: Callable[[], bool], cores: int = 2) -> None:
    """While `waiting()`, draw queued pictures in the calling thread (a sweep worker waiting for
    its previous point to close: its own core would idle meanwhile, the drawing process is busy).

    `cores`: the cores this process and its drawing process have to themselves (a sweep
    worker's share). With one, drawing here only takes turns with the drawing process for it,
    and costs what a first picture of each kind costs in a process (making its figure: a
    25-point XOR sweep with two workers: 0.8 CPU-s for 16 pictures), so the caller only waits."""
    while waiting():
        if cores < 2 or not _drawer.help():
            time.sleep(POLL_SECONDS / 4)


def wait_all() -> None:
    """Wait until everything handed over so far, by any run of this process, is drawn or
    skipped and every `then` action has run."""
    mark = _Mark()
    _drawer.put(None, mark)
    mark.wait()


class Pictures:
    """One run's pictures: `add` queues them for the drawing thread; `finish` waits for them,
    `then` runs an action after them without waiting."""

    def __init__(self, stopped: Callable[[], bool]) -> None:
        self._stopped = stopped
        self._abort = threading.Event()
        self._count = threading.Lock()
        self.drawn = 0

    def add(self, figures: Iterable[Callable[[], Any]]) -> None:
        """Queue pictures (drawn at once if the thread is free)."""
        for figure in figures:
            _drawer.put(self, figure)

    def _draw(self, figure: Callable[[], Any], here: bool = False) -> None:
        if self._abort.is_set() or self._stopped():
            return
        process = None if here else _drawer.process
        drawn = process.draw(figure) if process is not None else None
        if drawn is None:
            try:
                figure()
                drawn = True
            except Exception:  # noqa: BLE001 - a picture is never worth a run
                drawn = False
        with self._count:
            self.drawn += drawn

    def finish(self) -> None:
        """Wait until every queued picture is drawn or skipped."""
        mark = _Mark()
        _drawer.put(self, mark)
        mark.wait()

    def then(self, action: Callable[[], Any]) -> None:
        """Run `action` in the drawing thread once every picture queued so far is drawn or
        skipped; returns at once (`wait_all` waits for it). `action` reports its own errors."""
        _drawer.put(self, _Mark(action))

    def abort(self) -> None:
        """Skip what is not drawn yet and wait for the picture being drawn (its file is then whole)."""
        self._abort.set()
        self.finish()
