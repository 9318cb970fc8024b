"""Shared fixtures: every test is seeded; helpers to write configs and run the CLI.

Child processes: every `nnrun` child a test starts goes through `run_cli` or `start_cli`, which
give it SIGINT, SIGQUIT and SIGHUP at their default action, as a shell gives a foreground job.
The suite may be started where they are ignored (`nohup make test &`, a background job of a
script); an ignored signal is inherited across exec and nnrun rightly keeps it ignored, so a test
that sends one to a child would otherwise test nothing but a hang.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import pickle
import random
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from nnrun.runs.layout import RunFolder

# No test reaches the internet: a Keras dataset that is not cached is fetched from a closed local
# port (a connection refused at once) unless a test serves it (`keras_mirror`).
os.environ.setdefault("NNRUN_DATASETS_MIRROR", "http://127.0.0.1:9/")

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"

#: The files every completed run folder holds, whatever the config (names from nnrun.runs.layout).
RUN_FILES = (
    RunFolder.CONFIG,
    RunFolder.RUN,
    RunFolder.HISTORY,
    RunFolder.METRICS,
    RunFolder.MODEL,
    RunFolder.SUMMARY,
    RunFolder.PREDICTIONS,
    RunFolder.PREPROCESSING,
    RunFolder.LOSS_PLOT,
)


def missing_run_files(run_dir: Path) -> list[str]:
    """The names in RUN_FILES that are not a file in `run_dir`."""
    return [name for name in RUN_FILES if not (run_dir / name).is_file()]


def requires(module: str, extra: str) -> pytest.MarkDecorator:
    """Skip, saying why, where an optional extra is not installed (`make install` installs them all,
    so CI runs these tests)."""
    missing = importlib.util.find_spec(module) is None
    return pytest.mark.skipif(missing, reason=f"{module} is not installed: pip install 'nnrun[{extra}]' (make install)")


def pytest_configure(config: pytest.Config) -> None:
    """Keep the module order below under `-n auto --dist loadfile`: pytest-xdist (3.6+) otherwise
    hands modules out by their number of tests, most first, so a long module with one or two
    tests (a concurrency test, the Ray sweep) started last while the other worker sat idle."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules whose tests are all slow first, then those with some, then the rest, each group
    by its number of slow tests, most first; each module's tests still together and in their order.

    With `-n auto` the long tests (sweeps, signals, Ray) then start early and the quick ones
    fill the end, instead of a long module (the notebooks, the trainers' comparisons) starting
    last while the other worker idles.
    """
    slow = Counter(item.path for item in items if item.get_closest_marker("slow"))
    fast = {item.path for item in items if not item.get_closest_marker("slow")}
    items.sort(key=lambda item: ((item.path not in slow) + (item.path in fast), -slow[item.path]))


@pytest.fixture(scope="session")
def made(tmp_path_factory: pytest.TempPathFactory):
    """Real run folders of every kind (tests/compare/made_runs.py), read by the reader, compare,
    show and report tests, trained once per session: under pytest-xdist the first worker that
    asks trains them in a folder every worker of the session shares, and the others wait for it
    and read the same folders (the tests only read them, and copy a run before changing it)."""
    from tests.compare.made_runs import make_runs

    if "PYTEST_XDIST_WORKER" not in os.environ:
        return make_runs(tmp_path_factory.mktemp("made"))
    shared = tmp_path_factory.getbasetemp().parent  # the session's, above each worker's own
    with (shared / "made.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        done = shared / "made.pickle"
        if done.is_file():
            return pickle.loads(done.read_bytes())
        made = make_runs(tmp_path_factory.mktemp("made"))
        done.write_bytes(pickle.dumps(made))
        return made


@pytest.fixture
def nnrun(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run `nnrun ARGS` through the CLI's `main` in this process: (exit code, stdout, stderr).

    For tests about what a command does, not about its process (signals, exit, imports, a fresh
    interpreter): TensorFlow, once loaded in this test process, is not loaded again."""
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


@pytest.fixture(autouse=True)
def _seed() -> None:
    random.seed(0)
    np.random.seed(0)


@pytest.fixture(scope="session")
def keras_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of small stand-ins of the Keras dataset files (tests/data/keras_files.py)."""
    from tests.data.keras_files import write_all

    return write_all(tmp_path_factory.mktemp("keras-origin"))


@pytest.fixture(scope="session")
def keras_server(keras_files: Path) -> Iterator[str]:
    """A local HTTP server serving `keras_files`; its base URL."""
    from tests.data.keras_files import serve

    with serve(keras_files) as url:
        yield url


@pytest.fixture
def keras_mirror(
    keras_server: str, keras_files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """An empty Keras cache and nnrun's downloads pointed at `keras_server`, in this process, where
    the stand-ins' SHA-256 replace Keras's (a child process checks Keras's own hashes, which the
    stand-ins do not match: give a child `keras_cache`). Returns the environment (already set)."""
    from tests.data.keras_files import trust

    env = {"KERAS_HOME": str(tmp_path / "keras-home"), "NNRUN_DATASETS_MIRROR": keras_server}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    trust(keras_files, monkeypatch)
    return env


@pytest.fixture
def keras_cache(keras_files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A Keras cache holding the stand-ins as `keras.datasets` leaves its downloads (nothing to
    fetch; the mirror stays a closed port). Returns the environment (already set in this process;
    pass it to `run_cli` for a child)."""
    from tests.data.keras_files import fill_cache

    env = {"KERAS_HOME": str(fill_cache(keras_files, tmp_path / "keras-home"))}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def write_config(tmp_path: Path):
    """Write YAML text to a file in tmp_path and return its path."""

    def write(text: str, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


def xor_yaml(name: str = "xor", *, units: int = 4, learning_rate: float = 0.05, epochs: int = 3, **more: Any) -> str:
    """The YAML of the smallest real model the tests train: XOR, `units` tanh units then one
    sigmoid, full-batch Adam; `more` adds or replaces top-level sections (seed, metrics, sweep...)."""
    doc: dict[str, Any] = {
        "name": name,
        "data": {"dataset": "xor"},
        "model": {
            "layers": [
                {"type": "dense", "units": units, "activation": "tanh"},
                {"type": "dense", "units": 1, "activation": "sigmoid"},
            ]
        },
        "optimizer": {"name": "adam", "learning_rate": learning_rate},
        "loss": "binary_crossentropy",
        "training": {"epochs": epochs, "batch_size": "full"},
        **more,
    }
    return yaml.safe_dump(doc, sort_keys=False)


#: What TensorFlow, absl and oneDNN write to file descriptor 2 while loading: no nnrun command
#: (nor a script calling the Python API) lets it through unless `--verbose` is given.
TF_LOG = re.compile(r"absl|oneDNN|InitializeLog|^[IWE]\d{4} |cuda|TF_ENABLE_ONEDNN_OPTS|tensorflow/", re.MULTILINE)


def assert_quiet(text: str) -> None:
    """`text` (a child's stdout + stderr) holds no TensorFlow log line."""
    found = TF_LOG.search(text)
    assert found is None, f"a TensorFlow log line: {text[max(0, found.start() - 200) : found.end() + 200]!r}"


def child_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of an `nnrun` child: this one, with a fixed hash seed."""
    return {**os.environ, "PYTHONHASHSEED": "0", **(env or {})}


#: What a terminal can send a foreground job, and `nohup` or a background job may ignore.
TERMINAL_SIGNALS = (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP)


def terminal_signals() -> None:
    """Run in the child before exec: the terminal's signals at their default action (see the
    module docstring)."""
    for sig in TERMINAL_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)


def _preexec(extra: Callable[[], None] | None) -> Callable[[], None]:
    if extra is None:
        return terminal_signals

    def both() -> None:
        terminal_signals()
        extra()

    return both


def start_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    preexec: Callable[[], None] | None = None,
    **popen: Any,
) -> subprocess.Popen:
    """Start `python -m nnrun ARGS` as a real child process, output captured as text.

    `popen` overrides the Popen defaults (stdout/stderr pipes, text mode), e.g. `stderr=STDOUT`.
    """
    options: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, **popen}
    return subprocess.Popen(
        [sys.executable, "-m", "nnrun", *args],
        cwd=cwd or ROOT,
        env=child_env(env),
        preexec_fn=_preexec(preexec),
        **options,
    )


def run_cli(
    *args: str,
    cwd: Path | None = None,
    timeout: float = 600,
    env: dict[str, str] | None = None,
    preexec: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess:
    """Run `python -m nnrun ARGS` in a real subprocess and wait for it."""
    return subprocess.run(
        [sys.executable, "-m", "nnrun", *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(env),
        preexec_fn=_preexec(preexec),
    )


#: Runs `nnrun ARGS` in this fresh interpreter, then says on stderr which heavy packages it imported.
_IMPORT_PROBE = """\
import runpy, sys
sys.argv = ['nnrun', *sys.argv[1:]]
try:
    runpy.run_module('nnrun', run_name='__main__')
except SystemExit:
    pass
print('HEAVY', sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r})), file=sys.stderr)
"""


def run_probed(
    *args: str, cwd: Path, heavy: tuple[str, ...], env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run `nnrun ARGS` in a fresh interpreter (where an import is visible) that then prints
    `HEAVY [...]` on stderr: which of the `heavy` packages were imported (`HEAVY []`: none)."""
    script = cwd / "probe.py"
    script.write_text(_IMPORT_PROBE.format(heavy=sorted(heavy)))
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env({"PYTHONPATH": str(ROOT), **(env or {})}),
        preexec_fn=terminal_signals,
    )


@contextlib.contextmanager
def terminal_sigint() -> Iterator[None]:
    """In this process: SIGINT as an interactive shell leaves it (KeyboardInterrupt), for tests that
    send SIGINT to themselves; a test runner's worker may ignore it (see the module docstring)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)
