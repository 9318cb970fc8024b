"""`nnrun compare` end to end on real run folders (trained once per worker, see made_runs.py)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from tests.compare.conftest import rows_of
from tests.compare.made_runs import MadeRuns

#: adam vs sgd vs a smaller adam: what differs, including each optimizer's own settings
MOONS_DIFFERING = {
    "model.layers.0.units",
    "optimizer.name",
    "optimizer.learning_rate",
    "optimizer.beta_1",
    "optimizer.beta_2",
    "optimizer.epsilon",
    "optimizer.momentum",
    "optimizer.nesterov",
}


def csv_rows(nnrun, *args: object) -> list[dict[str, str]]:
    code, out, err = nnrun("compare", *args, "--format", "csv")
    assert code == 0, err
    return rows_of(out)


def test_table_lists_every_run_with_its_status(made: MadeRuns, nnrun) -> None:
    code, out, err = nnrun("compare", made.root, "--wide")
    assert code == 0, err
    lines = out.splitlines()
    header = lines[0].split()
    for column in (
        "run",
        "name",
        "started",
        "status",
        "epochs",
        "params",
        "val_loss",
        "best_val_loss",
        "test.accuracy",
    ):
        assert column in header
    assert header[-4:] == ["train_seconds", "duration", "diagnosis", "internals"]
    body = "\n".join(lines[2:])
    for run_dir in made.readable:
        assert run_dir.name in body
    assert len(lines) == 2 + len(made.readable)
    statuses = {line.split()[0]: line for line in lines[2:]}
    assert " failed " in statuses[made.failed.name]
    assert " interrupted " in statuses[made.interrupted.name]
    assert " crashed " in statuses[made.crashed.name]
    # the corrupted folder and the stray folder: one line each on stderr, never a traceback
    skipped = [line for line in err.splitlines() if line.startswith("skipped ")]
    assert len(skipped) == 2
    assert any(str(made.corrupted) in s and "run.json is not valid JSON" in s for s in skipped)
    assert any(str(made.not_a_run) in s and "not a run folder" in s for s in skipped)
    assert "Traceback" not in err


def test_default_path_is_runs(made: MadeRuns, nnrun, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(made.root.parent)
    code, out, _ = nnrun("compare", "--format", "csv")
    assert code == 0
    assert len(rows_of(out)) == len(made.readable)


def test_csv_has_every_differing_key_and_exact_values(made: MadeRuns, nnrun) -> None:
    rows = csv_rows(nnrun, made.completed["adam"], made.completed["sgd"], made.completed["small"])
    assert len(rows) == 3
    config_columns = [c for c in rows[0] if "." in c and not c.startswith("test.")]
    assert set(config_columns) == MOONS_DIFFERING
    by_run = {r["run"]: r for r in rows}
    adam = by_run[made.completed["adam"].name]
    assert adam["optimizer.name"] == "adam" and float(adam["optimizer.learning_rate"]) == 0.05
    assert by_run[made.completed["small"].name]["model.layers.0.units"] == "4"
    metrics = json.loads((made.completed["adam"] / "metrics.json").read_text())
    assert float(adam["test.accuracy"]) == metrics["test"]["accuracy"]
    assert float(adam["val_loss"]) == metrics["final"]["val_loss"]
    assert float(adam["best_val_loss"]) == metrics["best_val_loss"]["val_loss"]
    record = json.loads((made.completed["adam"] / "run.json").read_text())
    assert adam["diagnosis"] == record["diagnosis"]["label"]
    assert float(adam["duration"]) == record["duration_seconds"]
    assert float(adam["train_seconds"]) == record["train_seconds"]
    assert adam["dir"] == str(made.completed["adam"])


def test_one_run_has_no_differing_keys(made: MadeRuns, nnrun) -> None:
    (row,) = csv_rows(nnrun, made.completed["adam"])
    assert not [c for c in row if c.startswith(("optimizer.", "model."))]


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown", "json"])
def test_columns_are_exactly_as_given_in_every_format(made: MadeRuns, nnrun, fmt: str) -> None:
    code, out, err = nnrun("compare", made.root, "--format", fmt, "--columns", "run,status")
    assert code == 0, err
    if fmt == "json":
        rows = json.loads(out)
        assert {"run", "status", "dir"} == set(rows[0])
        assert len(rows) == len(made.readable)
    elif fmt == "csv":
        assert list(rows_of(out)[0]) == ["run", "status", "dir"]
    elif fmt == "markdown":
        assert out.splitlines()[0] == "| run | status |"
        assert out.splitlines()[1] == "|---|---|"
        assert len(out.splitlines()) == 2 + len(made.readable)
    else:
        assert out.split("\n", 1)[0].split() == ["run", "status"]


def test_json_values_are_typed(made: MadeRuns, nnrun) -> None:
    code, out, _ = nnrun("compare", made.root, "--format", "json")
    rows = {r["run"]: r for r in json.loads(out)}
    adam = rows[made.completed["adam"].name]
    assert isinstance(adam["test.accuracy"], float)
    assert isinstance(adam["epochs"], int) and adam["epochs"] == 12
    assert adam["model.layers.0.units"] == 8
    failed = rows[made.failed.name]
    assert failed["status"] == "failed" and failed["test.accuracy"] is None and failed["diagnosis"] is None


def test_markdown_is_a_table_people_read(made: MadeRuns, nnrun) -> None:
    code, out, _ = nnrun("compare", made.completed["adam"], made.completed["sgd"], "--format", "markdown")
    lines = out.splitlines()
    assert all(line.startswith("| ") and line.endswith(" |") for line in lines if not line.startswith("|---"))
    assert "| adam |" in out and "| sgd |" in out
    assert len(lines) == 4


def test_sort_puts_the_best_first_in_the_direction_the_metric_calls_for(made: MadeRuns, nnrun) -> None:
    rows = csv_rows(nnrun, made.root, "--sort", "best_val_loss")
    losses = [float(r["best_val_loss"]) for r in rows if r["best_val_loss"]]
    assert losses == sorted(losses)
    assert rows[-1]["best_val_loss"] == ""  # missing values go last
    rows = csv_rows(nnrun, made.root, "--sort", "test.accuracy")
    acc = [float(r["test.accuracy"]) for r in rows if r["test.accuracy"]]
    assert acc == sorted(acc, reverse=True) and len(set(acc)) > 1
    rows = csv_rows(nnrun, made.root, "--sort", "test.accuracy", "--reverse")
    acc = [float(r["test.accuracy"]) for r in rows if r["test.accuracy"]]
    assert acc == sorted(acc)
    rows = csv_rows(nnrun, made.root, "--sort", "optimizer.name")
    names = [r["optimizer.name"] for r in rows if r["optimizer.name"]]
    assert names == sorted(names)


def test_default_order_is_by_start_time_and_last_keeps_the_newest(made: MadeRuns, nnrun) -> None:
    rows = csv_rows(nnrun, made.root)
    started = [r["started"] for r in rows]
    assert started == sorted(started)
    last = csv_rows(nnrun, made.root, "--last", "3")
    assert [r["run"] for r in last] == [r["run"] for r in rows[-3:]]
    assert len(csv_rows(nnrun, made.root, "--last", "2", "--status", "completed")) == 2


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("optimizer.name=sgd", {"sgd"}),
        ("optimizer.name in (sgd,rmsprop)", {"sgd"}),
        ("optimizer.name not in (adam)", {"sgd"}),
        (
            "optimizer.name in (adam,sgd) and name=moons",
            {"adam", "sgd", "small", "point-000", "point-001", "failed", "interrupted"},
        ),
        ("model.layers.0.units=4 or optimizer.name=sgd", {"small", "sgd"}),
        (
            "0.04<=optimizer.learning_rate<=0.5",
            {"adam", "sgd", "failed", "interrupted", "point-001", "line", "crashed"},
        ),
        ("0.04<optimizer.learning_rate<0.5 and name=moons", {"adam", "failed", "interrupted", "point-001"}),
        ("test.r2>0.5", {"line"}),
        ("name=line", {"line", "crashed"}),
        ("status!=completed and name=moons", {"failed", "interrupted"}),
    ],
)
def test_filters(made: MadeRuns, nnrun, expr: str, expected: set[str]) -> None:
    labels = {
        **{p.name: label for label, p in made.completed.items()},
        made.failed.name: "failed",
        made.interrupted.name: "interrupted",
        made.crashed.name: "crashed",
        **{p.name: p.name for p in made.sweep_points},
    }
    rows = csv_rows(nnrun, made.root, "--filter", expr)
    assert {labels[r["run"]] for r in rows} == expected


def test_repeated_filters_must_all_hold(made: MadeRuns, nnrun) -> None:
    rows = csv_rows(
        nnrun,
        made.root,
        "--filter",
        "optimizer.name=adam",
        "--filter",
        "test.accuracy>0.8",
        "--columns",
        "optimizer.name,test.accuracy",
    )
    assert len(rows) == 3 and all(r["optimizer.name"] == "adam" and float(r["test.accuracy"]) > 0.8 for r in rows)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("failed", {"failed"}),
        ("interrupted", {"interrupted"}),
        ("crashed", {"crashed"}),
        ("failed,crashed", {"failed", "crashed"}),
    ],
)
def test_status(made: MadeRuns, nnrun, status: str, expected: set[str]) -> None:
    rows = csv_rows(nnrun, made.root, "--status", status)
    assert {r["status"] for r in rows} == expected
    assert len(csv_rows(nnrun, made.root, "--status", "completed")) == 6


def test_repeated_status_options(made: MadeRuns, nnrun) -> None:
    rows = csv_rows(nnrun, made.root, "--status", "failed", "--status", "interrupted")
    assert sorted(r["status"] for r in rows) == ["failed", "interrupted"]


def test_columns_choose_and_order(made: MadeRuns, nnrun) -> None:
    rows = csv_rows(nnrun, made.root, "--columns", "name, optimizer.learning_rate,final.val_accuracy, best_epoch")
    assert list(rows[0]) == ["name", "optimizer.learning_rate", "final.val_accuracy", "best_epoch", "dir"]
    adam = next(r for r in rows if r["dir"] == str(made.completed["adam"]))
    final = json.loads((made.completed["adam"] / "metrics.json").read_text())["final"]
    assert float(adam["final.val_accuracy"]) == final["val_accuracy"]


def test_output_file_and_format_from_its_suffix(made: MadeRuns, nnrun, tmp_path: Path) -> None:
    for name, check in (
        ("runs.csv", lambda t: rows_of(t)[0]["run"]),
        ("runs.json", lambda t: json.loads(t)[0]["run"]),
        ("runs.md", lambda t: t.startswith("| run |")),
        ("runs.txt", lambda t: t.startswith("run ")),
    ):
        code, out, err = nnrun("compare", made.root, "--output", tmp_path / name)
        assert code == 0, err
        assert out == ""
        assert f"wrote {tmp_path / name}" in err
        assert check((tmp_path / name).read_text())
    code, _, _ = nnrun("compare", made.root, "-o", tmp_path / "forced.txt", "--format", "csv")
    assert rows_of((tmp_path / "forced.txt").read_text())


def test_plot_overlays_the_curves(made: MadeRuns, nnrun, tmp_path: Path) -> None:
    import matplotlib.image

    target = tmp_path / "curves.png"
    code, _, err = nnrun("compare", made.root, "--filter", "name=moons", "--plot", target)
    assert code == 0, err
    image = matplotlib.image.imread(target)
    assert image.shape[0] == 500 and image.shape[1] == 800
    with_train = tmp_path / "with_train.png"
    code, _, err = nnrun("compare", made.completed["adam"], made.completed["sgd"], "--plot", with_train, "--plot-train")
    assert code == 0, err
    assert with_train.stat().st_size > 0 and with_train.read_bytes() != target.read_bytes()
    acc = tmp_path / "acc.png"
    code, _, err = nnrun("compare", made.completed["adam"], "--plot", acc, "--plot-metric", "val_accuracy")
    assert code == 0, err and acc.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_labels_name_the_differing_keys(made: MadeRuns) -> None:
    from nnrun.compare.plot import labels
    from nnrun.runs.reader import read_run

    runs = [read_run(made.completed[k]) for k in ("adam", "sgd", "small")]
    text = labels(runs)
    assert "name=adam" in text[0] and "learning_rate=0.05" in text[0] and "units=8" in text[0]
    assert "name=sgd" in text[1] and "learning_rate=0.5" in text[1]


def test_diagnosis_is_recomputed_for_runs_without_it(made: MadeRuns, nnrun, tmp_path: Path) -> None:
    old = tmp_path / "old" / "20240101-000000-0aa000"
    shutil.copytree(made.completed["small"], old)
    record = json.loads((old / "run.json").read_text())
    stored = record.pop("diagnosis")
    (old / "run.json").write_text(json.dumps(record))
    metrics = json.loads((old / "metrics.json").read_text())
    metrics.pop("best_val_loss")  # as written by an older nnrun: read history.csv instead
    (old / "metrics.json").write_text(json.dumps(metrics))
    (row,) = csv_rows(nnrun, old)
    assert row["diagnosis"] == stored["label"]
    reference = json.loads((made.completed["small"] / "metrics.json").read_text())["best_val_loss"]
    assert math.isclose(float(row["best_val_loss"]), reference["val_loss"], rel_tol=1e-6)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--filter", "optimizer.lr=0.1"], "no run has the key 'optimizer.lr'"),
        (["--filter", "optimizer.learn>1"], "did you mean 'optimizer.learning_rate'"),
        (["--filter", "optimizer.name~adam"], "cannot read --filter"),
        (["--sort", "test.acuracy"], "did you mean 'test.accuracy'"),
        (["--columns", "name,bogus.key"], "--columns: no run has the key 'bogus.key'"),
        (["--status", "complete"], "did you mean 'completed'"),
        (["--last", "0"], "--last expects a positive number"),
        (["--format", "xlsx"], "--format: expected one of table, csv, markdown, json"),
        (["--output", "/nonexistent/dir/x.csv"], "--output: the folder /nonexistent/dir does not exist"),
        (["--plot", "/nonexistent/dir/x.png"], "--plot: the folder /nonexistent/dir does not exist"),
        (["--plot", "curves.svg"], "give a file name ending in .png"),
        (["--plot", "c.png", "--plot-metric", "val_nothing"], "no run has a 'val_nothing' curve"),
    ],
)
def test_user_errors_are_one_clean_line(made: MadeRuns, nnrun, args: list[str], message: str) -> None:
    code, out, err = nnrun("compare", made.root, *args)
    assert code == 2
    assert message in err
    assert err.startswith("error:") or "skipped" in err
    assert "Traceback" not in err


def test_missing_path_and_empty_folder(nnrun, tmp_path: Path) -> None:
    code, _, err = nnrun("compare", tmp_path / "nope")
    assert code == 2 and "does not exist" in err
    code, _, err = nnrun("compare", tmp_path)
    assert code == 2
    assert f"skipped {tmp_path}: no run folders here" in err
    assert "no readable runs" in err


def test_filters_matching_nothing_print_an_empty_result(made: MadeRuns, nnrun) -> None:
    code, out, err = nnrun("compare", made.root, "--filter", "test.accuracy>2")
    assert code == 0 and out == "" and "no runs match" in err
    code, out, _ = nnrun("compare", made.root, "--filter", "test.accuracy>2", "--format", "json")
    assert json.loads(out) == []


def test_rich_table_for_a_terminal(made: MadeRuns) -> None:
    """What a terminal shows for up to 200 runs: a rich table fitted to the width, coloured."""
    import io

    from rich.console import Console

    from nnrun.compare import collect
    from nnrun.compare.formats import to_rich
    from nnrun.compare.table import build_table, select

    runs, _ = collect([made.root])
    table = build_table(select(runs), max_differing=8)
    buf = io.StringIO()
    Console(file=buf, width=160, force_terminal=True, color_system="standard").print(to_rich(table))
    text = buf.getvalue()
    assert "\x1b[" in text  # coloured
    assert made.failed.name[:10] in text
    assert max(len(line) for line in Console(file=io.StringIO(), width=160).render_lines(to_rich(table))) <= 160


def test_many_runs_in_a_terminal_get_fast_coloured_columns(made: MadeRuns) -> None:
    """Beyond 200 runs the terminal gets plain aligned columns, still coloured by status."""
    from nnrun.compare import collect
    from nnrun.compare.formats import to_text
    from nnrun.compare.table import build_table, select

    runs, _ = collect([made.root])
    table = build_table(select(runs), max_differing=8)
    plain_text = to_text(table)
    coloured = to_text(table, color=True)
    assert coloured.plain == plain_text
    styled = {coloured.plain[span.start : span.end].strip(): str(span.style) for span in coloured.spans}
    assert styled["failed"] == "red" and styled["crashed"] == "red" and styled["interrupted"] == "yellow"
    assert styled["completed"] == "green"
    header, rule = plain_text.splitlines()[:2]
    starts = [i for i, c in enumerate(rule) if c == "-" and (i == 0 or rule[i - 1] == " ")]
    assert [header[i : i + len(c)] for i, c in zip(starts, table.columns, strict=True)] == table.columns


@pytest.mark.parametrize("width", [100, 70])
def test_table_fits_the_terminal_width(made: MadeRuns, nnrun, monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    """Fitted to COLUMNS (100 when not a terminal): identity, the keys the runs of one
    experiment vary, the headline metrics and the diagnosis; the rest named on stderr."""
    monkeypatch.setenv("COLUMNS", str(width))
    code, out, err = nnrun("compare", made.root)
    assert code == 0, err
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= width
    header = " ".join(lines[:2])
    for column in ("run", "name", "units", "val_", "accuracy", "diagnosis", *(["optimizer."] if width > 70 else [])):
        assert column in header
    assert "more columns:" in err and "--wide" in err
    rule = next(i for i, line in enumerate(lines) if line.startswith("---"))
    assert len(lines) == rule + 1 + len(made.readable)
    code, wide, _ = nnrun("compare", made.root, "--wide")
    assert max(len(line) for line in wide.splitlines()) > width


def test_fitted_table_drops_duplicate_columns_and_shortens_ids(made: MadeRuns) -> None:
    from nnrun.compare import collect
    from nnrun.compare.fit import fit, fold, short_headers, short_ids
    from nnrun.compare.table import build_table, rank_differing, select

    runs, _ = collect([made.root])
    full = build_table(select(runs))
    table = fit(full, 100)
    assert set(rank_differing(full.runs, full.differing)[:2]) <= set(table.columns)
    for column in table.columns:  # no column repeats an earlier one value for value
        values = [str(r[column]) for r in table.rows]
        assert all(values != [str(r[c]) for r in table.rows] for c in table.columns[: table.columns.index(column)])
    assert all(len(str(r["run"])) <= len(str(f["run"])) for r, f in zip(table.rows, full.rows, strict=True))
    assert len(set(table.headers.values())) == len(table.columns)
    assert fold("test.accuracy", 6) == "test.\naccuracy" and fold("epochs", 3) == "epochs"
    assert fold("layers.1.rate,layers.3.rate", 3) == "layers.1.rate,\nlayers.3.rate"  # tied keys split at the comma
    assert short_ids(["p001-20261129-213034-744d50", "20261129-213252-3a628c"]) == ["p001", "3a628c"]
    assert short_ids(["p001-20261129-213034-744d50", "p001-20261129-213035-000000"]) == ["p001-744d50", "p001-000000"]
    assert short_headers(["optimizer.learning_rate", "model.layers.0.rate", "model.layers.3.rate"]) == {
        "optimizer.learning_rate": "learning_rate",
        "model.layers.0.rate": "layers.0.rate",
        "model.layers.3.rate": "layers.3.rate",
    }


def test_params_is_a_column_and_a_key(made: MadeRuns, nnrun) -> None:
    rows = csv_rows(nnrun, made.root, "--columns", "run,params", "--sort", "params")
    counts = [int(r["params"]) for r in rows if r["params"]]
    assert counts and counts == sorted(counts) and all(c > 0 for c in counts)
    kept = csv_rows(nnrun, made.root, "--filter", f"params>{counts[0]}", "--columns", "params")
    assert all(int(r["params"]) > counts[0] for r in kept if r["params"])
