"""Import TensorFlow and Keras without their C++ start-up chatter.

TensorFlow 2.21 logs through absl before `TF_CPP_MIN_LOG_LEVEL` takes effect, so the
only reliable way to keep a CLI's terminal clean is to point file descriptor 2 elsewhere
while the libraries load. What they printed is replayed if the import fails.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import tempfile
from collections.abc import Iterator
from types import ModuleType

#: Set to 1 (`nnrun --verbose ...`) to let TensorFlow's log lines through.
VERBOSE_ENV = "NNRUN_VERBOSE"


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    if verbose():
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (e.g. under some test runners)
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


#: Threads per op asked for before the runtime starts (`request_intra_op_threads`).
_intra_op_threads: int | None = None


def request_intra_op_threads(threads: int | None) -> None:
    """Give each op `threads` threads (None: TensorFlow's default, one per core) when
    `import_tensorflow` starts the runtime; no effect once it has (`nnrun.train.threads`)."""
    global _intra_op_threads
    _intra_op_threads = threads


def import_tensorflow() -> ModuleType:
    """`import tensorflow` (and keras), silently, once per process."""
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        _resume()  # nothing is loading: freeze nothing (a notebook's later runs must stay collectable)
        return sys.modules["tensorflow"]
    if not verbose():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with quiet_stderr(), collector_paused():
        import keras  # noqa: F401
        import tensorflow as tf

        if _intra_op_threads is not None:
            with contextlib.suppress(RuntimeError):  # the runtime exists: TensorFlow was used before
                tf.config.threading.set_intra_op_parallelism_threads(_intra_op_threads)
        tf.constant(1.0) + 1.0  # the first op loads the CPU kernels, which log too
    return tf


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a large library loads, then freeze what
    is alive (`gc.freeze`: out of the collector's sight for the life of the process).

    The collector runs a full pass over every live object whenever enough new ones have piled
    up; importing TensorFlow and Keras creates about a million objects, nearly all of them
    kept for good, so a plain import spends about 40 % of its CPU in passes that find nothing
    to free, and every later import or run pays again for a full pass over them. Objects freed
    by reference counting are freed as usual meanwhile; only cycles made while loading wait."""
    global _PAUSED
    collecting = gc.isenabled() or _PAUSED
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        _PAUSED = False
        if collecting:
            gc.enable()


#: Set by `pause_collector`: the collector is off until TensorFlow has loaded.
_PAUSED = False


def pause_collector() -> None:
    """For a command that is about to train: pause the cyclic collector from now until
    `import_tensorflow` has loaded TensorFlow (then the loaded objects are frozen and the
    collector resumes). pandas and scikit-learn load first, while the data is prepared, and
    would pay for the same useless passes."""
    global _PAUSED
    if gc.isenabled():
        gc.disable()
        _PAUSED = True


def _resume() -> None:
    global _PAUSED
    if _PAUSED:
        _PAUSED = False
        gc.enable()
