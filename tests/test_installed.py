"""The package as students get it from a non-editable install (Binder's postBuild, Colab's
install cell, ``pip install .``): built into a fresh virtual environment, notebooks 06-08 run
in quick mode from a folder outside the repository find every stored run the repository has.

The environment's dependencies come from this test's own environment (a ``.pth`` line; its
editable install of the package is not seen), so only the package itself is built."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("06_training_on_mnist", "07_what_the_network_learned", "08_experiments")
#: What the notebooks print when a stored run is missing.
MISSING = ("no stored run", "not in this copy", "not stored in this copy")

RUNNER = r"""
import json, sys
import nbformat
from nbclient import NotebookClient
import segdend_lite
from segdend_lite.runs import results_folder, stored_names
out = {"package": segdend_lite.__file__, "results": str(results_folder()),
       "stored": stored_names(), "npz": [str(p) for p in results_folder().rglob("*.npz")],
       "text": {}}
for path in sys.argv[1:]:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3").execute()
    text = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            text.append(o.get("text", "") or o.get("data", {}).get("text/plain", ""))
    out["text"][path] = "\n".join(text)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("installed")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # this environment's packages, after the new one's own (its .pth files are not read, so
    # an editable install of segdend_lite here stays invisible there)
    Path(site, "outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
        + ["--no-deps", str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    return tmp, python


def test_notebooks_find_every_stored_run_after_a_non_editable_install(installed):
    tmp, python = installed
    work = tmp / "student"  # a folder outside the repository, with the notebooks only
    work.mkdir()
    paths = []
    for name in NOTEBOOKS:
        paths.append(work / f"{name}.ipynb")
        paths[-1].write_text((ROOT / "notebooks" / f"{name}.ipynb").read_text())
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SEGDEND_RESULTS")}
    env.update(SEGDEND_QUICK="1", MPLBACKEND="Agg", SEGDEND_WIDGETS="0")
    env["SEGDEND_PROGRESS_FILE"] = str(tmp / "progress.json")
    run = subprocess.run(
        [str(python), "-c", RUNNER, *map(str, paths)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert str(tmp / "venv") in out["package"] and str(ROOT) not in out["package"]
    assert out["results"].startswith(str(tmp / "venv")) and out["npz"] == []
    repo = ROOT / "segdend_lite" / "results"
    from segdend_lite.runs import stored_names

    assert out["stored"] == stored_names(repo) and len(out["stored"]) >= 10
    for path, text in out["text"].items():
        for phrase in MISSING:
            assert phrase not in text, f"{Path(path).name}: {phrase!r}"
        for line in text.splitlines():  # 06 names the runs the repository has not stored
            if line.startswith("not found (not stored yet):"):
                for what in line.split(":", 1)[1].split(","):
                    what = what.strip().removeprefix("reproduction/")
                    assert not (repo / what).exists(), f"{what} is in the repository"
    assert "stored runs: 0 hidden" in out["text"][str(paths[0])]  # 06's check found them
