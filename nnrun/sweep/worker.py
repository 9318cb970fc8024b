"""What runs inside a worker process: set up TensorFlow once, then train points one after another.

Both backends call `setup` once per process and `run_point` once per point. Each point gets
its own seed, its own freshly built model and its own run folder, and Keras's global state
(layer names) is dropped after each point. The points of one architecture share one model
and one traced training loop (`nnrun.train.warm`, enabled by `setup`): a point copies its
freshly built model's state into the kept one, so it is the run a fresh process makes, without
tracing the loop again.

Tracing is also what made a worker's memory grow: with Keras 3.15 / TensorFlow 2.21 every
traced loop stays alive (about 3-4 MiB for the XOR MLP), held by a reference cycle through
TensorFlow's C++ graph that Python's collector cannot see. Kept loops bound that to one trace
per architecture; a sweep over many architectures still grows, so each point reports the
worker's resident memory, and the backends replace a worker once it has grown too much
(`local.RECYCLE_GROWTH_MIB`; Ray's `max_calls`), at the cost of one TensorFlow import per
recycled worker.
"""

from __future__ import annotations

import gc
import os
import resource
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from nnrun.runs.layout import Status
from nnrun.spec.loader import Document

_READY = False
#: TensorFlow's inter-op pool runs asynchronous kernels; with one thread, an asynchronous op
#: inside a nested function (the graph trainer's loop with early stopping) waits for a thread
#: that is the one waiting, and the worker hangs. The intra-op pool (the arithmetic) is what
#: the thread budget shares between workers; the inter-op threads mostly wait.
MIN_INTER_OP_THREADS = 2
_FROZEN = False


@dataclass
class Task:
    """Everything a worker needs to train one point; plain data, so it pickles for any backend."""

    index: int
    doc: Document
    base: str
    config_path: str | None
    run_dir: str
    command: list[str]
    record_extra: dict[str, Any] = field(default_factory=dict)


def thread_budget(workers: int, cores: int | None = None) -> int:
    """Threads per worker so that `workers` processes together use the cores once."""
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, workers))


def setup(threads: int) -> None:
    """Import TensorFlow once with thread pools of `threads` threads; idempotent per process.

    The limits must be set before TensorFlow creates its runtime (its first op), hence
    the environment variables before the import and the `tf.config.threading` calls
    before the first op.
    """
    global _READY
    if _READY:
        return
    inter_op = max(MIN_INTER_OP_THREADS, threads)
    for var in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = str(inter_op)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from nnrun.tf_import import import_tensorflow, quiet_stderr

    with quiet_stderr():
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(inter_op)
        except RuntimeError:  # the runtime already exists (TensorFlow was used before setup)
            pass
    import_tensorflow()
    from nnrun.train import warm

    warm.enable()
    _READY = True


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else ""
    if len(text.splitlines()) > 1 and type(exc).__name__ == "SpecError":
        line = text.replace("\n", "; ")
    return f"{type(exc).__name__}: {line}"[:500] if line else type(exc).__name__


def run_point(task: Task, deliver: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Train one point into `task.run_dir`; never raises, the outcome says what happened.

    Without `deliver`, returns once the point's folder is final. With it, a point that gets as
    far as its pictures returns while they are still being drawn (`result["final"]` False) and
    `deliver(result)` is called from the drawing thread once run.json has its final status;
    any other point is final when this returns, and `deliver` is not called.
    (`nnrun.experiment.lifecycle.wait_closed` waits for every delivery.)
    """
    from nnrun.experiment import execute, prepare_loaded, release_session
    from nnrun.spec.parse import parse
    from nnrun.train import warm

    run_dir = Path(task.run_dir)
    result: dict[str, Any] = {"index": task.index, "run_dir": str(run_dir), "pid": os.getpid(), "final": True}

    def then(outcome: Any) -> None:  # in the drawing thread, once the point's folder is final
        deliver(_measured({**result, **_outcome_fields(outcome)}))  # type: ignore[misc]

    try:
        spec = parse(task.doc)
        prepared = prepare_loaded(spec, task.doc, Path(task.base), Path(task.config_path) if task.config_path else None)
        run_dir.mkdir(parents=True, exist_ok=False)
        outcome = execute(
            prepared,
            run_dir.parent,
            command=task.command,
            run_dir=run_dir,
            record_extra=task.record_extra,
            then=then if deliver is not None else None,
        )
        result.update(_outcome_fields(outcome))
    except KeyboardInterrupt:  # Ray's cancel outside training: nothing half-done to keep
        result.update(status=Status.INTERRUPTED)
    except BaseException as exc:  # noqa: BLE001 - a failed point is recorded; the sweep goes on
        result.update(status=Status.FAILED, error=_first_line(exc))
        # the whole traceback goes to the worker's log (<sweep>/.logs/worker-<n>.log)
        print(f"point {task.index} failed ({run_dir}):", file=sys.stderr)
        traceback.print_exception(exc, file=sys.stderr)
        sys.stderr.flush()
    finally:
        if run_dir.is_dir() and not any(run_dir.iterdir()):
            run_dir.rmdir()  # stopped before the run began: leave no empty folder
        release_session()
        if warm.enabled():
            _freeze()
    return _measured(result)


def _outcome_fields(outcome: Any) -> dict[str, Any]:
    fields = {
        "status": outcome.status,
        "epochs_run": outcome.record.get("epochs_run"),
        "train_seconds": outcome.record.get("train_seconds"),
        "final": outcome.final,
    }
    error = outcome.record.get("error")
    if outcome.status == Status.FAILED and isinstance(error, dict):
        fields["error"] = f"{error.get('type')}: {error.get('message')}"
    return fields


def _measured(result: dict[str, Any]) -> dict[str, Any]:
    result["peak_rss_mib"] = peak_rss_mib()
    result["rss_mib"] = rss_mib()
    return result


def _freeze() -> None:
    """After a warm worker's first point, what it has imported and kept (TensorFlow, Keras,
    matplotlib, the first kept model) stays for the life of the process: `gc.freeze` takes
    those objects out of the collector's sight, so the full collection after each later point
    looks only at what that point made (milliseconds instead of 0.3-0.9 s) and memory stays flat."""
    global _FROZEN
    if not _FROZEN:
        gc.freeze()
        _FROZEN = True


def rss_mib() -> float:
    """This process's resident memory now (Linux /proc; the peak elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return peak_rss_mib()
    return round(pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024), 1)


# --- the local backend's worker process -------------------------------------------------------

_stop_requested = False


def _on_term(signum: int, frame: Any) -> None:
    global _stop_requested
    _stop_requested = True


def _die_with_parent() -> None:
    """If the sweep process is killed outright, its workers get SIGTERM (Linux): a running point
    stops as `interrupted` instead of training on for nobody."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def serve(conn: Any, threads: int, log_path: str | None) -> None:
    """A local worker's main loop: receive a `Task`, send back its result, until told to stop.

    Ctrl-C (or a closed terminal) reaches every process of the group: the worker ignores it
    and leaves the decision to the parent, which sends SIGTERM to ask a running point to
    stop after its current step (execute() turns it into an `interrupted` run).

    It tells the sweep process `("started", index)` when a point begins, `("free", index,
    rss_mib)` when the point has trained and only its pictures are left (they are drawn in the
    background while the worker takes the next point) and `("done", result)` once the point's
    folder is final. Before it exits, on any path, it waits for every point it took to be final.
    """
    from nnrun.signals import leave_to_parent
    from nnrun.tf_import import pause_collector

    pause_collector()  # until setup() has loaded TensorFlow
    leave_to_parent()
    signal.signal(signal.SIGTERM, _on_term)
    _die_with_parent()
    if log_path:
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    from nnrun.experiment import pictures

    pictures.use_process()  # a point's pictures are drawn there while the next point trains
    try:
        setup(threads)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which stops the sweep
        conn.send(("setup_failed", _first_line(exc)))
        return
    from nnrun.experiment.lifecycle import wait_closed

    conn.send(("ready", os.getpid()))

    lock = threading.Lock()  # the drawing thread sends too

    def send(message: Any) -> None:
        with lock:
            conn.send(message)

    previous: threading.Event | None = None
    try:
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):
                return
            if task is None:
                break
            send(("started", task.index))
            closed = threading.Event()
            result = run_point(task, partial(_deliver, send, closed))
            if result["final"]:
                send(("done", result))
                continue
            # Its pictures are being drawn: take the next point meanwhile, once the point
            # before this one is final (never more than one point closing behind the one training).
            if previous is not None:
                pictures.help_while(lambda: not previous.is_set(), threads)  # noqa: B023 - called here, at once
            previous = closed
            send(("free", task.index, rss_mib()))
    except (BrokenPipeError, OSError):  # the sweep process is gone
        return
    finally:
        wait_closed()  # every point this worker took is final before it goes
        pictures.stop_process()
    # Every result has been sent and every file written; skip the interpreter's
    # teardown, which takes seconds once TensorFlow is loaded.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _deliver(send: Callable[[Any], None], closed: threading.Event, result: dict[str, Any]) -> None:
    """Called from the drawing thread once a point's folder is final: report it to the sweep."""
    try:
        send(("done", result))
    except (BrokenPipeError, OSError):  # the sweep process is gone; the folder says it all
        pass
    finally:
        closed.set()


# --- the Ray backend's task ---------------------------------------------------------------------


def ray_task(task: Task, threads: int) -> dict[str, Any]:
    """One point as a Ray task; Ray reuses its worker processes, so `setup` runs once per process."""
    setup(threads)
    return run_point(task)
