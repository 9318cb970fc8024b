"""A report of 50 XOR runs (about 370 kB of PNG each, 18 MB in all) stays under its stated page
budget, with the pictures a reader most needs embedded for every run (the loss curve, then the
results: confusion matrix and decision regions, then the accuracy curve) and the insides
(gradients, activations, weights, the regions over epochs) linked to their files.

The runs are one real XOR training copied to 50 run folders: the report reads folders, and
the PNG bytes are what decide the page's size."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nnrun.compare import budget
from nnrun.compare.budget import Picture, plan
from tests.conftest import CONFIGS

RUNS = 50


@pytest.fixture(scope="module")
def fifty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from nnrun.experiment import execute, prepare_experiment

    root = tmp_path_factory.mktemp("fifty")
    first = execute(prepare_experiment(CONFIGS / "xor.yaml", []), root / "made", command=["t"])
    for i in range(RUNS):
        copy = shutil.copytree(first.run_dir, root / "runs" / "xor" / f"20260101-0000{i:02d}-abc{i:03d}")
        record = json.loads((copy / "run.json").read_text())
        record["id"] = copy.name
        (copy / "run.json").write_text(json.dumps(record))
    return root / "runs"


@pytest.mark.slow
def test_fifty_xor_runs_stay_under_the_page_budget_with_what_matters_inside(fifty: Path) -> None:
    from nnrun.compare import collect
    from nnrun.compare.report import build_report

    runs, _ = collect([fifty])
    assert len(runs) == RUNS
    pngs = sum(p.stat().st_size for p in fifty.rglob("*.png"))
    assert pngs > 3 * budget.PAGE_BYTES / 2  # all of them would not fit (about 18 MB)
    page = build_report(runs, title="fifty")
    assert len(page.encode()) < budget.PAGE_BYTES, len(page.encode())
    for name in ("loss.png", "confusion_matrix.png", "boundary.png", "accuracy.png"):
        assert page.count(f'alt="xor: {name}"') == RUNS, name
    linked = 0
    for name in ("gradients.png", "activations.png", "weights.png", "boundary_epochs.png"):
        shown, links = page.count(f'alt="xor: {name}"'), page.count(f'/{name}">{name}</a>')
        assert shown + links == RUNS, name  # each run's is either inside or linked to its file
        linked += links
    assert linked >= RUNS  # the insides are what gives way
    assert f"{linked} pictures (insides) are linked to their run folders instead of embedded" in page


def _pictures(names: list[str], size: int = 100) -> list[Picture]:
    return [Picture(name, b"x" * size, Path(name)) for name in names]


def test_the_budget_fills_rank_by_rank_and_never_skips_one() -> None:
    runs = [_pictures(["loss.png", "gradients.png", "confusion_matrix.png", "accuracy.png"]) for _ in range(3)]
    chosen = plan(runs, budget=750)  # loss x3, results x3, then only one of three curves would fit
    names = [[p.name for p in run] for run in chosen.embedded]
    assert names == [
        ["loss.png", "confusion_matrix.png", "accuracy.png"],
        ["loss.png", "confusion_matrix.png"],
        ["loss.png", "confusion_matrix.png"],
    ]
    assert chosen.spent == 700 and chosen.cut == [budget.CURVES, budget.INSIDE]
    assert all(any(p.name == "gradients.png" for p in run) for run in chosen.linked)


def test_insides_of_runs_with_a_verdict_come_first() -> None:
    runs = [_pictures(["gradients.png"]) for _ in range(3)]
    chosen = plan(runs, budget=100, concerned=[False, False, True])
    assert [len(run) for run in chosen.embedded] == [0, 0, 1]


def test_everything_fits_nothing_is_cut() -> None:
    runs = [_pictures(["loss.png", "weights.png"])]
    chosen = plan(runs, budget=10_000)
    assert chosen.cut == [] and chosen.linked == [[]] and len(chosen.embedded[0]) == 2
