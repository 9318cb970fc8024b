"""The fork server's preload (nnrun/sweep/preload.py) loads the libraries but never starts
TensorFlow's runtime: a worker forked from it must still be able to size its thread pools."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = """
import nnrun.sweep.preload
from tensorflow.python.eager import context
assert context.context()._context_handle is None, "the fork server started TensorFlow's runtime"
import os
pid = os.fork()
if pid == 0:  # what a worker does first: its own thread pools, then ops
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(1)
    assert tf.config.threading.get_intra_op_parallelism_threads() == 1
    assert float(tf.reduce_sum(tf.ones([3]))) == 3.0
    os._exit(0)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0
print("ok")
"""


@pytest.mark.slow
def test_preload_leaves_the_runtime_to_each_worker() -> None:
    proc = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"
    assert "tensorflow" not in proc.stderr.lower(), proc.stderr  # loaded quietly


ENDING = """
import atexit, os, sys
atexit.register(print, "the ordinary ending")  # runs after (LIFO) the server's own ending, if at all
os.environ["NNRUN_SWEEP_FORK_SERVER"] = "1"
import nnrun.sweep.preload
from nnrun.sweep.local import SERVER_ENV
assert SERVER_ENV == "NNRUN_SWEEP_FORK_SERVER" and SERVER_ENV not in os.environ  # forks do not inherit it
print("loaded")
"""


@pytest.mark.slow
def test_the_fork_server_ends_without_freeing_tensorflow() -> None:
    proc = subprocess.run([sys.executable, "-c", ENDING], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["loaded"]  # flushed, and os._exit before any other ending


SURVIVES = """
import multiprocessing as mp, os, signal, time
from multiprocessing import forkserver
from nnrun.sweep.local import LocalBackend

backend = LocalBackend(1, 1)
backend.launch()
first = backend.ctx.Process(target=time.sleep, args=(0,))
first.start()  # returns once the server has loaded everything and forked
first.join()
server = forkserver._forkserver._forkserver_pid
for number in (signal.SIGHUP, signal.SIGTERM, signal.SIGQUIT, signal.SIGINT):
    os.kill(server, number)  # what a closed terminal or a group signal sends it
time.sleep(0.5)
assert os.waitpid(server, os.WNOHANG) == (0, 0), "the fork server died of a stop signal"
second = backend.ctx.Process(target=time.sleep, args=(0,))
second.start()
second.join()
assert second.exitcode == 0, second.exitcode
print("ok")
"""


@pytest.mark.slow
def test_the_fork_server_outlives_the_stop_signals_sent_to_the_group() -> None:
    """A stop signal for the whole process group is the sweep's to act on: if it ended the
    server, the sweep would read every worker as dead and mark its points failed."""
    proc = subprocess.run([sys.executable, "-c", SURVIVES], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"
