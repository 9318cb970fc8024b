"""Expanding a sweep into points: pure and fast (no TensorFlow, no data, no training)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from nnrun.errors import NnrunError, SpecError
from nnrun.spec.loader import load, loads
from nnrun.sweep.expand import LR_KEY, expand, label, parse_grid, parse_lr
from tests.conftest import CONFIGS, run_cli, xor_yaml

XOR = CONFIGS / "xor.yaml"


def xor_doc():
    return load(XOR)


# --- --lr ---------------------------------------------------------------------------------------


def test_lr_list() -> None:
    assert parse_lr("1e-4,1e-3, 0.01,1") == [1e-4, 1e-3, 0.01, 1.0]


def test_lr_log_range_includes_both_ends_and_is_evenly_spaced_in_log() -> None:
    values = parse_lr("1e-4:1:9")
    assert len(values) == 9
    assert values[0] == 1e-4 and values[-1] == 1.0
    exponents = [math.log10(v) for v in values]
    steps = [b - a for a, b in zip(exponents, exponents[1:], strict=False)]
    assert all(abs(s - 0.5) < 1e-3 for s in steps)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "expected a list"),
        ("0.1,abc", "expected a number.*'abc'"),
        ("-0.1", "positive"),
        ("0", "positive"),
        ("nan", "positive"),
        ("1e-4:1", "LOW:HIGH:COUNT"),
        ("1:1e-4:5", "LOW must be below HIGH"),
        ("1e-4:1:1", "between 2 and"),
        ("1e-4:1:x", "COUNT must be an integer"),
        ("0.1,0.1", "listed twice"),
    ],
)
def test_lr_errors_say_what_was_received(text: str, match: str) -> None:
    with pytest.raises(NnrunError, match=match):
        parse_lr(text)


# --- --grid -------------------------------------------------------------------------------------


def test_grid_values_are_yaml_scalars() -> None:
    grid = parse_grid(["optimizer.name=sgd,adam", "training.batch_size=full,2", "data.standardize=true,false"])
    assert grid == {
        "optimizer.name": ["sgd", "adam"],
        "training.batch_size": ["full", 2],
        "data.standardize": [True, False],
    }


def test_grid_accepts_a_yaml_list_for_values_with_commas() -> None:
    assert parse_grid(["model.layers.0.units=[2, 8]"]) == {"model.layers.0.units": [2, 8]}


@pytest.mark.parametrize(
    ("items", "match"),
    [
        (["optimizer.name"], "expected KEY=V1,V2"),
        (["=1,2"], "expected KEY=V1,V2"),
        (["a=1", "a=2"], "given twice"),
        (["a=1,,2"], "empty value"),
        (["a..b=1"], "not a dotted key"),
        (["sweep.seeds=1,2"], "cannot vary its own settings"),
        (["a=1,1"], "listed twice"),
    ],
)
def test_grid_errors(items: list[str], match: str) -> None:
    with pytest.raises(NnrunError, match=match):
        parse_grid(items)


# --- expansion ----------------------------------------------------------------------------------


def test_cartesian_product_in_order_last_key_fastest() -> None:
    plan = expand(xor_doc(), lr="0.001,0.01", grid_items=["optimizer.name=sgd,adam,rmsprop"])
    assert len(plan.points) == 6
    assert [p.values for p in plan.points[:3]] == [
        {"optimizer.name": "sgd", LR_KEY: 0.001},
        {"optimizer.name": "sgd", LR_KEY: 0.01},
        {"optimizer.name": "adam", LR_KEY: 0.001},
    ]
    assert [p.index for p in plan.points] == list(range(6))
    for p in plan.points:
        assert p.spec.optimizer.name == p.values["optimizer.name"]
        assert p.spec.optimizer.learning_rate == p.values[LR_KEY]
        assert "sweep" not in p.doc.data
    assert plan.lr_sweep


def test_seeds_repeat_each_point_with_consecutive_seeds() -> None:
    plan = expand(xor_doc(), lr="0.01,0.1", seeds=3)
    assert [(p.values[LR_KEY], p.seed, p.seed_index) for p in plan.points] == [
        (0.01, 42, 0),
        (0.01, 43, 1),
        (0.01, 44, 2),
        (0.1, 42, 0),
        (0.1, 43, 1),
        (0.1, 44, 2),
    ]
    assert all(p.spec.seed == p.seed for p in plan.points)


def test_points_do_not_share_config_data() -> None:
    plan = expand(xor_doc(), grid_items=["model.layers.0.units=2,8"])
    first, second = plan.points[0].doc.data, plan.points[1].doc.data
    assert first["model"]["layers"][0]["units"] == 2 and second["model"]["layers"][0]["units"] == 8
    assert first["model"] is not second["model"]


SWEEP = {"grid": {"optimizer.learning_rate": [0.1, 0.01], "training.epochs": [2, 3]}, "seeds": 2}
SWEEP_YAML = xor_yaml("xs", sweep=SWEEP)


def test_yaml_sweep_section() -> None:
    plan = expand(loads(SWEEP_YAML, "s.yaml"))
    assert plan.grid == {LR_KEY: [0.1, 0.01], "training.epochs": [2, 3]}
    assert plan.seeds == 2 and len(plan.points) == 8


def test_cli_grid_overrides_the_yaml_key_and_adds_others() -> None:
    plan = expand(loads(SWEEP_YAML, "s.yaml"), lr="0.5", grid_items=["optimizer.name=sgd,adam"], seeds=1)
    assert plan.grid == {"training.epochs": [2, 3], "optimizer.name": ["sgd", "adam"], LR_KEY: [0.5]}
    assert len(plan.points) == 4
    assert {p.spec.optimizer.learning_rate for p in plan.points} == {0.5}


def test_lr_and_grid_on_the_same_key_is_an_error() -> None:
    with pytest.raises(NnrunError, match="--lr and --grid optimizer.learning_rate"):
        expand(xor_doc(), lr="0.1", grid_items=["optimizer.learning_rate=0.2"])


def test_nothing_to_sweep() -> None:
    with pytest.raises(NnrunError, match="nothing to sweep"):
        expand(xor_doc())


def test_seeds_alone_is_a_sweep() -> None:
    plan = expand(xor_doc(), seeds=3)
    assert [p.seed for p in plan.points] == [42, 43, 44] and plan.grid == {}
    assert label(plan.points[0].values) == "baseline"


def test_an_invalid_point_is_named_with_its_values() -> None:
    with pytest.raises(SpecError) as info:
        expand(xor_doc(), grid_items=["optimizer.learning_rate=0.01,-1,200"])
    text = info.value.render()
    assert "sweep point 1: optimizer.learning_rate=-1" in text
    assert "optimizer.learning_rate" in text and "greater than 0" in text
    assert "2 of 3 points are invalid" in text and "2 (optimizer.learning_rate=200)" in text
    # the line number points into the user's file
    assert f"{XOR} (sweep point 1: optimizer.learning_rate=-1):11: optimizer.learning_rate" in text


def test_switching_optimizer_names_the_key_the_new_one_refuses(write_config) -> None:
    path = write_config(xor_yaml("xs", optimizer={"name": "adam", "beta_1": 0.8}))
    with pytest.raises(SpecError) as info:
        expand(load(path), grid_items=["optimizer.name=adam,sgd"])
    assert "sweep point 1: optimizer.name=sgd" in info.value.render()
    assert any(p.key == "optimizer.beta_1" and "unknown key" in p.message for p in info.value.problems)


def test_unknown_key_gets_a_suggestion() -> None:
    with pytest.raises(SpecError) as info:
        expand(xor_doc(), grid_items=["optimizer.learning_rat=0.1,0.2"])
    (problem, *_) = info.value.problems
    assert problem.suggestion == "learning_rate"


def test_invalid_base_config_is_reported_as_the_config_not_a_point(write_config) -> None:
    path = write_config(xor_yaml("xs", epochs=-3, sweep=SWEEP))
    with pytest.raises(SpecError) as info:
        expand(load(path))
    assert "sweep point" not in info.value.render()
    assert info.value.problems[0].key == "training.epochs"


def test_too_many_points() -> None:
    with pytest.raises(NnrunError, match="at most"):
        expand(xor_doc(), lr="1e-6:1:1000", grid_items=["training.epochs=" + ",".join(str(i) for i in range(1, 12))])


def test_the_sweep_process_never_imports_tensorflow_or_ray() -> None:
    # only the workers do: the sweep process expands, checks, schedules and summarises
    code = (
        "import sys; from nnrun.spec.loader import load; from nnrun.sweep.expand import expand; "
        "from nnrun.sweep import runner, summary, local, ray_backend; import nnrun.cli.sweep; "
        f"expand(load({str(XOR)!r}), lr='1e-3:1:5'); "
        "print(sorted(m for m in ('tensorflow', 'keras', 'ray') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_invalid_point_exits_2_before_anything_is_created(tmp_path: Path) -> None:
    proc = run_cli("sweep", str(XOR), "--lr", "0.1,200", "--out", str(tmp_path / "runs"))
    assert proc.returncode == 2, proc.stderr
    assert "sweep point 1: optimizer.learning_rate=200" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_cli_usage_errors_exit_2(tmp_path: Path, nnrun) -> None:
    cases = [
        (["sweep", "--lr", "0.1"], "missing CONFIG"),
        (["sweep", str(XOR), "--resume", str(tmp_path)], "--resume finishes a sweep"),
        (["sweep", "--resume", str(tmp_path)], "not a sweep folder"),
        (["sweep", str(XOR), "--lr", "0.1,1", "--backend", "slurm"], "unknown backend"),
        (["sweep", str(XOR), "--lr", "0.1,1", "--address", "x:1"], "--address is for --backend ray"),
    ]
    for args, match in cases:  # through the CLI's main in this process
        code, _, err = nnrun(*args, "--out", tmp_path / "runs")
        assert code == 2, (args, err)
        assert match in err, (args, err)
        assert "Traceback" not in err
    assert not (tmp_path / "runs").exists()


# --- tied keys and whole-mapping values ----------------------------------------------------------

DROPOUT = CONFIGS / "breast_cancer_dropout.yaml"
TIED = "model.layers.1.rate,model.layers.3.rate"


def test_tied_keys_vary_together() -> None:
    plan = expand(load(DROPOUT), grid_items=[f"{TIED}=0.2,0.5"])
    assert len(plan.points) == 2  # not four
    assert [(p.spec.model.layers[1].rate, p.spec.model.layers[3].rate) for p in plan.points] == [(0.2, 0.2), (0.5, 0.5)]
    assert plan.points[0].label == f"{TIED}=0.2"


def test_tied_keys_in_the_yaml_sweep_section() -> None:
    doc = loads(
        DROPOUT.read_text() + f"sweep:\n  grid:\n    {TIED}: [0.1, 0.4]\n    training.epochs: [1, 2]\n", "d.yaml"
    )
    plan = expand(doc)
    assert len(plan.points) == 4
    assert {(p.spec.model.layers[1].rate, p.spec.model.layers[3].rate) for p in plan.points} == {(0.1, 0.1), (0.4, 0.4)}


def test_a_key_tied_and_given_alone_is_an_error() -> None:
    with pytest.raises(NnrunError, match="model.layers.1.rate is in both"):
        expand(load(DROPOUT), grid_items=[f"{TIED}=0.2,0.5", "model.layers.1.rate=0.1,0.3"])


def test_whole_mapping_values_pair_settings_and_are_named_readably() -> None:
    plan = expand(
        xor_doc(),
        grid_items=["optimizer=[{name: sgd, learning_rate: 0.1}, {name: adam, learning_rate: 0.001, beta_1: 0.8}]"],
    )
    assert [(p.spec.optimizer.name, p.spec.optimizer.learning_rate) for p in plan.points] == [
        ("sgd", 0.1),
        ("adam", 0.001),
    ]
    assert [p.label for p in plan.points] == [
        "optimizer=sgd(0.1)",
        "optimizer=adam(learning_rate=0.001, beta_1=0.8)",
    ]
    assert label({"model.layers": [{"type": "dense", "units": 8}]}) == "model.layers=[dense(8)]"


@pytest.mark.slow
def test_cli_tied_grid_trains_two_points_named_readably(tmp_path: Path, nnrun) -> None:
    # through the CLI's main in this process, the points trained here one after another
    code, out, err = nnrun(
        "sweep", XOR, "--grid", "optimizer=[{name: sgd, learning_rate: 0.1}, {name: adam, learning_rate: 0.01}]",
        "--grid", "model.layers.0.units,training.batch_size=2,4", "--set", "training.epochs=2",
        "--backend", "inline", "--out", tmp_path,
    )  # fmt: skip
    assert code == 0, out + err
    (sweep_dir,) = (tmp_path / "xor").iterdir()
    assert len(list(sweep_dir.glob("p*/run.json"))) == 4  # 2 optimizers x 2 tied values, not 2 x 2 x 2
    assert "sgd(0.1)" in out and "adam(0.01)" in out and "{" not in out
