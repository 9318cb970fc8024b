"""`nnrun init`: every template is written as is, validates, and the default one trains; the
templates also ship inside a built wheel."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from nnrun.cli.app import app
from nnrun.experiment import execute, prepare_experiment
from nnrun.templates import DEFAULT, templates
from tests.conftest import CONFIGS, ROOT, run_cli


def test_templates_are_the_example_configs() -> None:
    table = templates()
    assert set(table) == {p.stem for p in CONFIGS.glob("*.yaml")}
    assert DEFAULT in table
    for t in table.values():
        assert t.path.parent == CONFIGS
        assert t.description, f"{t.path} has no leading comment to describe it"
        assert "\n" not in t.summary and len(t.summary) <= 100


def test_list_shows_every_template_with_its_description() -> None:
    proc = run_cli("init", "--list")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    table = templates()
    assert len(lines) == len(table)
    for line, t in zip(lines, table.values(), strict=True):
        assert line.split()[0] == t.name
        assert t.summary in line
    assert "(default)" in next(line for line in lines if line.startswith(DEFAULT + " "))


@pytest.mark.slow
def test_every_template_is_written_as_is_and_validates(tmp_path: Path, keras_cache: dict[str, str], nnrun) -> None:
    # the Keras-dataset templates validate against the local stand-in files (keras_cache)
    runner = CliRunner()
    written = []
    for name, t in templates().items():
        out = tmp_path / f"{name}.yaml"
        result = runner.invoke(app, ["init", name, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert f"wrote {out}" in result.output
        assert out.read_text() == t.text()  # comments and all
        written.append(str(out))
    # Data a template names travels with it, to the same place relative to the config.
    assert (tmp_path / "data" / "fruit.csv").read_bytes() == (CONFIGS / "data" / "fruit.csv").read_bytes()
    shapes = sorted(p.relative_to(CONFIGS) for p in (CONFIGS / "data" / "shapes").rglob("*.png"))
    assert shapes and all((tmp_path / p).read_bytes() == (CONFIGS / p).read_bytes() for p in shapes)
    code, out, err = nnrun("validate", *written)  # the CLI's main in this process, where keras_cache is set
    assert code == 0, out + err
    assert out.count("ok ") == len(written)


@pytest.mark.slow
def test_default_template_trains(tmp_path: Path) -> None:
    proc = run_cli("init", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    config = tmp_path / f"{DEFAULT}.yaml"
    assert config.read_text() == (CONFIGS / f"{DEFAULT}.yaml").read_text()
    assert "#" in config.read_text().split("\n", 3)[2], "the starter config explains its keys"
    outcome = execute(prepare_experiment(config, ["training.epochs=3"]), tmp_path / "runs", command=["test"])
    assert outcome.status == "completed"
    assert outcome.record["epochs_run"] == 3
    assert 0.0 <= outcome.metrics["test"]["accuracy"] <= 1.0


def test_commented_out_options_in_the_default_are_valid(tmp_path: Path) -> None:
    """Uncommenting the suggestions in the starter config gives a valid config."""
    text = (CONFIGS / f"{DEFAULT}.yaml").read_text()
    option = re.compile(r"^(\s+)# ((- )?\{.*|\w+: \{.*)$")
    lines, uncommented = [], 0
    for line in text.splitlines():
        m = option.match(line)
        if m:
            line, uncommented = m.group(1) + re.split(r"\s{2,}#", m.group(2))[0], uncommented + 1
        lines.append(line)
    assert uncommented >= 3
    out = tmp_path / "all.yaml"
    out.write_text("\n".join(lines) + "\n")
    spec = yaml.safe_load(out.read_text())
    assert spec["training"]["early_stopping"]["patience"] == 10
    assert any(layer["type"] == "dropout" for layer in spec["model"]["layers"])
    from nnrun.spec.parse import load_spec

    load_spec(out)


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "mine.yaml"
    out.write_text("my work\n")
    proc = run_cli("init", "xor", "-o", str(out))
    assert proc.returncode == 2
    assert "already exists; use --force" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert out.read_text() == "my work\n"
    proc = run_cli("init", "xor", "-o", str(out), "--force")
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == (CONFIGS / "xor.yaml").read_text()


def test_refuses_a_changed_data_file_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "fruit.csv").write_text("mine\n")
    proc = run_cli("init", "csv_example", "-o", str(tmp_path / "c.yaml"))
    assert proc.returncode == 2
    assert "fruit.csv already exists" in proc.stderr
    assert not (tmp_path / "c.yaml").exists()
    assert (tmp_path / "data" / "fruit.csv").read_text() == "mine\n"


@pytest.mark.parametrize(("name", "message"), [("xr", "did you mean 'xor'?"), ("nothing-like-it", "--list")])
def test_unknown_template(name: str, message: str, tmp_path: Path) -> None:
    proc = run_cli("init", name, cwd=tmp_path)
    assert proc.returncode == 2
    assert f"unknown template '{name}'" in proc.stderr and message in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_dash_prints_the_template() -> None:
    proc = run_cli("init", "and", "-o", "-")
    assert proc.returncode == 0
    assert proc.stdout == (CONFIGS / "and.yaml").read_text()


@pytest.mark.slow
def test_wheel_ships_the_templates(tmp_path: Path) -> None:
    """A built (non-editable) wheel carries configs/ as nnrun/templates/ and init works from it."""
    src = tmp_path / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("nnrun", "configs"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(src)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = dist.glob("nnrun-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in CONFIGS.glob("*.yaml"):
        assert f"nnrun/templates/{path.name}" in names
    assert "nnrun/templates/data/fruit.csv" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run(
        [sys.executable, "-c", "import nnrun.templates as t; print(t.template_dir())"],
        capture_output=True,
        text=True,
        cwd=work,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()) == site / "nnrun" / "templates"
    proc = subprocess.run(
        [sys.executable, "-m", "nnrun", "init", "csv_example"],
        capture_output=True,
        text=True,
        cwd=work,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    assert (work / "csv_example.yaml").read_text() == (CONFIGS / "csv_example.yaml").read_text()
    assert (work / "data" / "fruit.csv").is_file()
