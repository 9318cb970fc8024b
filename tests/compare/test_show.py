"""`nnrun show RUN_DIR` on real run folders, and the config-versus-defaults diff behind it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from nnrun.compare.show import config_changes
from nnrun.runs.reader import flatten
from nnrun.spec import loads_spec
from tests.compare.made_runs import MadeRuns
from tests.conftest import CONFIGS


def test_show_a_completed_run(made: MadeRuns, nnrun) -> None:
    run = made.completed["sgd"]
    code, out, err = nnrun("show", run)
    assert code == 0, err
    assert out.splitlines()[0].split() == ["moons", run.name, "completed"]
    config = out.split("config (what differs from the defaults)")[1].split("metrics")[0]
    shown = dict(line.split(None, 1) for line in config.strip().splitlines())
    assert shown["data.n_samples"].strip() == "120"
    assert shown["optimizer.learning_rate"].strip() == "0.5"
    assert shown["training.epochs"].strip() == "12"
    assert shown["training.batch_size"].strip() == "full"
    assert shown["model.layers.0.units"].strip() == "8"
    # the defaults are left out: sgd is the default optimizer, momentum 0, moons noise 0.2, ...
    for key in ("optimizer.momentum", "data.noise", "data.test_size", "training.shuffle", "metrics", "evaluation"):
        assert key not in shown
    assert shown["optimizer.name"].strip() == "sgd"  # the default, but it says what learning_rate belongs to
    for text in ("diagnosis", "test ", "accuracy", "lowest val_loss", "confusion matrix", "model.keras", "history.csv"):
        assert text in out
    assert "graph" in out or "fit" in out  # the trainer


def test_show_all_prints_the_whole_config(made: MadeRuns, nnrun) -> None:
    code, out, _ = nnrun("show", made.completed["sgd"] / "run.json", "--all")
    assert code == 0
    assert "config (all of it)" in out
    for key in ("training.shuffle", "data.test_size", "optimizer.momentum", "evaluation.threshold"):
        assert key in out


@pytest.mark.parametrize(
    ("which", "expected"),
    [
        ("failed", ["failed", "error", "no metrics recorded"]),
        ("interrupted", ["interrupted", "stopped: interrupted"]),
        ("crashed", ["crashed"]),
    ],
)
def test_show_runs_that_did_not_complete(made: MadeRuns, nnrun, which: str, expected: list[str]) -> None:
    code, out, err = nnrun("show", getattr(made, which))
    assert code == 0, err
    for text in expected:
        assert text in out


def test_show_a_config_this_version_cannot_validate(made: MadeRuns, nnrun, tmp_path: Path) -> None:
    run = shutil.copytree(made.completed["adam"], tmp_path / "r")
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["training"]["warp_speed"] = 9
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    code, out, _ = nnrun("show", run)
    assert code == 0
    assert "does not validate with this version of nnrun" in out
    assert "training.warp_speed" in out and "training.shuffle" in out


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (lambda m: m.corrupted, "run.json is not valid JSON"),
        (lambda m: m.root, "nnrun show takes one run folder"),
        (lambda m: m.root / "nope", "does not exist"),
    ],
)
def test_show_user_errors(made: MadeRuns, nnrun, path, message: str) -> None:
    code, _, err = nnrun("show", path(made))
    assert code == 2
    assert err.startswith("error:") and message in err and "Traceback" not in err


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_changes_are_what_the_user_wrote(path: Path) -> None:
    """Resolving a config fills in every default; the diff takes them out again."""
    text = path.read_text()
    resolved = loads_spec(text, str(path)).to_yaml_dict()
    changes, note = config_changes(resolved)
    assert note is None
    written = flatten(yaml.safe_load(text))
    unwritten = [
        k for k in changes if not k.startswith("model.") and not any(w == k or w.startswith(k + ".") for w in written)
    ]
    assert unwritten == []
    assert changes["data.dataset"] == resolved["data"]["dataset"] and changes["loss"] == resolved["loss"]
    # and nothing is lost: the changes alone validate to the same resolved spec (a sweep grid's
    # keys are dotted paths themselves, which flattening cannot tell apart: left out here)
    changes = {k: v for k, v in changes.items() if not k.startswith("sweep.")}
    resolved.pop("sweep", None)
    assert loads_spec(yaml.safe_dump(unflatten(changes))).to_yaml_dict() == resolved


def unflatten(flat: dict[str, object]) -> dict[str, object]:
    root: dict[str, object] = {}
    for key, value in flat.items():
        node = root
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})  # type: ignore[assignment]
        node[last] = value

    def lists(node: object) -> object:
        if isinstance(node, dict):
            node = {k: lists(v) for k, v in node.items()}
            if node and all(k.isdigit() for k in node):
                return [node[k] for k in sorted(node, key=int)]
        return node

    return lists(root)  # type: ignore[return-value]
