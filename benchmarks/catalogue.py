"""Train every example config in full and print the README catalogue table.

    python -m benchmarks.catalogue [CONFIG ...]   # writes benchmarks/catalogue.md

Not part of `make bench` (it trains ~25 models to completion); run it when configs change
and paste the table into the README.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFIGS = HERE.parent / "configs"


def describe(path: Path) -> str:
    """The first comment sentence of a config: what it demonstrates."""
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# ").strip())
    text = " ".join(lines)
    return text.split(": ")[0] if len(text.split(": ")[0]) < 90 else text.split(". ")[0]


def headline(metrics: dict, task: str) -> str:
    test = metrics.get("test", {})
    if task == "regression":
        return f"R² {test.get('r2', float('nan')):.3f}, MAE {test.get('mae', float('nan')):.3g}"
    return f"accuracy {test.get('accuracy', float('nan')):.3f}"


def main(argv: list[str]) -> int:
    import keras

    from nnrun.experiment import execute, prepare_experiment

    paths = [Path(a) for a in argv] or sorted(CONFIGS.glob("*.yaml"))
    rows = ["| config | what it demonstrates | test result | epochs | train s | trainer |", "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as out:
        for path in paths:
            keras.backend.clear_session()
            prepared = prepare_experiment(path)
            outcome = execute(prepared, Path(out), command=["catalogue", str(path)])
            rec = outcome.record
            epochs = f"{rec['epochs_run']}"
            if rec.get("stop_reason") == "early_stopping":
                epochs += f" (stopped; best {rec.get('best_epoch')})"
            row = (
                f"| `{path.name}` | {describe(path)} | {headline(outcome.metrics, prepared.data.task)} | {epochs} "
                f"| {rec['train_seconds']:.2f} | {rec['trainer']} |"
            )
            print(row, flush=True)
            rows.append(row)
    text = "\n".join(rows) + "\n"
    if not argv:
        (HERE / "catalogue.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
