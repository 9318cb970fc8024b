"""`nnrun export mlflow`: real run folders into a real MLflow store (sqlite), read back with
MLflow's own client. The only test module that imports MLflow (it is slow to import)."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from nnrun.experiment import execute, prepare_experiment
from nnrun.integrations.mlflow_export import TAG_RUN_ID, export_runs, params_of
from tests.conftest import CONFIGS, run_cli

mlflow_tracking = pytest.importorskip(
    "mlflow.tracking", reason="mlflow is not installed: pip install 'nnrun[mlflow]' (make install)"
)


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two tiny real runs; one also wrote TensorBoard files (a sub-folder to export)."""
    root = tmp_path_factory.mktemp("runs")
    for config, overrides in (
        ("xor.yaml", ["training.epochs=12", "training.tensorboard=true"]),
        ("iris_softmax.yaml", ["training.epochs=3"]),
    ):
        outcome = execute(prepare_experiment(CONFIGS / config, overrides), root, command=["test"])
        assert outcome.status == "completed"
    return root


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    work = tmp_path_factory.mktemp("mlflow")
    return f"sqlite:///{work / 'mlflow.db'}", work


@pytest.fixture
def in_store(store: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> str:
    """The store's URI, the test working in its folder (MLflow's default artifact root is ./mlruns)."""
    uri, work = store
    monkeypatch.chdir(work)
    return uri


def run_dirs(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob("run.json"))


def mlflow_runs(uri: str, experiment: str) -> list:
    client = mlflow_tracking.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None
    return client.search_runs([exp.experiment_id], max_results=1000)


def test_params_are_dotted_keys_with_text_values() -> None:
    config = {
        "data": {"dataset": "xor", "standardize": None},
        "model": {"layers": [{"type": "dense", "units": 4, "kernel_regularizer": {"l2": 0.01}}]},
        "metrics": ["accuracy", "auc"],
        "training": {"batch_size": "full", "shuffle": True, "epochs": 5},
    }
    assert params_of(config) == {
        "data.dataset": "xor",
        "data.standardize": "null",
        "model.layers.0.type": "dense",
        "model.layers.0.units": "4",
        "model.layers.0.kernel_regularizer.l2": "0.01",
        "metrics": '["accuracy", "auc"]',
        "training.batch_size": "full",
        "training.shuffle": "true",
        "training.epochs": "5",
    }


@pytest.mark.slow
def test_export_then_read_back_with_mlflow(
    runs_root: Path, store: tuple[str, Path], nnrun, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri, work = store
    proc = run_cli("export", "mlflow", str(runs_root), "--tracking-uri", uri, "--experiment", "cli", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert "2 exported, 0 already in MLflow" in proc.stdout

    client = mlflow_tracking.MlflowClient(tracking_uri=uri)
    by_id = {r.data.tags[TAG_RUN_ID]: r for r in mlflow_runs(uri, "cli")}
    assert len(by_id) == 2
    for run_dir in run_dirs(runs_root):
        record = json.loads((run_dir / "run.json").read_text())
        run = by_id[record["id"]]
        assert run.data.tags["nnrun.name"] == record["name"]
        assert run.data.tags["nnrun.status"] == "completed"
        assert run.data.tags["nnrun.trainer"] == record["trainer"]
        assert run.info.status == "FINISHED"
        assert run.info.run_name == f"{record['name']} {record['id']}"

        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        assert run.data.params == params_of(config)
        assert run.data.params["optimizer.learning_rate"] == str(config["optimizer"]["learning_rate"])
        assert run.data.params["model.layers.0.type"] == config["model"]["layers"][0]["type"]

        history = list(csv.DictReader((run_dir / "history.csv").open()))
        for column in ("loss", "val_loss", "accuracy", "learning_rate"):
            points = client.get_metric_history(run.info.run_id, column)
            assert [p.step for p in sorted(points, key=lambda p: p.step)] == [int(r["epoch"]) for r in history]
            by_step = {p.step: p.value for p in points}
            for row in history:
                assert by_step[int(row["epoch"])] == pytest.approx(float(row[column]), rel=1e-9)

        test = json.loads((run_dir / "metrics.json").read_text())["test"]
        assert run.data.metrics["test_accuracy"] == pytest.approx(test["accuracy"])
        assert run.data.metrics["test_loss"] == pytest.approx(test["loss"])
        assert run.data.metrics["epochs_run"] == record["epochs_run"]

        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        expected = {"config.yaml", "run.json", "history.csv", "metrics.json", "model.keras", "loss.png"}
        assert expected <= artifacts, expected - artifacts
        if (run_dir / "tensorboard").is_dir():
            assert "tensorboard" in artifacts
            assert {a.path for a in client.list_artifacts(run.info.run_id, "tensorboard")} == {
                "tensorboard/train",
                "tensorboard/validation",
            }
        local = Path(client.download_artifacts(run.info.run_id, "config.yaml", str(work / "dl" / run.info.run_id)))
        assert local.read_bytes() == (run_dir / "config.yaml").read_bytes()

    # Exporting again adds nothing (the same command, through the CLI's main in this process).
    monkeypatch.chdir(work)
    code, out, err = nnrun("export", "mlflow", runs_root, "--tracking-uri", uri, "--experiment", "cli")
    assert code == 0, err
    assert "0 exported, 2 already in MLflow" in out
    assert len(mlflow_runs(uri, "cli")) == 2


@pytest.mark.slow
def test_running_crashed_and_half_exported_runs(runs_root: Path, in_store: str, tmp_path: Path) -> None:
    uri = in_store
    source = run_dirs(runs_root)[0]
    root = tmp_path / "copies"
    live, crashed = root / "a" / "live-run", root / "a" / "crashed-run"
    for target, pid in ((live, os.getpid()), (crashed, 2**22 + 12345)):
        shutil.copytree(source, target)
        record = json.loads((target / "run.json").read_text())
        record.update(id=target.name, status="running", pid=pid, ended=None)
        (target / "run.json").write_text(json.dumps(record))

    results = {r.run_dir.name: r for r in export_runs([root], uri, "states")}
    assert results["live-run"].action == "skipped" and "still running" in results["live-run"].reason
    assert results["crashed-run"].action == "exported"
    (run,) = mlflow_runs(uri, "states")
    assert run.data.tags["nnrun.status"] == "crashed"
    assert run.info.status == "FAILED"

    # An export that broke half-way (no completion tag) is replaced, not kept beside the new one.
    client = mlflow_tracking.MlflowClient(tracking_uri=uri)
    client.set_tag(run.info.run_id, "nnrun.export", "started")
    (again,) = list(export_runs([crashed], uri, "states"))
    assert again.action == "exported" and again.mlflow_run_id != run.info.run_id
    (now,) = mlflow_runs(uri, "states")
    assert now.info.run_id == again.mlflow_run_id


@pytest.mark.slow
def test_bad_input_is_a_clean_error(in_store: str, tmp_path: Path, nnrun) -> None:
    # through the CLI's main in this process: exit code 2 and one message, no exception
    code, _, err = nnrun("export", "mlflow", tmp_path / "nothing", "--tracking-uri", in_store)
    assert code == 2
    assert "nothing does not exist" in err and "Traceback" not in err
    (tmp_path / "empty").mkdir()
    code, _, err = nnrun("export", "mlflow", tmp_path / "empty", "--tracking-uri", in_store)
    assert code == 2
    assert "no run folders found" in err


@pytest.mark.slow
def test_missing_mlflow_gives_the_install_hint(runs_root: Path, tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "mlflow"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named mlflow')\n")
    proc = run_cli(
        "export",
        "mlflow",
        str(runs_root),
        "--tracking-uri",
        "sqlite:///x.db",
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path / "shadow")},
    )
    assert proc.returncode == 2
    assert "pip install 'nnrun[mlflow]'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "x.db").exists()


# --- damaged folders, hostile names, progress, SIGTERM (issue 17.15) -----------------------------


@pytest.mark.slow
def test_a_damaged_history_skips_that_run_only(runs_root: Path, in_store: str, tmp_path: Path, nnrun) -> None:
    uri = in_store
    root = tmp_path / "copies"
    source = run_dirs(runs_root)[0]
    binary, blank, fine = root / "a" / "binary", root / "a" / "blank", root / "a" / "fine"
    for target in (binary, blank, fine):
        shutil.copytree(source, target)
        record = json.loads((target / "run.json").read_text())
        (target / "run.json").write_text(json.dumps({**record, "id": target.name}))
    (binary / "history.csv").write_bytes(bytes(range(256)) * 40)
    lines = (blank / "history.csv").read_text().splitlines()
    (blank / "history.csv").write_text("\n".join([lines[0], lines[1], ",,,", *lines[2:]]) + "\n")

    code, out, err = nnrun("export", "mlflow", root, "--tracking-uri", uri, "--experiment", "damaged")
    assert code == 0, out + err
    assert "Traceback" not in err
    skipped = [line for line in out.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 2 and all("history.csv line" in line for line in skipped), out
    assert "1 exported" in out
    assert [r.data.tags[TAG_RUN_ID] for r in mlflow_runs(uri, "damaged")] == ["fine"]


@pytest.mark.slow
def test_a_name_with_quotes_exports_once(runs_root: Path, in_store: str, tmp_path: Path) -> None:
    uri = in_store
    root = tmp_path / "quoted"
    for i, name in enumerate(["it's", 'say "hi"', "both ' and \""]):
        target = root / "a" / f"run-{i}"
        shutil.copytree(run_dirs(runs_root)[0], target)
        record = json.loads((target / "run.json").read_text())
        (target / "run.json").write_text(json.dumps({**record, "id": target.name, "name": name}))
    first = [r.action for r in export_runs([root], uri, "quotes")]
    assert first == ["exported"] * 3
    again = [r.action for r in export_runs([root], uri, "quotes")]
    assert again == ["already"] * 3
    assert len(mlflow_runs(uri, "quotes")) == 3


@pytest.mark.slow
def test_progress_is_reported_while_a_run_is_logged(runs_root: Path, in_store: str, tmp_path: Path) -> None:
    uri = in_store
    seen: list[tuple[str, int, int]] = []
    results = list(export_runs([runs_root], uri, "progress", lambda d, n, total: seen.append((d.name, n, total))))
    assert [r.action for r in results] == ["exported", "exported"]
    assert seen, "no progress reported"
    for name in {s[0] for s in seen}:
        counts = [(n, total) for d, n, total in seen if d == name]
        assert [n for n, _ in counts] == sorted(n for n, _ in counts)
        assert counts[-1][0] == counts[-1][1] > 0


@pytest.mark.slow
def test_sigterm_during_an_export_leaves_no_run_running(store: tuple[str, Path], tmp_path: Path) -> None:
    """Ctrl-C removed the MLflow run being written; SIGTERM (and a closed terminal) must too."""
    import signal
    import time

    from tests.conftest import start_cli

    uri, work = store
    root = tmp_path / "long"
    outcome = execute(prepare_experiment(CONFIGS / "xor.yaml", ["training.epochs=60000"]), root, command=["test"])
    assert outcome.status == "completed"
    client = mlflow_tracking.MlflowClient(tracking_uri=uri)
    if client.get_experiment_by_name("sigterm") is None:  # the store's tables exist before the child starts
        client.create_experiment("sigterm")
    proc = start_cli("export", "mlflow", str(root), "--tracking-uri", uri, "--experiment", "sigterm", cwd=work)
    deadline = time.monotonic() + 300
    running: list = []
    while not running:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the export never started"
        exp = client.get_experiment_by_name("sigterm")
        if exp is not None:
            running = client.search_runs([exp.experiment_id], filter_string="attributes.status = 'RUNNING'")
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, out + err
    assert "Traceback" not in err and "interrupted" in err
    assert mlflow_runs(uri, "sigterm") == []  # the half-written run was deleted, not left RUNNING
