"""The course site (`make test-book`): build it in quick mode, then read it as a reader would.

Not part of `make test` (the build executes every notebook: a few minutes). It builds the site
with Sphinx into ``_build/book-quick`` (``SEGDEND_QUICK=1``; the jupyter-cache of quick mode
makes a second run fast), then checks:

- every course notebook has a page, with every figure the executed notebook has (each image
  file present), every widget drawn as its last state, and no error output;
- README (the home page), the docs pages and ``index.html`` are there;
- every link between the site's pages resolves (the file, and the anchor within it);
- in headless Chromium (Debian's ``chromium``, driven by the ``playwright`` package, as
  ``tests/browser_notebooks.py`` does), served over HTTP: every figure of every notebook page
  is decoded by the browser, no page shows an error, and the sidebar and "next" links take the
  reader through the course in order. Screenshots go to ``browser-screenshots/book-*.png``.

Without Chromium or playwright the browser test skips, unless ``SEGDEND_BROWSER_REQUIRED=1``
(set by ``.ci/run``), where it fails.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "book-quick"
HTML = OUT / "html"
SHOTS = ROOT / "browser-screenshots"
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
DOCS = sorted(p.stem for p in (ROOT / "docs").glob("*.md"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def site():
    env = dict(os.environ, SEGDEND_QUICK="1")
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-c", "book", "-d", str(OUT / "doctrees")]
        + ["-q", "-W", "--keep-going", ".", str(HTML)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    print(f"\nsite built in {time.monotonic() - t0:.0f} s (quick mode)")
    assert proc.returncode == 0, f"the build failed or warned:\n{proc.stderr[-4000:]}"
    return HTML


class Page(HTMLParser):
    """What the checks need from one HTML page: links, ids, images, classes."""

    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.path = path
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.images: list[str] = []  # src of every <img> inside a cell's output
        self.classes: list[str] = []
        self.scripts: list[str] = []  # type= of every <script>
        self.text: list[str] = []
        self._output_depth = 0
        self._stack: list[bool] = []
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        cls = a.get("class") or ""
        self.classes += cls.split()
        if tag == "script":
            self.scripts.append(a.get("type", ""))
        if tag == "img" and self._output_depth:
            self.images.append(a.get("src", ""))
        if tag in ("div", "section", "span", "p", "pre"):
            opens = "cell_output" in cls.split() or "segdend-widget" in cls.split()
            self._stack.append(opens)
            self._output_depth += opens

    def handle_endtag(self, tag):
        if tag in ("div", "section", "span", "p", "pre") and self._stack:
            self._output_depth -= self._stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _executed(chapter: str) -> dict:
    return json.loads((OUT / "jupyter_execute" / "notebooks" / f"{chapter}.ipynb").read_text())


def _expected_figures(nb: dict) -> tuple[int, int]:
    """(image outputs, widget outputs whose state was saved) of an executed notebook."""
    state = (
        nb["metadata"]
        .get("widgets", {})
        .get("application/vnd.jupyter.widget-state+json", {})
        .get("state", {})
    )
    images = widgets = 0
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW in data:
                widgets += data[WIDGET_VIEW].get("model_id") in state
            elif any(k.startswith("image/") for k in data):
                images += 1
    return images, widgets


def test_every_page_is_there(site):
    assert (site / "index.html").exists() and (site / "README.html").exists()
    assert "url=README.html" in (site / "index.html").read_text()
    for c in CHAPTERS:
        assert (site / "notebooks" / f"{c}.html").exists(), c
    for d in DOCS:
        assert (site / "docs" / f"{d}.html").exists(), d


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_notebook_page_has_its_figures_and_no_error(site, chapter):
    page = Page(site / "notebooks" / f"{chapter}.html")
    images, widgets = _expected_figures(_executed(chapter))
    assert images + widgets > 0, f"{chapter}: the executed notebook has no figure"
    files = [s for s in page.images if not s.startswith("data:")]
    for src in files:
        assert (page.path.parent / unquote(src)).is_file(), f"{chapter}: {src} missing"
    drawn = page.classes.count("segdend-widget")
    assert drawn == widgets, f"{chapter}: {drawn} widgets drawn, {widgets} in the notebook"
    assert len(files) >= images, f"{chapter}: {len(files)} figures on the page, {images} run"
    if widgets:
        assert page.classes.count("segdend-widget-figure") >= 1, f"{chapter}: widget figure"
    assert WIDGET_VIEW not in page.scripts, "a widget left as a placeholder"
    assert "application/vnd.jupyter.widget-state+json" not in page.scripts
    text = "".join(page.text)
    for bad in ("Traceback (most recent call last)", "segdend-widget-error"):
        assert bad not in text and bad not in page.classes, f"{chapter}: {bad}"
    for cls in ("traceback", "stderr"):
        assert cls not in page.classes, f"{chapter}: an output of class {cls!r}"


def _all_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.parts)


def test_every_link_between_pages_resolves(site):
    pages = {p: Page(p) for p in _all_pages(site)}
    checked, broken = 0, []
    for path, page in pages.items():
        for href in page.links:
            if urlparse(href).scheme or href.startswith(("mailto:", "//")):
                continue
            target, fragment = urldefrag(href)
            dest = (path.parent / unquote(target)).resolve() if target else path
            if dest.is_dir():
                dest = dest / "index.html"
            checked += 1
            if not dest.is_file():
                broken.append(f"{path.relative_to(site)} -> {href}")
            elif fragment and dest.suffix == ".html":
                ids = pages[dest].ids if dest in pages else Page(dest).ids
                if unquote(fragment) not in ids:
                    broken.append(f"{path.relative_to(site)} -> {href} (no such anchor)")
    assert checked > 100 and not broken, broken[:20]
    home = pages[site / "README.html"]
    for c in CHAPTERS:
        assert f"notebooks/{c}.html" in home.links, f"the home page does not link to {c}"


# ------------------------------------------------------------------------------ in a browser


def _chromium() -> str | None:
    sys.path.insert(0, str(ROOT / "tests"))
    from browser_notebooks import find_chromium

    return find_chromium()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no line per request
        pass


@pytest.fixture(scope="module")
def browser_page(site):
    required = os.environ.get("SEGDEND_BROWSER_REQUIRED", "") == "1"
    chromium = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if chromium is None or sync_playwright is None:
        why = "no Chromium" if chromium is None else "no playwright package"
        if required:
            pytest.fail(f"browser test required but {why}")
        pytest.skip(f"browser test skipped: {why}")
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    from browser_notebooks import CHROMIUM_FLAGS

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        # the site is served here; anything else (a CDN's MathJax) is not reachable offline
        context.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(base) else route.abort()
            ),
        )
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page, base, errors
        browser.close()
    server.shutdown()


JS_FIGURES = """() => {
  const imgs = [...document.querySelectorAll('.cell_output img, .segdend-widget img')];
  return imgs.map(i => [i.complete && i.naturalWidth > 0, i.getAttribute('src').slice(0, 60)]);
}"""


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_in_a_browser_every_figure_shows_and_no_error(browser_page, chapter):
    page, base, errors = browser_page
    errors.clear()
    response = page.goto(f"{base}/notebooks/{chapter}.html", wait_until="load")
    assert response.ok
    figures = page.evaluate(JS_FIGURES)
    assert figures, f"{chapter}: no figure on the page"
    not_shown = [src for ok, src in figures if not ok]
    assert not not_shown, f"{chapter}: figures the browser could not show: {not_shown}"
    assert page.locator(".cell_output .traceback, .cell_output .stderr").count() == 0
    assert errors == [], f"{chapter}: JavaScript errors {errors}"
    SHOTS.mkdir(exist_ok=True)
    first = page.locator(".segdend-widget, .cell_output img").first
    first.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"book-{chapter}.png"))


def test_in_a_browser_the_links_lead_through_the_course(browser_page):
    page, base, errors = browser_page
    page.goto(f"{base}/index.html", wait_until="load")
    page.wait_for_url(f"{base}/README.html")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "book-home.png"))
    # the sidebar: every chapter, and where each link goes
    for c in CHAPTERS:
        page.goto(f"{base}/README.html", wait_until="load")
        link = page.locator(f'.bd-sidebar-primary a[href="notebooks/{c}.html"]')
        assert link.count() == 1, f"the sidebar has no link to {c}"
        link.click()
        page.wait_for_url(f"{base}/notebooks/{c}.html")
        assert page.locator("h1").first.inner_text().startswith(c[:2]), c
    # "next" from the home page through every chapter to the reference pages
    page.goto(f"{base}/README.html", wait_until="load")
    visited = []
    for _ in range(len(CHAPTERS) + len(DOCS)):
        nxt = page.locator("a.right-next")
        if not nxt.count():
            break
        nxt.first.click()
        page.wait_for_load_state("load")
        visited.append(page.url.removeprefix(base + "/"))
    assert visited[: len(CHAPTERS)] == [f"notebooks/{c}.html" for c in CHAPTERS]
    assert sorted(visited[len(CHAPTERS) :]) == [f"docs/{d}.html" for d in DOCS]
    assert errors == [], errors
