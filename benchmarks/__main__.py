"""Run every benchmark module (or the ones named on the command line) and write results.md."""

from __future__ import annotations

import datetime as dt
import importlib
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem for p in HERE.glob("bench_*.py"))
    sections = [
        "# nnrun benchmarks",
        "",
        f"Run {dt.datetime.now().isoformat(timespec='seconds')} on {platform.node()}: "
        f"{os.cpu_count()} cores, Python {platform.python_version()}. Every figure below comes from this one run.",
        "",
    ]
    for name in names:
        module = importlib.import_module(f"benchmarks.{name.removeprefix('benchmarks.')}")
        t0 = time.perf_counter()
        print(f"== {name} ...", flush=True)
        text = module.run()
        print(text, flush=True)
        sections += [text.rstrip(), "", f"_{name} took {time.perf_counter() - t0:.1f} s in all._", ""]
    out = HERE / "results.md"
    out.write_text("\n".join(sections) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
