"""Helpers for the compare/report/show tests. The fixture that runs the real CLI entry point
in-process (`nnrun`) and their real run folders (`made`) are in tests/conftest.py."""

from __future__ import annotations

from pathlib import Path

from tests.compare.made_runs import MadeRuns


def rows_of(csv_text: str) -> list[dict[str, str]]:
    import csv
    import io

    return list(csv.DictReader(io.StringIO(csv_text)))


__all__ = ["MadeRuns", "Path", "rows_of"]
