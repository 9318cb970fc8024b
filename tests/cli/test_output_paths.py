"""Every user-named output (`-o/--output`, `--plot`, standard output) fails the way `train --out`
does: one clean error line, exit code 2, no traceback, nothing half-written (issue 17.14)."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, child_env, run_cli

pytestmark = pytest.mark.slow  # real nnrun processes


@contextlib.contextmanager
def read_only_dir(path: Path) -> Iterator[Path]:
    """A folder no one may write in: permission bits, or (as root, who ignores them) a read-only tmpfs."""
    path.mkdir(parents=True)
    if os.geteuid() != 0:
        path.chmod(stat.S_IRUSR | stat.S_IXUSR)
        yield path
        path.chmod(stat.S_IRWXU)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot make a read-only folder as root here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def assert_clean_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    assert proc.stderr.splitlines()[-1].startswith("error:"), proc.stderr
    for word in words:
        assert word in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("command", "name"),
    [
        (["compare", "{runs}", "-o"], "table.csv"),
        (["compare", "{runs}", "--plot"], "curves.png"),
        (["report", "{runs}", "-o"], "report.html"),
        (["plot", "activations", "-o"], "activations.png"),
        (["schema", "-o"], "schema.json"),
    ],
    ids=["compare", "compare-plot", "report", "plot-activations", "schema"],
)
def test_a_read_only_folder_is_one_clean_error(made, tmp_path: Path, command: list[str], name: str) -> None:
    args = [a.format(runs=made.root) for a in command]
    with read_only_dir(tmp_path / "ro") as folder:
        proc = run_cli(*args, str(folder / name), cwd=tmp_path)
        assert_clean_error(proc, "cannot write in", str(folder))
        assert list(folder.iterdir()) == []


@pytest.mark.parametrize(
    "command", [["compare", "{runs}", "-o"], ["report", "{runs}", "-o"]], ids=["compare", "report"]
)
def test_an_output_that_is_a_folder_is_refused(made, tmp_path: Path, command: list[str]) -> None:
    proc = run_cli(*[a.format(runs=made.root) for a in command], str(tmp_path), cwd=tmp_path)
    assert_clean_error(proc, "is a folder")


@pytest.mark.parametrize("command", [["schema"], ["compare", "{runs}", "--format", "csv"]], ids=["schema", "compare"])
def test_a_full_standard_output_is_one_clean_error(made, tmp_path: Path, command: list[str]) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "nnrun", *[a.format(runs=made.root) for a in command]],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=child_env(),
            timeout=300,
        )
    assert_clean_error(proc, "No space left on device")
