"""Stop signals: the one place that says which signals stop nnrun and how.

A signal that would end the process (Ctrl-C, `kill`, a closed terminal) asks the run or
the sweep to stop cleanly instead, so that what was trained is kept. Two policies share
the installing and restoring of handlers:

- `RunSignals` (one training run, `nnrun train` / `rerun` / a sweep worker): before the
  run folder exists a signal stops at once (`Interrupted`); once it exists the first signal
  only asks the trainer to stop, and a second SIGINT aborts what is running.
- `SweepSignals` (the sweep's own process): counts signals; the runner stops cleanly after
  the first and kills the workers after the second.

Never imports TensorFlow.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any, Protocol

#: Every signal that nnrun turns into a clean stop (the rest keep their default action):
#: Ctrl-C, `kill`, a closed terminal or dropped SSH session (SIGHUP), Ctrl-\ (SIGQUIT).
STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def leave_to_parent() -> None:
    """In a sweep's worker process: ignore the stop signals that reach the whole process group
    (Ctrl-C, a closed terminal, Ctrl-\\); the sweep process decides and sends SIGTERM."""
    for s in STOP_SIGNALS:
        if s != signal.SIGTERM:
            signal.signal(s, signal.SIG_IGN)


class Interrupted(KeyboardInterrupt):
    """A signal arrived before the run folder existed: nothing was written, nothing to keep."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class Stoppable(Protocol):
    """What a stop request is delivered to (`nnrun.train.base.Hooks`)."""

    stop_requested: bool


class _Handlers:
    """Install `_handle` for the stop signals on enter (main thread only) and restore on exit.

    With `keep_ignored`, a signal that the parent process ignores (a sweep worker's SIGINT,
    `nohup`'s SIGHUP) stays ignored.
    """

    keep_ignored = True

    def __init__(self) -> None:
        self.previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        if threading.current_thread() is threading.main_thread():
            for s in STOP_SIGNALS:
                if self.keep_ignored and signal.getsignal(s) is signal.SIG_IGN:
                    continue
                self.previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for s, h in self.previous.items():
            signal.signal(s, h)
        self.previous.clear()


class RunSignals(_Handlers):
    """The stop signals for the whole of one run, in two phases.

    Before the run folder exists there is nothing to keep, so a signal stops at once
    (`Interrupted`). Once it exists (`keep = True`) the first signal only asks to stop (the
    trainer stops after its current step, or training is skipped if it has not begun, or the
    evaluation finishes) and the run ends as `interrupted`; a second SIGINT aborts what is
    running (KeyboardInterrupt), after which the few writes that close the run are not
    interrupted again (`aborting = True`).
    """

    def __init__(self) -> None:
        super().__init__()
        self.target: Stoppable | None = None
        self.keep = False
        self.aborting = False
        self.received: int | None = None
        self.closed = False
        #: A signal that arrived after `close()` (it skips what is left, e.g. the figures).
        self.late: int | None = None

    def close(self) -> None:
        """The run's status is final: from now on a signal is only noted in `late`."""
        self.closed = True

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.closed:
            self.late = self.late or signum
            return
        if self.aborting:
            return
        if not self.keep:
            self.received = signum
            raise Interrupted(signum)
        if self.received is not None and signum == signal.SIGINT:
            self.aborting = True
            raise KeyboardInterrupt
        self.received = self.received or signum
        if self.target is not None:
            self.target.stop_requested = True

    def attach(self, target: Stoppable) -> None:
        """Deliver stop requests to `target` from now on (and at once if one came already)."""
        self.target = target
        if self.received is not None:
            target.stop_requested = True

    def __enter__(self) -> RunSignals:
        return super().__enter__()


class StopAtCheckpoints(_Handlers):
    """Every stop signal is remembered and `check()` raises it as `Interrupted` (a
    KeyboardInterrupt) at the next safe point, so that SIGTERM or a closed terminal cleans up
    exactly as Ctrl-C does (`export mlflow`). The handler itself never raises: an exception
    raised inside a library's finalizer or weakref callback would be swallowed (and printed).
    """

    def __init__(self) -> None:
        super().__init__()
        self.received: int | None = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = self.received or signum

    def check(self) -> None:
        if self.received is not None:
            raise Interrupted(self.received)

    def __enter__(self) -> StopAtCheckpoints:
        return super().__enter__()


class SweepSignals(_Handlers):
    """The stop signals while a sweep runs: the runner reads `count`."""

    # the sweep's own process always listens (it is the one the user talks to)
    keep_ignored = False

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1

    def __enter__(self) -> SweepSignals:
        return super().__enter__()
