"""`nnrun train a.yaml b.yaml 'c*.yaml'`: several configs in one process, one line each, worst exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnrun.runs.match import compare_runs
from nnrun.runs.reader import read_run
from tests.conftest import CONFIGS, run_cli

BAD = "name: bad\nmodel: 3\n"


def _runs(root: Path) -> dict[str, Path]:
    return {p.parent.parent.name: p.parent for p in root.glob("*/*/run.json")}


@pytest.mark.slow
def test_several_configs_one_process_a_bad_one_does_not_stop_the_others(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    out = tmp_path / "runs"
    glob = str(CONFIGS / "xor*.yaml")  # quoted: nnrun expands it (xor.yaml, xor_sgd.yaml)
    result = run_cli(
        "train", str(CONFIGS / "and.yaml"), str(bad), glob, "--out", str(out), "--set", "training.epochs=3"
    )
    assert result.returncode == 2, result.stderr  # the worst: the bad config
    assert "bad.yaml:2: model" in result.stderr
    runs = _runs(out)
    assert sorted(runs) == ["and", "xor", "xor-sgd"]
    for name, run_dir in runs.items():
        assert read_run(run_dir).status == "completed"
        assert ": completed, " in result.stdout and f"({run_dir})" in result.stdout, name
    assert len(result.stdout.strip().splitlines()) == 3  # one result line per config that trained

    # A config trained after another one in the same process gives what a fresh process gives.
    alone = tmp_path / "alone"
    fresh = run_cli("train", str(CONFIGS / "xor.yaml"), "--out", str(alone), "--set", "training.epochs=3", "-q")
    assert fresh.returncode == 0, fresh.stderr
    match = compare_runs(_runs(alone)["xor"], runs["xor"])
    assert match.epochs == 3 and not match.differences, [d.line() for d in match.differences]


@pytest.mark.slow
def test_fail_fast_stops_at_the_first_failure(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    out = tmp_path / "runs"
    result = run_cli("train", str(bad), str(CONFIGS / "and.yaml"), "--fail-fast", "--out", str(out))
    assert result.returncode == 2
    assert "--fail-fast: not trained: " in result.stderr and "and.yaml" in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_a_glob_that_matches_nothing_is_refused(tmp_path: Path) -> None:
    from nnrun.cli.train import config_paths
    from nnrun.errors import NnrunError

    with pytest.raises(NnrunError, match="no config file matches"):
        config_paths([tmp_path / "nothing*.yaml"])
    (tmp_path / "b.yaml").write_text("x")
    (tmp_path / "a.yaml").write_text("x")
    assert config_paths([tmp_path / "*.yaml", tmp_path / "a.yaml"]) == [
        tmp_path / "a.yaml",
        tmp_path / "b.yaml",
        tmp_path / "a.yaml",
    ]
