"""Import TensorFlow and Keras without their C++ start-up chatter.

TensorFlow 2.21 logs through absl before `TF_CPP_MIN_LOG_LEVEL` takes effect, so the
only reliable way to keep a CLI's terminal clean is to point file descriptor 2 elsewhere
while the libraries load. What they printed is replayed if the import fails.
"""

from __future__ import annotations

import contextlib
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


def import_tensorflow() -> ModuleType:
    """`import tensorflow` (and keras), silently, once per process."""
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return sys.modules["tensorflow"]
    if not verbose():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with quiet_stderr():
        import keras  # noqa: F401
        import tensorflow as tf

        tf.constant(1.0) + 1.0  # the first op loads the CPU kernels, which log too
    return tf
