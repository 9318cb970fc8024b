"""The verdicts on a run's internals and its pictures in show, compare and report."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from nnrun.experiment import execute, prepare_experiment
from tests.compare.conftest import MadeRuns, rows_of
from tests.conftest import CONFIGS


@pytest.fixture(scope="module")
def deep_sigmoid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    prepared = prepare_experiment(CONFIGS / "deep_sigmoid.yaml", ["training.epochs=6"])
    return execute(prepared, tmp_path_factory.mktemp("deep"), command=["test"]).run_dir


@pytest.mark.slow
def test_show_prints_the_verdict_and_the_picture_paths(deep_sigmoid: Path, made: MadeRuns, nnrun) -> None:
    code, out, err = nnrun("show", deep_sigmoid)
    assert code == 0, err
    facts = out.split("config (what differs")[0]
    assert "internals" in facts and "vanishing gradients from epoch 1" in facts
    pictures = out.split("\npictures\n")[1].split("\nfiles\n")[0].split()
    for name in ("gradients.png", "activations.png", "weights.png", "boundary.png", "boundary_epochs.png"):
        assert str(deep_sigmoid / name) in pictures
    code, out, _ = nnrun("show", made.completed["sgd"])
    assert "no problem seen" in out.split("config (what differs")[0]


@pytest.mark.slow
def test_compare_has_an_internals_column(deep_sigmoid: Path, made: MadeRuns, nnrun) -> None:
    code, out, err = nnrun("compare", deep_sigmoid, made.completed["sgd"], "--format", "csv")
    assert code == 0, err
    rows = {Path(r["dir"]).name if "dir" in r else r["run"]: r for r in rows_of(out)}
    assert rows[deep_sigmoid.name]["internals"] == "vanishing gradients (e1)"
    assert rows[made.completed["sgd"].name]["internals"] == "none"
    code, out, _ = nnrun(
        "compare", deep_sigmoid, made.completed["sgd"], "--filter", "internals=vanishing*", "--format", "csv"
    )
    assert code == 0 and len(rows_of(out)) == 1


@pytest.mark.slow
def test_report_shows_the_verdict_and_every_picture_inline(deep_sigmoid: Path, nnrun, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    code, _, err = nnrun("report", deep_sigmoid, "--output", page)
    assert code == 0, err
    html = page.read_text()
    assert "vanishing gradients from epoch 1" in html
    for name in ("gradients.png", "activations.png", "weights.png", "boundary.png", "boundary_epochs.png"):
        png = base64.b64encode((deep_sigmoid / name).read_bytes()).decode("ascii")
        assert png in html, name
