"""`nnrun report`: one self-contained HTML page, checked in a real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.compare.made_runs import MadeRuns

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def page(made: MadeRuns, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, MadeRuns]:
    """A report over every made run, plus one whose error message tries to inject HTML."""
    root = tmp_path_factory.mktemp("report")
    hostile = shutil.copytree(made.failed, root / "more" / "moons" / "20240101-000000-bad000")
    record = json.loads((hostile / "run.json").read_text())
    record["error"] = {"type": "ValueError", "message": "<script>document.title='pwned'</script><img src=x>"}
    (hostile / "run.json").write_text(json.dumps(record))
    from nnrun.compare import collect
    from nnrun.compare.report import build_report

    runs, skipped = collect([made.root, root / "more"])
    out = root / "report.html"
    out.write_text(build_report(runs, skipped, title="made runs", sources=[str(made.root)]))
    return out, made


@pytest.fixture(scope="module")
def browser():
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).is_file()]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed: make browser (apt-get install chromium chromium-driver)")
    pytest.importorskip("selenium", reason="selenium is not installed: pip install 'nnrun[dev]' (make install)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(arg)
    profile = Path(__import__("tempfile").mkdtemp(prefix="nnrun-chromium-"))
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_the_page_needs_no_network(page) -> None:
    html, _ = page
    text = html.read_text()
    # every image is inline; no script, stylesheet or image is fetched from anywhere
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", text)
    assert "<link" not in text
    assert re.findall(r'<img src="([^"]{0,22})', text) and all(
        s == "data:image/png;base64," for s in re.findall(r'<img src="([^"]{0,22})', text)
    )


def test_text_from_run_folders_is_escaped(page) -> None:
    html, _ = page
    text = html.read_text()
    assert "<script>document.title" not in text
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in text


@pytest.mark.slow
def test_report_in_a_real_browser(page, browser) -> None:
    from selenium.webdriver.common.by import By

    html, made = page
    browser.get(html.as_uri())
    assert browser.title == "made runs"  # the injected script did not run
    rows = browser.find_elements(By.CSS_SELECTOR, "#runs tbody tr")
    assert len(rows) == len(made.readable) + 1  # + the hostile copy
    headers = [th.text.strip() for th in browser.find_elements(By.CSS_SELECTOR, "#runs thead th")]
    for column in ("run", "status", "best_val_loss", "test.accuracy", "duration", "diagnosis"):
        assert column in headers
    statuses = {r.find_elements(By.TAG_NAME, "td")[headers.index("status")].text for r in rows}
    assert {"completed", "failed", "interrupted", "crashed"} <= statuses

    def column(name: str) -> list[str]:
        i = headers.index(name)
        return [
            r.find_elements(By.TAG_NAME, "td")[i].get_attribute("data-value")
            for r in browser.find_elements(By.CSS_SELECTOR, "#runs tbody tr")
        ]

    # sorting by clicking: losses best (lowest) first, then the other way; missing values last
    header = browser.find_element(By.CSS_SELECTOR, '#runs th[data-key="best_val_loss"]')
    header.click()
    assert header.get_attribute("aria-sort") == "ascending"
    values = column("best_val_loss")
    present = [float(v) for v in values if v]
    assert present == sorted(present) and len(present) >= 7
    assert all(v == "" for v in values[len(present) :])
    header.click()
    assert header.get_attribute("aria-sort") == "descending"
    present = [float(v) for v in column("best_val_loss") if v]
    assert present == sorted(present, reverse=True)
    # accuracy sorts best (highest) first on the first click
    header = browser.find_element(By.CSS_SELECTOR, '#runs th[data-key="test.accuracy"]')
    header.click()
    present = [float(v) for v in column("test.accuracy") if v]
    assert present == sorted(present, reverse=True) and len(set(present)) > 1
    # text columns sort too
    browser.find_element(By.CSS_SELECTOR, '#runs th[data-key="status"]').click()
    assert column("status") == sorted(column("status"))

    # every image decoded: run curves, confusion matrices, the overview and the sweep's figure
    images = browser.find_elements(By.TAG_NAME, "img")
    widths = browser.execute_script("return Array.from(document.images).map(i => i.complete && i.naturalWidth)")
    assert len(images) >= 2 * 6 + 2 and all(w and w > 0 for w in widths), widths
    alts = [img.get_attribute("alt") for img in images]
    assert any("confusion_matrix.png" in a for a in alts)
    assert any(a.startswith("sweep ") and a.endswith("curves.png") for a in alts)
    assert "validation loss of every run" in alts
    # each run has its section with the diagnosis, linked from the table
    link = rows[0].find_element(By.TAG_NAME, "a").get_attribute("href")
    section = browser.find_element(By.ID, link.split("#", 1)[1])
    assert section.tag_name == "section"
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "overfitting from epoch" in body or "good fit" in body
    assert "skipped " in body and "run.json is not valid JSON" in body


def test_report_cli(made: MadeRuns, nnrun, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    code, stdout, err = nnrun(
        "report",
        made.root,
        "-o",
        out,
        "--title",
        "only adam",
        "--filter",
        "optimizer.name=adam",
        "--status",
        "completed",
    )
    assert code == 0, err
    assert stdout.strip() == str(out.resolve())
    text = out.read_text()
    assert "<title>only adam</title>" in text
    assert f"wrote {out} (" in err
    assert text.count('<section class="run"') == 5  # adam, small, line and the two sweep points
    assert made.completed["sgd"].name not in text
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask  # like any file the user makes, not a private tmp file


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "report.pdf"], "give a name ending in .html"),
        (["-o", "/nonexistent/dir/r.html"], "the folder /nonexistent/dir does not exist"),
        (["--filter", "bogus=1"], "no run has the key 'bogus'"),
    ],
)
def test_report_user_errors(made: MadeRuns, nnrun, args: list[str], message: str) -> None:
    code, _, err = nnrun("report", made.root, *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_many_runs_keep_the_page_small(made: MadeRuns, monkeypatch: pytest.MonkeyPatch) -> None:
    """A budget too small for every picture: the loss curves go in first, the rest are linked."""
    from nnrun.compare import budget, collect, report

    runs, _ = collect([made.root])
    losses = sum((run.dir / "loss.png").stat().st_size for run in runs if (run.dir / "loss.png").is_file())
    monkeypatch.setattr(budget, "IMAGE_BUDGET", losses + 200_000)  # the page-wide validation loss, about 100 kB
    text = report.build_report(runs)
    assert text.count('<section class="run"') == len(runs)
    assert "are linked to their run folders instead of embedded" in text
    assert 'alt="validation loss of every run"' in text
    for run in runs:
        if (run.dir / "loss.png").is_file():
            assert f'alt="{run.name}: loss.png"' in text
    assert 'alt="moons: gradients.png"' not in text
    assert (made.root.as_uri() + "/") in text and "gradients.png</a>" in text  # linked instead
