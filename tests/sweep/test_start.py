"""Starting a sweep: what the workers need starts loading before the data are checked, and a
bad check still leaves nothing behind."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from nnrun.errors import SpecError
from nnrun.sweep import start
from nnrun.sweep.local import LocalBackend
from tests.conftest import CONFIGS

#: It starts the fork server (which loads TensorFlow) and loads scikit-learn to check the data.
pytestmark = pytest.mark.slow


def test_bad_data_after_the_launch_creates_nothing_and_starts_no_worker(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "fruit.yaml"
    config.write_text((CONFIGS / "csv_example.yaml").read_text())  # its data/fruit.csv is not there
    launched: list[LocalBackend] = []
    launch = LocalBackend.launch

    def remembered(self: LocalBackend) -> None:
        launched.append(self)
        launch(self)

    monkeypatch.setattr(LocalBackend, "launch", remembered)
    with pytest.raises(SpecError, match="no such file"):
        start.new(config, "0.01,0.1", [], None, None, [], tmp_path / "runs", ["nnrun"], start.Execution(workers=2))
    (backend,) = launched  # launched before the data were checked
    assert backend.workers == []
    assert multiprocessing.active_children() == []
    assert not (tmp_path / "runs").exists()
