"""Sphinx configuration of the course site (``make book``).

The site is built from the repository itself (``sphinx-build -c book . OUT``): its home page is
``README.md``, its chapters are ``notebooks/NN_*.ipynb``, executed by MyST-NB when the site is
built, and its reference pages are ``docs/*.md``. Nothing is copied: a change to a notebook or
a page shows on the next build.

Execution: MyST-NB's ``cache`` mode (jupyter-cache) keeps each executed notebook keyed by its
code cells, so a rebuild re-executes only the notebooks whose code changed. The cache folder
also carries the run mode (``SEGDEND_QUICK``) and a digest of the library's code and of the
stored runs the notebooks read (``segdend_lite/**/*.json``): a change to either gives a new
folder, and then every notebook runs again (the outputs would be stale otherwise).

Widgets: the course's widgets need a running kernel. The site shows each one as it was when
its cell ran (its controls' values and its figure), through ``static_widgets.py`` beside this
file; no widget JavaScript is loaded from elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from segdend_lite.course.environment import quick_mode  # noqa: E402

QUICK = quick_mode()

project = "segdend-lite"
author = "the segdend-lite authors"
copyright = "the segdend-lite authors; course text and code under the MIT license"
html_title = "segdend-lite: how the brain might do deep learning"

extensions = ["myst_nb", "static_widgets"]

# ------------------------------------------------------------------------------ the pages

#: The course's chapters, in order (each notebook is read from notebooks/ when the site builds).
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
#: Reference pages first in this order, then any other page of docs/ (e.g. a new one).
DOC_ORDER = ["model", "experiments", "naming", "instructors"]
DOCS = [d for d in DOC_ORDER if (ROOT / "docs" / f"{d}.md").exists()] + sorted(
    p.stem for p in (ROOT / "docs").glob("*.md") if p.stem not in DOC_ORDER
)

root_doc = "README"
include_patterns = ["README.md", "notebooks/[0-9][0-9]_*.ipynb", "docs/*.md"]
exclude_patterns = [
    "_build",
    ".venv*",
    ".git",
    "**/.ipynb_checkpoints",
    "exercises",
    "results",
    "segdend_lite",
    "grading",
]

# README.md has no table of contents of its own (it is also the code host's front page): the
# site adds one, hidden (it makes the sidebar and the previous/next links), and links the
# notebook names of README's table to their chapters.
TOC = "\n".join(
    [
        "",
        "```{toctree}",
        ":hidden:",
        ":caption: The course",
        "",
        *(f"notebooks/{c}" for c in CHAPTERS),
        "```",
        "",
        "```{toctree}",
        ":hidden:",
        ":caption: Reference",
        "",
        *(f"docs/{d}" for d in DOCS),
        "```",
        "",
    ]
)


def _readme_for_the_site(app, docname, source):
    if docname != "README":
        return
    text = source[0]
    for c in CHAPTERS:
        text = text.replace(f"| `{c}` |", f"| [`{c}`](notebooks/{c}.ipynb) |")
    source[0] = text + TOC


# ------------------------------------------------------------------------------ execution


def _library_digest() -> str:
    """A digest of what the notebooks' outputs depend on besides their own code."""
    h = hashlib.sha256()
    files = sorted((ROOT / "segdend_lite").rglob("*.py"))
    files += sorted((ROOT / "segdend_lite").rglob("*.json"))  # stored runs, the registry
    files = [f for f in files if f.name != "solutions.json"]  # only hint(name, 3) reads it
    for path in files:
        h.update(path.relative_to(ROOT).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


CACHE_ROOT = ROOT / "_build" / "jupyter_cache"
_mode = "quick" if QUICK else "default"
nb_execution_mode = "cache"
nb_execution_cache_path = str(CACHE_ROOT / f"{_mode}-{_library_digest()}")
nb_execution_timeout = 900  # seconds per cell (notebook 06 trains for minutes in default mode)
nb_execution_raise_on_error = True  # a notebook that fails fails the build
nb_execution_show_tb = True
nb_execution_allow_errors = False
nb_merge_streams = True
nb_ipywidgets_js = {}  # widgets are drawn as they were when their cell ran (static_widgets.py)

# Kernels inherit this process's environment: the notebook's own inline figures (not a
# non-interactive backend a caller may have set) and a progress file of the build's own.
os.environ.pop("MPLBACKEND", None)
os.environ["SEGDEND_PROGRESS_FILE"] = str(ROOT / "_build" / "book-progress.json")
os.environ.pop("SEGDEND_STRICT_CHECKS", None)


def _prune_old_caches(app, config):
    """Remove this mode's caches made for another version of the library."""
    if not CACHE_ROOT.is_dir():
        return
    for old in CACHE_ROOT.glob(f"{_mode}-*"):
        if old.is_dir() and str(old) != nb_execution_cache_path:
            shutil.rmtree(old, ignore_errors=True)


# ------------------------------------------------------------------------------ the look

html_theme = "sphinx_book_theme"
html_theme_options = {
    "repository_url": "https://github.com/segdend-lite/segdend-lite",
    "use_repository_button": True,
    "use_download_button": True,
    "show_toc_level": 2,
    "home_page_in_toc": True,
}
html_static_path = ["_static"]
html_last_updated_fmt = None
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]  # heading levels in READMEs


def _front_door(app, exception):
    """``index.html``, which static hosts serve at the site's address, opens README.html."""
    if exception is None and app.builder.format == "html":
        (Path(app.outdir) / "index.html").write_text(
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            '<meta http-equiv="refresh" content="0; url=README.html">'
            "<title>segdend-lite</title></head>"
            '<body><a href="README.html">segdend-lite: the course</a></body></html>\n'
        )


def setup(app):
    app.connect("source-read", _readme_for_the_site)
    app.connect("config-inited", _prune_old_caches)
    app.connect("build-finished", _front_door)
    return {"parallel_read_safe": True}
