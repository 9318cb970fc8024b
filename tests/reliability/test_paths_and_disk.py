"""Output directories that cannot take a run, a disk that fills up during training, run names
and `--out` paths that try to leave the output root, and CSV paths.

What can be known before training (the root is a file, read-only, or nearly full) is a clean
error, exit code 2, before TensorFlow is even loaded, and nothing is created. A disk that
fills up during training ends the run as `failed` with a one-line reason, exit code 1, no
traceback and no half-written file. A real full disk is a small tmpfs (mounting needs root;
elsewhere that variant is skipped) and, everywhere, a per-process file-size limit
(RLIMIT_FSIZE), which makes the kernel refuse writes for real.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from nnrun.cli.app import app
from nnrun.errors import NnrunError
from nnrun.runs.folder import create_run_dir
from nnrun.runs.layout import Status
from nnrun.runs.reader import read_run
from tests.conftest import CONFIGS
from tests.reliability.procs import (
    LONG_XOR,
    assert_every_file_parses,
    finish,
    first_run_with_history,
    run_dirs,
    spawn,
    wait_until,
)


def _train_exits(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    proc = spawn("train", str(CONFIGS / "xor.yaml"), "--set", "training.epochs=3", *args, cwd=tmp_path)
    return finish(proc)


@contextlib.contextmanager
def _tmpfs(path: Path, options: str) -> Iterator[None]:
    """A real small filesystem at `path`, or a skip where this process may not mount one."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


# --- known before training: exit 2, nothing created ----------------------------------------


@pytest.mark.slow
def test_out_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "runs"
    target.write_text("not a folder")
    code, _, err = _train_exits(tmp_path, "--out", str(target))
    assert code == 2, err
    assert "cannot create the output directory" in err and "Traceback" not in err
    assert target.read_text() == "not a folder"


@pytest.mark.slow
def test_out_below_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    code, _, err = _train_exits(tmp_path, "--out", str(tmp_path / "file" / "runs"))
    assert code == 2, err
    assert "cannot create the output directory" in err and "Not a directory" in err


@pytest.mark.slow
def test_out_read_only(tmp_path: Path) -> None:
    target = tmp_path / "readonly"
    if os.geteuid() == 0:  # root writes through permission bits: make the filesystem read-only
        ctx: contextlib.AbstractContextManager = _tmpfs(target, "ro,size=1m")
    else:
        target.mkdir()
        target.chmod(stat.S_IRUSR | stat.S_IXUSR)
        ctx = contextlib.nullcontext()
    with ctx:
        code, _, err = _train_exits(tmp_path, "--out", str(target))
        assert code == 2, err
        assert "is not writable" in err and "Traceback" not in err
        assert list(target.iterdir()) == []


@pytest.mark.slow
def test_nearly_full_disk_is_refused_before_training(tmp_path: Path) -> None:
    target = tmp_path / "small"
    with _tmpfs(target, "size=8m"):
        code, _, err = _train_exits(tmp_path, "--out", str(target))
        assert code == 2, err
        assert "MiB free" in err and "a run needs at least" in err
        assert list(target.iterdir()) == []


# --- a disk that fills up during training: failed, exit 1, every file whole ----------------


def _fill(path: Path, leave: int) -> None:
    """Take all but `leave` bytes of the filesystem holding `path`, in one allocation (never
    less than `leave` free, so the run can still record that it failed)."""
    fd = os.open(path / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for _ in range(100):  # the run writes meanwhile: measure again if it took the space first
            vfs = os.statvfs(path)
            size = vfs.f_bavail * vfs.f_frsize - leave
            try:
                os.posix_fallocate(fd, 0, size)
                return
            except OSError:
                continue
        raise AssertionError("could not fill the test filesystem")
    finally:
        os.close(fd)


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (48 * 1024, 48 * 1024))


@pytest.mark.slow
@pytest.mark.parametrize("how", ["tmpfs", "rlimit_fsize"])
def test_disk_full_during_training_fails_cleanly(tmp_path: Path, how: str) -> None:
    config = tmp_path / "long.yaml"
    config.write_text(LONG_XOR)
    out = tmp_path / "runs"
    args = ("train", str(config), "--set", "training.trainer=graph", "--out", str(out), "-q")
    with _tmpfs(out, "size=64m") if how == "tmpfs" else contextlib.nullcontext():
        if how == "tmpfs":
            proc = spawn(*args)
            wait_until(first_run_with_history(out), proc, "history.csv has a row")
            _fill(out, leave=16 * 1024)  # history.csv soon outgrows what is left
        else:
            proc = spawn(*args, preexec=_limit_file_size)  # history.csv soon outgrows 48 KiB
        code, stdout, stderr = finish(proc)

        assert code == 1, stderr
        assert "Traceback" not in stderr
        assert "the run failed:" in stderr and "status failed" in stderr
        reason = "No space left on device" if how == "tmpfs" else "File too large"
        assert reason in stderr
        (run_dir,) = run_dirs(out)
        files = assert_every_file_parses(run_dir)
        assert not [p for p in run_dir.iterdir() if p.name.startswith(".")], "a temporary file was left"
        record = files["run.json"]
        assert record["status"] == Status.FAILED
        assert record["error"] == {"type": "OSError", "message": record["error"]["message"]}
        assert reason in record["error"]["message"]
        assert record["epochs_run"] >= 1
        assert read_run(run_dir).status == Status.FAILED


@pytest.mark.slow
def test_a_disk_too_full_for_run_json_is_reported_as_readers_will_show_it(tmp_path: Path) -> None:
    """Issue 17.19: with no byte left, run.json cannot say failed; the CLI then says what
    compare and show say (crashed), not "status failed"."""
    config = tmp_path / "long.yaml"
    config.write_text(LONG_XOR)
    out = tmp_path / "runs"
    with _tmpfs(out, "size=64m"):
        proc = spawn("train", str(config), "--set", "training.trainer=graph", "--out", str(out), "-q")
        wait_until(first_run_with_history(out), proc, "history.csv has a row")
        _fill(out, leave=0)
        code, stdout, stderr = finish(proc)
        assert code == 1, stderr
        assert "Traceback" not in stderr
        (run_dir,) = run_dirs(out)
        shown = read_run(run_dir).status
        assert f"status {shown}" in stderr, stderr
        if json.loads((run_dir / "run.json").read_text())["status"] == "running":
            assert shown == Status.CRASHED and "status failed" not in stderr


# --- names and --out paths stay inside the output root ------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "../escape",
        "../../etc",
        "/abs",
        "a/b",
        "..",
        ".",
        ".hidden",
        "-dash",
        "with space",
        "tab\tname",
        "x" * 101,
        "ünï",
        "",
    ],
)
def test_unsafe_run_names_are_refused(tmp_path: Path, name: str) -> None:
    config = tmp_path / "c.yaml"
    data = yaml.safe_load((CONFIGS / "xor.yaml").read_text())
    data["name"] = name
    config.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(app, ["validate", str(config)])
    assert result.exit_code == 2, result.output
    assert "name:" in result.output and "should match pattern" in result.output


@pytest.mark.parametrize("name", ["../x", "a/b", "..", "/abs", ""])
def test_run_folders_are_never_created_outside_the_root(tmp_path: Path, name: str) -> None:
    """The last line of defence, for callers that bypass the spec (a sweep, a library user)."""
    root = tmp_path / "root"
    with pytest.raises(NnrunError, match="single folder name"):
        create_run_dir(root, name)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_name_override_cannot_escape(tmp_path: Path) -> None:
    code, _, err = _train_exits(tmp_path, "--set", "name=../../escape", "--out", "runs")
    assert code == 2 and "name" in err
    assert list(tmp_path.iterdir()) == []  # not even the output root


@pytest.mark.slow
def test_out_with_dotdot_is_resolved_once_and_everything_stays_under_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--out` is the user's choice of root (absolute, relative, `..` allowed); it is resolved once,
    and every file of the run is under <root>/<name>/<run>/."""
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    args = ["train", str(CONFIGS / "xor.yaml"), "--set", "training.epochs=3", "--out", "../elsewhere/../runs", "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (run_dir,) = run_dirs(tmp_path / "runs")
    assert run_dir.parent == tmp_path / "runs" / "xor"
    assert str(run_dir) in result.output
    assert not (tmp_path / "elsewhere").exists()
    assert list((tmp_path / "work").iterdir()) == []
    assert read_run(run_dir).status == Status.COMPLETED


# --- CSV paths: relative to the config, must exist, must be a file --------------------------


def _csv_config(folder_: Path, path: str) -> Path:
    config = folder_ / "csv.yaml"
    data = yaml.safe_load((CONFIGS / "csv_example.yaml").read_text())
    data["data"]["path"] = path
    config.write_text(yaml.safe_dump(data))
    return config


def test_csv_path_is_relative_to_the_config_not_the_cwd(tmp_path: Path) -> None:
    source = yaml.safe_load((CONFIGS / "csv_example.yaml").read_text())["data"]["path"]
    (tmp_path / "data.csv").write_bytes((CONFIGS / source).read_bytes())
    result = CliRunner().invoke(app, ["validate", str(_csv_config(tmp_path, "data.csv"))])
    assert result.exit_code == 0, result.output  # the cwd is the repository, not tmp_path


@pytest.mark.parametrize(("path", "message"), [("missing.csv", "no such file"), ("adir", "not a file")])
def test_csv_path_must_be_an_existing_file(tmp_path: Path, path: str, message: str) -> None:
    (tmp_path / "adir").mkdir()
    result = CliRunner().invoke(app, ["validate", str(_csv_config(tmp_path, path))])
    assert result.exit_code == 2
    assert "data.path" in result.output and message in result.output
    assert str(tmp_path / path) in result.output  # the resolved path, so the user sees where it looked
