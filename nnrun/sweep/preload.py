"""What the local backend's fork server loads once, for every worker it forks.

Each worker used to start as a fresh interpreter (`spawn`) and import TensorFlow itself: about
2.3 CPU-seconds a worker, two at once on two cores, before either trained anything. The fork
server (multiprocessing's `forkserver`) imports this module once, while the sweep process is
still reading the config and making its folder; each worker is then a fork of it, with
TensorFlow and Keras already imported and shared copy-on-write.

It only imports: no TensorFlow op runs here, so TensorFlow's runtime (its thread pools) does
not exist yet when a worker is forked, and each worker sizes its own pools (`worker.setup`)
before its first op, as a spawned worker did. What is loaded is frozen out of the collector's
sight (`gc.freeze`), as `nnrun.tf_import` does in any process that loads TensorFlow.

The server ends when the sweep process does, having written nothing: in the server (told by
`local.SERVER_ENV`, which its workers do not inherit) it ends then with `os._exit`, without
freeing TensorFlow's modules (0.1-0.3 s, which a benchmark or the next command would wait for).
The workers it forks never run it: multiprocessing ends each with `os._exit`.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys

from nnrun.signals import STOP_SIGNALS
from nnrun.sweep.local import SERVER_ENV
from nnrun.tf_import import collector_paused, quiet_stderr

if os.environ.get(SERVER_ENV):
    # The server lives exactly as long as the sweep process. A stop signal sent to the whole
    # process group (a closed terminal, Ctrl-\, a group SIGTERM) is the sweep's to act on:
    # had it ended the server, every worker would look dead to the sweep (multiprocessing
    # reads a worker's exit through the server) and its points would be marked failed instead
    # of interrupted. Its workers inherit this and then set their own (`worker.serve`).
    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The libraries, then what every point of every worker runs: loaded once here, not once a worker.
with quiet_stderr(), collector_paused():
    import keras  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import sklearn.model_selection  # noqa: F401
    import sklearn.preprocessing  # noqa: F401
    import tensorflow  # noqa: F401

    import nnrun.build.model  # noqa: F401
    import nnrun.experiment  # noqa: F401
    import nnrun.experiment.history  # noqa: F401
    import nnrun.inspect.recorder  # noqa: F401
    import nnrun.inspect.replay  # noqa: F401
    import nnrun.sweep.worker  # noqa: F401
    import nnrun.train.evaluate  # noqa: F401
    import nnrun.train.forward  # noqa: F401
    import nnrun.train.graph  # noqa: F401
    import nnrun.train.warm  # noqa: F401


def _end() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(0)


if os.environ.pop(SERVER_ENV, None):
    atexit.register(_end)
