"""Binder and Colab: the badges and every notebook's set-up cell agree with each other.

The set-up cell (the first code cell of every notebook) installs the course on Colab, from the
repository at a pinned release tag, and turns on Colab's widget manager; elsewhere it does
nothing. It is the same in every notebook: the first code cell of notebooks/00_welcome.ipynb is
the one to copy into a new notebook, with an "Open in Colab" badge in its first markdown cell.
"""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    from pip._vendor import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
INSTALL = re.compile(
    r'%pip install .*"segdend-lite @ git\+https://github\.com/([\w.-]+/[\w.-]+)@([\w.-]+)"'
)
COLAB = re.compile(
    r"https://colab\.research\.google\.com/github/([\w.-]+/[\w.-]+)/blob/([\w.-]+)/([^)\s]+)"
)
BINDER = re.compile(
    r"https://mybinder\.org/v2/gh/([\w.-]+/[\w.-]+)/([\w.-]+)\?urlpath=lab/tree/([^)\s]+)"
)
NOTEBOOKS = sorted(
    p.relative_to(ROOT).as_posix()
    for folder in ("notebooks", "exercises", "exercises/solutions")
    for p in (ROOT / folder).glob("[0-9][0-9]_*.ipynb")
)


def _cells(rel: str) -> list[dict]:
    return json.loads((ROOT / rel).read_text())["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _setup_cell() -> str:
    return next(
        _source(c) for c in _cells("notebooks/00_welcome.ipynb") if c["cell_type"] == "code"
    )


def _repo_and_ref() -> tuple[str, str]:
    found = INSTALL.search(_setup_cell())
    assert found, "the set-up cell must `%pip install` the course from its GitHub repository"
    return found.group(1), found.group(2)


def test_setup_cell_installs_the_tagged_release():
    repo, ref = _repo_and_ref()
    assert ref == f"v{VERSION}", (
        f"the set-up cell installs {ref} but pyproject.toml says version {VERSION}: pin the tag "
        f"v{VERSION} (in every notebook and badge; the tag must exist on GitHub)"
    )
    assert "--no-deps" in _setup_cell(), "on Colab keep Colab's own numpy/matplotlib/ipywidgets"
    assert "except ImportError" in _setup_cell() and "setup_colab()" in _setup_cell()


@pytest.mark.parametrize("rel", NOTEBOOKS)
def test_every_notebook_starts_with_the_setup_cell_and_a_colab_badge(rel):
    cells = _cells(rel)
    first_code = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
    assert _source(cells[first_code]) == _setup_cell(), (
        f"{rel}: the first code cell must be the set-up cell, identical to the first code cell of "
        "notebooks/00_welcome.ipynb (copy it; for exercises/ run `make exercises`)"
    )
    before = "".join(_source(c) for c in cells[:first_code] if c["cell_type"] == "markdown")
    links = COLAB.findall(before)
    assert links, f"{rel}: no 'Open in Colab' badge in the markdown above the set-up cell"
    assert links == [(*_repo_and_ref(), rel)], (
        f"{rel}: the Colab badge must open this notebook, {rel}, at the set-up cell's repository "
        f"and tag {_repo_and_ref()}; it opens {links}"
    )


def test_readme_badges_open_existing_notebooks_of_the_same_repository():
    readme = (ROOT / "README.md").read_text()
    repo, ref = _repo_and_ref()
    binder = BINDER.findall(readme)
    assert binder, "the README needs a 'launch Binder' badge"
    for b_repo, _, path in binder:
        assert b_repo == repo, f"Binder badge for {b_repo}, the set-up cell installs from {repo}"
        assert (ROOT / path).is_file(), f"the Binder badge opens {path}, which does not exist"
    assert "exercises/00_welcome.ipynb" in [p for *_, p in binder], (
        "Binder opens the student notebook exercises/00_welcome.ipynb"
    )
    colab = COLAB.findall(readme)
    for c_repo, c_ref, path in colab:
        assert (c_repo, c_ref) == (repo, ref), f"README Colab badge {c_repo}@{c_ref} for {path}"
        assert (ROOT / path).is_file(), f"the README's Colab badge opens {path}: no such file"
    missing = [
        p.relative_to(ROOT).as_posix()
        for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
        if p.relative_to(ROOT).as_posix() not in [p for *_, p in colab]
    ]
    assert not missing, f"the README's notebook table lacks a Colab badge for {missing}"


class _FakeIPython:
    """Records the magics the set-up cell runs instead of running pip."""

    def __init__(self):
        self.magics = []

    def run_line_magic(self, name, line, _stack_depth=1):
        self.magics.append((name, line))


def _run_setup_cell(monkeypatch, hide_package: bool) -> _FakeIPython:
    from IPython.core.inputtransformer2 import TransformerManager

    code = TransformerManager().transform_cell(_setup_cell())
    ip = _FakeIPython()
    if hide_package:  # a fresh Colab runtime: the first import fails, pip "installs" it
        real = sys.modules.pop("segdend_lite")
        monkeypatch.setitem(sys.modules, "segdend_lite", None)  # import raises ImportError

        def run_line_magic(name, line, _stack_depth=1):
            ip.magics.append((name, line))
            sys.modules["segdend_lite"] = real

        ip.run_line_magic = run_line_magic
    exec(compile(code, "<setup cell>", "exec"), {"get_ipython": lambda: ip})
    return ip


def test_setup_cell_does_nothing_where_the_course_is_installed(monkeypatch):
    import segdend_lite  # noqa: F401

    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert _run_setup_cell(monkeypatch, hide_package=False).magics == []


def test_setup_cell_installs_the_course_when_it_is_missing(monkeypatch):
    import segdend_lite  # noqa: F401

    ip = _run_setup_cell(monkeypatch, hide_package=True)
    repo, ref = _repo_and_ref()
    assert len(ip.magics) == 1 and ip.magics[0][0] == "pip"
    assert f"git+https://github.com/{repo}@{ref}" in ip.magics[0][1]


def test_setup_colab_enables_the_widget_manager_only_on_colab(monkeypatch):
    from segdend_lite.course.environment import setup_colab

    calls = []
    output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append(1))
    google = types.ModuleType("google")
    colab = types.ModuleType("google.colab")
    colab.output = output
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    setup_colab()
    assert calls == [1]
    monkeypatch.setitem(sys.modules, "google.colab", None)  # not on Colab: import fails
    setup_colab()
    assert calls == [1]


@pytest.mark.parametrize("required", ["0", "1"])
def test_browser_test_without_chromium_says_so(required, monkeypatch):
    import os
    import subprocess

    env = dict(os.environ, SEGDEND_CHROMIUM="/nonexistent/chromium")
    env["SEGDEND_BROWSER_REQUIRED"] = required
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "browser_notebooks.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "browser test skipped: no Chromium found" in done.stdout
    assert done.returncode == int(required), "skips cleanly, unless .ci/run requires it"


def _lab_command() -> list[str]:
    """The `jupyter lab` command of `make lab`, as make would run it (dry run)."""
    import shlex
    import subprocess

    out = subprocess.run(
        ["make", "-n", "-W", "pyproject.toml", "lab", "VENV=/nonexistent-venv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(ln for ln in out.replace("\\\n", " ").splitlines() if "jupyter lab" in ln)
    return shlex.split(line)


def test_make_lab_opens_the_student_welcome_notebook_with_the_repository_as_root(tmp_path):
    """The URL `make lab` prints opens exercises/00_welcome.ipynb, and JupyterLab's root is the
    repository (so that exercises/, notebooks/ and exercises/solutions/ are all reachable)."""
    import os
    import shutil
    import socket
    import subprocess
    import time

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    pytest.importorskip("jupyterlab")
    cmd = _lab_command()
    assert cmd[0].endswith("/bin/jupyter") and cmd[1] == "lab"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [a for a in cmd[2:] if not a.startswith("--port")] + [f"--port={port}"]
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path), JUPYTER_CONFIG_DIR=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", *args],
        cwd=tmp_path,  # not the repository: the root must come from the command itself
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url, root, log = None, None, []
        deadline = time.time() + 90
        while url is None and time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            log.append(line)
            found = re.search(rf"http://127\.0\.0\.1:{port}(/\S*)\?token=", line)
            url = found.group(1) if found else None
            if "Serving notebooks from local directory:" in line:
                root = line.split("local directory:")[1].strip()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert url == "/lab/tree/exercises/00_welcome.ipynb", "".join(log[-20:])
    assert root is not None and Path(root).resolve() == ROOT, f"JupyterLab's root is {root}"
    assert (ROOT / "exercises" / "00_welcome.ipynb").is_file()
