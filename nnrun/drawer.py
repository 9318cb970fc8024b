"""A sweep worker's drawing process (`nnrun.experiment.pictures.use_process`): it draws the
pictures handed to it as pickled calls (a `functools.partial` of a plot function and its
data), one after another, and answers each with b"1" (drawn) or b"0" (failed).

It ignores the terminal's stop signals (the worker decides) and ends at the end of its input
(when the worker closes it or dies). Forked from a worker that has the drawing code loaded
(a fork of the sweep's fork server, before any thread started), it draws at once (`serve`);
started as a fresh interpreter (`main`), it loads matplotlib and the drawing code first
(`load`). Either way it never runs TensorFlow: a fork shares the worker's loaded modules but
was made before any TensorFlow op, so none of its runtime exists there.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
from typing import BinaryIO


def load() -> None:
    """Import matplotlib and nnrun's drawing code. Nothing here reads a docstring or draws in
    3-D: matplotlib's Artist classes would each build the docstring of their `set` from every
    property (kwdoc), and its projections import mplot3d; skipping both is a fifth of a fresh
    drawing process's start."""
    import matplotlib.artist

    if hasattr(matplotlib.artist, "kwdoc"):
        matplotlib.artist.kwdoc = lambda artist: ""
    sys.modules.setdefault("mpl_toolkits.mplot3d", None)  # type: ignore[arg-type]
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Unable to import Axes3D")
        import matplotlib.figure  # noqa: F401
    import nnrun.inspect.plots  # noqa: F401
    import nnrun.plots  # noqa: F401


def ignore_stop_signals() -> None:
    """The terminal's stop signals are the worker's to act on; any other signal the process
    inherited a Python handler for gets its default action, as after an exec."""
    for number in (signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(number, signal.SIG_IGN)
    for number in signal.valid_signals():
        try:
            if callable(signal.getsignal(number)):
                signal.signal(number, signal.SIG_DFL)
        except (OSError, ValueError):  # not a signal one may set
            continue


def serve(jobs: BinaryIO, answers: BinaryIO) -> None:
    """Draw each pickled call read from `jobs` (its length, then its bytes) until the end of
    input, answering each on `answers`."""
    while len(head := jobs.read(8)) == 8:
        try:
            pickle.loads(jobs.read(struct.unpack("<Q", head)[0]))()
            answer = b"1"
        except Exception:  # noqa: BLE001 - a picture is never worth a run
            answer = b"0"
        answers.write(answer)
        answers.flush()


def main() -> None:
    """A fresh drawing process: calls on standard input, answers on the descriptor that was
    standard output (whatever prints goes to standard error, the worker's log)."""
    import gc

    gc.disable()  # as nnrun.tf_import.collector_paused: load the drawing code without useless passes
    try:
        load()
    except Exception:  # noqa: BLE001, S110 - each picture's own unpickling says what is missing
        pass
    gc.freeze()
    gc.enable()
    ignore_stop_signals()
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, answers)
