"""Loading TensorFlow with the cyclic collector paused (nnrun.tf_import), in a fresh process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT

CHECK = textwrap.dedent(
    """
    import gc
    from nnrun.tf_import import import_tensorflow, pause_collector

    pause_collector()  # a training command, from its start
    assert not gc.isenabled()
    import pandas  # what data preparation loads before TensorFlow
    assert not gc.isenabled(), "resumed before TensorFlow was loaded"
    tf = import_tensorflow()
    assert gc.isenabled(), "the collector never resumed"
    frozen = gc.get_freeze_count()
    assert frozen > 100_000, frozen  # TensorFlow's objects are out of the collector's sight

    # Later calls (a notebook's next run) freeze nothing more: those runs stay collectable.
    class Cycle:
        pass

    a, b = Cycle(), Cycle()
    a.other, b.other = b, a
    import_tensorflow()
    assert gc.get_freeze_count() == frozen
    del a, b
    assert gc.collect() >= 2

    # A caller who turned the collector off keeps it off.
    gc.disable()
    import_tensorflow()
    assert not gc.isenabled()
    print("ok", tf.__version__)
    """
)


@pytest.mark.slow
def test_collector_paused_while_loading_then_resumed_and_frozen_once() -> None:
    proc = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("ok ")
