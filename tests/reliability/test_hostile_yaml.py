"""Hostile and broken configs: code-running tags, alias bombs, deep nesting, huge numbers and
strings, wrong types everywhere, binary garbage, empty files, lists at the top level.

Each one is a clear `SpecError` (exit code 2 from the CLI, one message per problem, no
traceback), nothing is executed, and memory stays bounded: the CLI runs in a child process
whose address space is capped, and in-process the peak of Python allocations is measured.
How long each takes is measured in benchmarks/bench_hostile_yaml.py, not here.
"""

from __future__ import annotations

import resource
import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnrun.cli.app import app
from nnrun.errors import SpecError
from nnrun.experiment import prepare_experiment
from tests.conftest import CONFIGS, run_cli
from tests.reliability.hostile import HOSTILE
from tests.reliability.procs import HANG_SECONDS, WIDE

#: The child's whole address space (Python, NumPy, pandas, pydantic mapped in): a bomb that
#: expanded would hit it and die with MemoryError instead of a clean message.
ADDRESS_SPACE = 3 * 2**30
#: Python allocations while rejecting one hostile file.
PEAK_BYTES = 32 * 2**20


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Every hostile file written once; `{marker}` points at a file nothing may create."""
    folder = tmp_path_factory.mktemp("hostile")
    marker = folder / "EXECUTED"
    for name, (content, _) in HOSTILE.items():
        (folder / name).write_bytes(content.replace(b"{marker}", str(marker).encode()))
    return folder, marker


@pytest.mark.slow
@pytest.mark.parametrize("name", list(HOSTILE))
def test_rejected_cleanly_with_bounded_memory(hostile_dir: tuple[Path, Path], name: str) -> None:
    folder, marker = hostile_dir
    expected = HOSTILE[name][1]
    tracemalloc.start()
    try:
        with pytest.raises(SpecError) as raised:
            prepare_experiment(folder / name)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    message = str(raised.value)
    assert expected in message.lower()
    assert all(len(line) < 400 for line in message.splitlines()), "a message echoes the whole input"
    assert peak < PEAK_BYTES, f"{peak / 2**20:.1f} MiB to reject {name}"
    assert not marker.exists()


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


@pytest.mark.slow
def test_validate_cli_rejects_every_file_under_a_memory_cap(hostile_dir: tuple[Path, Path]) -> None:
    folder, marker = hostile_dir
    names = list(HOSTILE)
    proc = run_cli("validate", *names, cwd=folder, env=WIDE, timeout=HANG_SECONDS, preexec=_cap_memory)

    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert "MemoryError" not in proc.stderr
    assert proc.stdout == ""  # nothing validated
    assert proc.stderr.count("error:") == len(names)
    for name in names:
        assert f"{name}" in proc.stderr, f"no message for {name}"
    assert not marker.exists()


def test_train_cli_refuses_before_creating_anything(hostile_dir: tuple[Path, Path], tmp_path: Path) -> None:
    folder, marker = hostile_dir
    out = tmp_path / "runs"
    args = ("train", str(folder / "python_apply.yaml"), "--out", str(out))
    proc = run_cli(*args, env=WIDE, timeout=HANG_SECONDS, preexec=_cap_memory)

    assert proc.returncode == 2
    assert "never executed" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
    assert not marker.exists()


BOMB = (
    "["
    + ",".join(
        ["&a [1,1,1,1,1,1,1,1,1,1]"]
        + [f"&{c} [" + ",".join([f"*{p}"] * 10) + "]" for p, c in zip("abcde", "bcdef", strict=True)]
    )
    + "]"
)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("seed=2001-13-40", "cannot read this value"),
        ("seed=" + "9" * 5000, "digits is too large"),
        ("optimizer.learning_rate=1.0e+400", "infinity"),
        ("optimizer.learning_rate=.nan", "finite"),
        (f"training.epochs={BOMB}", "more than"),
        ("model=" + "[" * 5000 + "]" * 5000, "nested deeper"),
        ('model=!!python/object/apply:os.system ["echo EXECUTED"]', "model"),
        ("name=../../etc", "name"),
        ("training.epochs=ten", "epochs"),
    ],
    ids=["date", "huge-int", "huge-float", "nan", "alias-bomb", "deep", "python-tag", "path-name", "wrong-type"],
)
def test_hostile_overrides_are_spec_errors(override: str, expected: str) -> None:
    result = CliRunner().invoke(app, ["validate", str(CONFIGS / "xor.yaml"), "--set", override])

    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    assert "EXECUTED" not in result.output.replace("echo EXECUTED", "")
    assert expected in result.output.lower()
