"""Run every course and student notebook in a real browser, as a student would meet it.

    make test-browser        (or: .venv/bin/python tests/browser_notebooks.py [NOTEBOOK ...])

Starts JupyterLab on a free local port with a token (and SEGDEND_QUICK=1 in the server's
environment) on a temporary copy of ``notebooks/`` and ``exercises/`` (so nothing is saved into
the repository), opens each notebook in headless Chromium driven by the ``playwright`` package,
runs all cells (JupyterLab's own "Run All Cells" command), waits for the kernel to be idle and
checks, from the page:

- no error output (no error output in the notebook, no stderr output with a traceback);
- every widget output rendered (a widget view in place of each widget output; no "Error
  displaying widget", no "Loading widget..." left);
- for the first slider of each widget: pressing the right arrow key on its focused handle
  redraws the widget's figure (the image data changes).

It prints one line per notebook (cells run, widgets rendered, sliders that changed their figure,
screenshot path) and writes screenshots to ``browser-screenshots/`` (ignored by git).

Chromium: ``$SEGDEND_CHROMIUM``, else ``chromium`` / ``chromium-browser`` / ``google-chrome`` on
the PATH (Debian: ``apt-get install chromium``). Without Chromium or without the ``playwright``
package the test says so and exits 0, unless ``SEGDEND_BROWSER_REQUIRED=1`` (set by ``.ci/run``
after installing both), where it exits 1. Playwright's own browser download is not used.
``SEGDEND_BROWSER_TIMINGS=1`` adds the seconds to each step (open, kernel, run, widgets, shots).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "browser-screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}  # a laptop screen, JupyterLab's default layout
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
RUN_TIMEOUT_S = 240  # one notebook, all cells (quick mode: each well under 60 s)
REDRAW_TIMEOUT_S = 60  # one slider step, until the figure is redrawn


def find_chromium() -> str | None:
    env = os.environ.get("SEGDEND_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def notebooks(args: list[str]) -> list[Path]:
    if args:
        return [Path(a).resolve().relative_to(ROOT) for a in args]
    found = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    found += sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))
    return [p.relative_to(ROOT) for p in found]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------ the server


class Lab:
    """JupyterLab on a temporary copy of the course, quick mode, token, free port."""

    def __init__(self, workdir: Path):
        self.dir = workdir
        self.port = free_port()
        self.token = hashlib.sha256(os.urandom(16)).hexdigest()[:32]
        self.url = f"http://127.0.0.1:{self.port}"
        for sub in ("notebooks", "exercises"):
            if (ROOT / sub).is_dir():
                shutil.copytree(ROOT / sub, workdir / "root" / sub)
        settings = workdir / "settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        # no "would you like news?" toast and no update check
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
        env = dict(os.environ)
        env.update(
            SEGDEND_QUICK="1",
            SEGDEND_PROGRESS_FILE=str(workdir / "progress.json"),
            JUPYTER_CONFIG_DIR=str(workdir / "config"),
            JUPYTER_RUNTIME_DIR=str(workdir / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(workdir / "settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(workdir / "workspaces"),
        )
        env.pop("MPLBACKEND", None)  # the notebook's inline backend, as for a student
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={workdir / 'root'}",
            "--LabApp.expose_app_in_browser=True",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self.log = open(workdir / "jupyterlab.log", "wb")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait()

    def _wait(self, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited; see {self.dir / 'jupyterlab.log'}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# ------------------------------------------------------------------------------ the page

JS_READY = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  if (!w || !w.sessionContext || !w.content) return false;
  if (!w.context.isReady || !w.sessionContext.isReady) return false;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}"""

# JupyterLab's own "Run All Cells" (Run menu); not awaited: the caller polls, with a time limit
JS_RUN_ALL = """() => {
  window.jupyterapp.commands.execute('notebook:run-all-cells');
  return true;
}"""

JS_STATE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  const cells = [];
  for (const cell of w.content.widgets) {
    if (cell.model.type !== 'code') continue;
    if (!cell.model.sharedModel.getSource().trim()) continue;  // nothing to run
    cells.push({count: cell.model.executionCount,
                busy: cell.node.querySelector('.jp-InputPrompt')?.textContent.includes('*'),
                outputs: cell.model.outputs.toJSON()});
  }
  return {kernel: k ? k.status : 'none', cells};
}"""

JS_MARK_CELLS = (
    """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const mime = '%s';
  const marked = [];
  w.content.widgets.forEach((cell, i) => {
    if (cell.model.type !== 'code') return;
    cell.node.dataset.segdendCell = String(i);
    if (cell.model.outputs.toJSON().some(o => o.data && o.data[mime])) marked.push(i);
  });
  window.__segdendWidgetCells = marked;
  return marked.length;
}"""
    % WIDGET_MIME
)

JS_BUSY = """() => {
  const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  return k.status !== 'idle';
}"""

JS_OPEN = """async (path) => {
  const app = window.jupyterapp;
  const w = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
  app.shell.activateById(w.id);
  await w.context.ready;
  return w.id;
}"""

JS_CLOSE = """async () => {
  const w = window.jupyterapp.shell.currentWidget;
  if (!w || !w.sessionContext) return false;
  await w.sessionContext.shutdown();
  w.context.model.dirty = false;  // never asks to save; the files are a temporary copy anyway
  w.dispose();
  return true;
}"""


@dataclass
class Result:
    path: Path
    code_cells: int = 0
    cells_run: int = 0
    widgets: int = 0
    widgets_rendered: int = 0
    sliders: int = 0
    sliders_redrawn: int = 0
    seconds: float = 0.0
    screenshot: str = ""
    not_attempted: int = 0  # exercise checks that say "not attempted yet" (not an error)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        status = "ok" if not self.problems else "FAIL"
        return (
            f"{status:4} {str(self.path):58} cells run {self.cells_run}/{self.code_cells}, "
            f"widgets rendered {self.widgets_rendered}/{self.widgets}, sliders that changed "
            f"their figure {self.sliders_redrawn}/{self.sliders}, {self.seconds:.0f} s, "
            f"screenshot {self.screenshot}"
            + (f', "not attempted yet" {self.not_attempted}' if self.not_attempted else "")
            + (
                " [" + ", ".join(f"{k} {v:.0f}" for k, v in self.timings.items()) + "]"
                if os.environ.get("SEGDEND_BROWSER_TIMINGS")
                else ""
            )
        )


def _image_digest(locator) -> str:
    """A digest of every image inside ``locator`` (their data URLs or sources)."""
    srcs = locator.locator("img").evaluate_all("els => els.map(e => e.src)")
    return hashlib.sha256("\n".join(srcs).encode()).hexdigest()[:12] if srcs else ""


def open_lab(context, lab: Lab):
    """One JupyterLab page for all notebooks (a page load costs more than a notebook)."""
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{lab.url}/lab?token={lab.token}&reset")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=90_000)
    page.wait_for_selector(".jp-DirListing", timeout=90_000)  # the app is restored and ready
    return page


def run_notebook(page, rel: Path) -> Result:
    res = Result(rel)
    t0 = time.monotonic()
    try:
        page.evaluate(JS_OPEN, rel.as_posix())
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
        res.timings["open"] = time.monotonic() - t0
        end = time.monotonic() + 60
        while not page.evaluate(JS_READY):
            dialog = page.locator(".jp-Dialog")
            if dialog.count():  # kernel selection: accept the proposed kernel
                dialog.locator(".jp-mod-accept").first.click()
            if time.monotonic() > end:
                raise RuntimeError("the kernel did not start within 60 s")
            time.sleep(0.3)
        res.timings["kernel"] = time.monotonic() - t0
        page.evaluate(JS_RUN_ALL)
        end = time.monotonic() + RUN_TIMEOUT_S
        settled = 0
        while True:
            state = page.evaluate(JS_STATE)
            cells = state["cells"]
            stopped = any(o.get("output_type") == "error" for c in cells for o in c["outputs"])
            done = all(c["count"] is not None for c in cells) or stopped
            idle = state["kernel"] == "idle" and not any(c["busy"] for c in cells)
            settled = settled + 1 if done and idle else 0
            if settled >= 2:  # twice in a row, half a second apart
                break
            if time.monotonic() > end:
                res.problems.append(f"still running after {RUN_TIMEOUT_S} s")
                break
            time.sleep(0.5)
        res.timings["run"] = time.monotonic() - t0
        _check_outputs(page, state, res)
        shot_widgets = _check_widgets(page, res)
        _check_page(page, res)
        res.timings["widgets"] = time.monotonic() - t0
        SHOTS.mkdir(exist_ok=True)
        name = rel.as_posix().replace("/", "__").removesuffix(".ipynb")
        if shot_widgets:
            shot_widgets[0].scroll_into_view_if_needed()
        shot = SHOTS / f"{name}.png"
        page.screenshot(path=str(shot))
        res.screenshot = str(shot.relative_to(ROOT))
        for i, loc in enumerate(shot_widgets):
            loc.screenshot(path=str(SHOTS / f"{name}-widget{i}.png"))
        res.timings["shots"] = time.monotonic() - t0
    except Exception as exc:  # noqa: BLE001 - report and go on with the next notebook
        res.problems.append(f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
    finally:
        try:
            page.evaluate(JS_CLOSE)
        except Exception as exc:  # noqa: BLE001
            res.problems.append(f"closing the notebook: {exc}".splitlines()[0][:300])
        res.seconds = time.monotonic() - t0
    return res


def _check_outputs(page, state: dict, res: Result) -> None:
    res.code_cells = len(state["cells"])
    res.cells_run = sum(c["count"] is not None for c in state["cells"])
    if res.cells_run < res.code_cells:
        res.problems.append(f"only {res.cells_run} of {res.code_cells} code cells ran")
    for i, cell in enumerate(state["cells"]):
        for out in cell["outputs"]:
            if out.get("output_type") == "error":
                res.problems.append(
                    f"code cell {i + 1}: {out.get('ename')}: {out.get('evalue', '')[:200]}"
                )
            elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = "".join(out.get("text", ""))
                if "Traceback" in text or "Error" in text:
                    res.problems.append(f"code cell {i + 1}: stderr: {text.strip()[:200]}")
                elif text.strip():
                    res.notes.append(f"code cell {i + 1}: stderr: {text.strip()[:160]}")
            elif out.get("output_type") == "stream":
                res.not_attempted += "not attempted yet" in "".join(out.get("text", ""))
            res.widgets += WIDGET_MIME in (out.get("data") or {})


def _check_page(page, res: Result) -> None:
    """What the student sees, widgets' own outputs included: no traceback, no widget error."""
    stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    for text in stderr.all_inner_texts():
        if "Traceback" in text or "Error" in text:
            res.problems.append(f"an error on the page: {text.strip()[:200]}")
    for text in page.locator(".jp-OutputArea-output").all_inner_texts():
        if "Error displaying widget" in text:
            res.problems.append(f"on the page: {text.strip()[:200]}")


def _widget_outputs(page) -> list:
    """The top-level outputs of the notebook that hold a widget view, or should."""
    page.evaluate(JS_MARK_CELLS)
    found = []
    for i in page.evaluate("() => window.__segdendWidgetCells"):
        outs = page.locator(
            f'.jp-CodeCell[data-segdend-cell="{i}"] .jp-Cell-outputArea > .jp-OutputArea-child'
            " > .jp-OutputArea-output"
        )
        for j in range(outs.count()):
            out = outs.nth(j)
            text = out.inner_text()
            if (
                out.locator(":scope > .jupyter-widgets").count()
                or "Error displaying widget" in text
                or "Loading widget" in text
            ):
                found.append(out)
    return found


def _check_widgets(page, res: Result) -> list:
    shots = []
    for i, out in enumerate(_widget_outputs(page)):
        text = out.inner_text()
        if "Error displaying widget" in text or "Loading widget" in text:
            res.problems.append(f"widget {i + 1}: {text.strip()[:120]}")
            continue
        res.widgets_rendered += 1
        handles = out.locator(".widget-slider .noUi-handle")
        if not handles.count():
            continue
        res.sliders += 1
        shots.append(out)
        out.scroll_into_view_if_needed()
        before = _image_digest(out)
        if not before:
            res.problems.append(f"widget {i + 1}: no figure before moving its slider")
            continue
        handle = handles.first
        value = handle.get_attribute("aria-valuenow")
        handle.focus()
        handle.press("ArrowRight")
        end = time.monotonic() + 5
        while handle.get_attribute("aria-valuenow") == value and time.monotonic() < end:
            time.sleep(0.1)
        if handle.get_attribute("aria-valuenow") == value:
            res.problems.append(f"widget {i + 1}: the right arrow key did not move its slider")
            continue
        end = time.monotonic() + REDRAW_TIMEOUT_S
        after = before
        while time.monotonic() < end:
            time.sleep(0.5)
            after = _image_digest(out)
            busy = page.evaluate(JS_BUSY)
            if after and after != before and not busy:
                break
        if after and after != before:
            res.sliders_redrawn += 1
        else:
            res.problems.append(f"widget {i + 1}: moving its first slider left the figure as is")
    if res.widgets_rendered < res.widgets:
        res.problems.append(f"{res.widgets - res.widgets_rendered} widget(s) not rendered")
    return shots


# ------------------------------------------------------------------------------ main


def main(argv: list[str]) -> int:
    required = os.environ.get("SEGDEND_BROWSER_REQUIRED", "") == "1"
    skip = 1 if required else 0
    chromium = find_chromium()
    if chromium is None:
        print(
            "browser test skipped: no Chromium found (set SEGDEND_CHROMIUM, or on Debian/Ubuntu "
            "`sudo apt-get install chromium`)"
        )
        return skip
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print(
            "browser test skipped: the `playwright` package is not installed "
            "(`.venv/bin/pip install playwright`; its own browser download is not needed)"
        )
        return skip
    paths = notebooks(argv)
    print(f"browser test: {len(paths)} notebooks in {chromium} (quick mode)")
    t0 = time.monotonic()
    results = []
    with tempfile.TemporaryDirectory(prefix="segdend-browser-") as tmp:
        lab = Lab(Path(tmp))
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=chromium, args=CHROMIUM_FLAGS, headless=True
                )
                context = browser.new_context(viewport=VIEWPORT)
                page = open_lab(context, lab)
                for rel in paths:
                    res = run_notebook(page, rel)
                    print(res.line(), flush=True)
                    for p in res.problems:
                        print(f"       - {p}", flush=True)
                    for n in res.notes:
                        print(f"       note: {n}", flush=True)
                    results.append(res)
                browser.close()
        finally:
            lab.stop()
    bad = [r for r in results if r.problems]
    print(
        f"browser test: {len(results) - len(bad)} of {len(results)} notebooks passed in "
        f"{time.monotonic() - t0:.0f} s; screenshots in {SHOTS.relative_to(ROOT)}/"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
