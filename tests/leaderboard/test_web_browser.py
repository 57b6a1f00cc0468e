"""The leaderboard page in a real headless Chromium (Debian's package) driven by Playwright:
the index and a problem page render, the ranking table is there, and the interactive chart draws, with
every reference in its legend and the entry's value in the tooltip when the mouse is on its marker."""

import json
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")

import leaderboards

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server(tmp_path):
    import uvicorn

    from leaderboards.web.app import create_app

    url = f"sqlite:///{tmp_path / 'lb.db'}"
    grid = (EXAMPLES / "cp26_grid.json").read_text()
    leaderboards.submit("CirclePacking26-v0", grid, submitter="alice", db=url)
    shrunk = json.dumps([[x, y, r - 2.0**-20] for x, y, r in json.loads(grid)["construction"]])
    leaderboards.submit("CirclePacking26-v0", shrunk, submitter="bob", db=url)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(db=url), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def test_index_and_problem_page_in_chromium(server, tmp_path):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1600})
            page.goto(server + "/")
            assert page.locator("#problems").is_visible()
            page.click("text=CirclePacking26-v0")
            page.wait_for_load_state("networkidle")
            rows = page.locator("#ranking tr")
            texts = rows.all_inner_texts()
            assert any("alice" in t for t in texts) and any("bob" in t for t in texts)
            assert any("AlphaEvolve" in t for t in texts)  # a reference row
            page.wait_for_selector("#chart .main-svg", timeout=20000)  # Plotly drew the chart
            legend = page.locator("#chart .legend").text_content()
            assert "AI (AlphaEvolve): 2.635862756" in legend and "previous best AI: 2.63598308" in legend
            # hover the first entry marker: the tooltip names the entry and its exact value
            marker = page.locator("#chart .scatterlayer .trace:nth-child(2) path.point").first
            box = marker.bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.wait_for_selector("#chart .hoverlayer .hovertext", timeout=5000)
            tip = page.locator("#chart .hoverlayer").text_content()
            # alice's and bob's markers are milliseconds apart: the tooltip is the one under the mouse
            assert ("alice" in tip and "1.625000000" in tip) or ("bob" in tip and "1.624975204" in tip), tip
            shot = tmp_path / "problem.png"
            page.locator("#chart").screenshot(path=str(shot))
            page.goto(server + "/p/CirclePacking26-v0/plot.png")  # the static picture still exists
        finally:
            browser.close()
    import matplotlib.image as mpimg

    img = mpimg.imread(str(shot))
    assert img.shape[0] > 100 and img.shape[1] > 100
    assert img[..., :3].std() > 0.02  # not a blank rectangle: lines and text were drawn
