"""Notebooks 07-08: a wrong solution fails a strict run at its check cell; a differently written
correct solution is the one the later cells use. (Each test runs part of a notebook in quick
mode in a Jupyter kernel, 5-20 s.)"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from segdend_lite.course import checks  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

MUTATIONS = [
    (
        "07_what_the_network_learned",
        "knn_accuracy",
        "np.fill_diagonal(d2, np.inf)  # a point is not its own neighbour",
        "pass",
    ),
    ("08_experiments", "sparsify", "out = Y * gain", "out = Y.copy()"),
]


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGDEND_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("SEGDEND_PROGRESS_FILE", str(tmp_path / "progress.json"))
    monkeypatch.setenv(checks.STRICT_ENV, "1")
    return monkeypatch


def _edit(nb, old: str, new: str) -> int:
    hits = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and old in c.source]
    assert len(hits) == 1, f"{old!r} is in {len(hits)} cells; the test needs exactly one"
    nb.cells[hits[0]].source = nb.cells[hits[0]].source.replace(old, new)
    return hits[0]


def _check_cell(nb, name: str) -> int:
    return next(
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and f'check("{name}", {name})' in c.source
    )


def _run(nb, folder: Path):
    nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()


@pytest.mark.parametrize("notebook, name, old, new", MUTATIONS, ids=[m[1] for m in MUTATIONS])
def test_a_wrong_solution_fails_at_its_check_cell(env, tmp_path, notebook, name, old, new):
    nb = nbformat.read(NOTEBOOKS / f"{notebook}.ipynb", as_version=4)
    _edit(nb, old, new)
    nb.cells = nb.cells[: _check_cell(nb, name) + 2]
    with pytest.raises(nbclient.exceptions.CellExecutionError) as err:
        _run(nb, tmp_path)
    assert "AssertionError" in str(err.value) and f"{name}: not yet" in str(err.value)
    failed = [
        i
        for i, c in enumerate(nb.cells)
        if any(o.get("output_type") == "error" for o in c.get("outputs", []))
    ]
    assert failed == [_check_cell(nb, name)]


def test_the_students_sparse_feedback_is_the_one_the_network_gets(env, tmp_path):
    """A differently written correct sparsify passes, and the network is built with it."""
    nb = nbformat.read(NOTEBOOKS / "08_experiments.ipynb", as_version=4)
    i = _edit(
        nb,
        "out = Y * gain",
        "CALLS.append(1)\n    out = np.multiply(gain, Y)",
    )
    nb.cells[i].source = "CALLS = []\n" + nb.cells[i].source
    k = _check_cell(nb, "sparsify")
    use = next(j for j, c in enumerate(nb.cells) if "sparse.Y[0] = sparsify(" in c.source)
    nb.cells.insert(k + 1, nbformat.v4.new_code_cell("n_at_check = len(CALLS)"))
    nb.cells = nb.cells[: use + 2]
    nb.cells.append(nbformat.v4.new_code_cell("print('calls:', len(CALLS) - n_at_check)"))
    _run(nb, tmp_path)
    out = "".join(o.get("text", "") for o in nb.cells[k].outputs if o.get("name") == "stdout")
    assert "sparsify: passed" in out
    calls = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("name") == "stdout")
    assert int(calls.split(":")[1]) == 1
