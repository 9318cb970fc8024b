"""Fixtures for the compare/report/show tests: a helper that runs the real CLI entry point
in-process. Their real run folders, `made`, are in tests/conftest.py (the reader's tests share them)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.compare.made_runs import MadeRuns


@pytest.fixture
def nnrun(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run `nnrun ARGS` through the console entry point: (exit code, stdout, stderr)."""
    from nnrun.cli.app import main

    def run(*args: object) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["nnrun", *(str(a) for a in args)])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def rows_of(csv_text: str) -> list[dict[str, str]]:
    import csv
    import io

    return list(csv.DictReader(io.StringIO(csv_text)))


__all__ = ["MadeRuns", "Path", "rows_of"]
