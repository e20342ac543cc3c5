"""The course notebooks' solutions are verified, and the student's functions drive the model.

Each test copies a course notebook to a temporary folder, changes one solution, runs it in a
Jupyter kernel (quick mode) and looks at what happened. Runs take 5-40 s each.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from segdend_lite.course import checks  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

#: One wrong solution per notebook: (notebook, exercise, correct line, wrong line).
MUTATIONS = [
    (
        "01_credit_assignment_and_backprop",
        "hidden_delta",
        "return (delta2 @ W2) * h * (1 - h)",
        "return -(delta2 @ W2) * h * (1 - h)",
    ),
    (
        "02_weight_transport_and_feedback_alignment",
        "fa_hidden_delta",
        "return (delta2 @ Y) * h * (1 - h)",
        "return (delta2 @ Y) * h",
    ),
    (
        "03_the_pyramidal_neuron",
        "euler_soma_step",
        "return V + dt * (-g_L * V + g_B * (V_b - V) + g_A * (V_a - V))",
        "return V + dt * (g_L * V + g_B * (V_b - V) + g_A * (V_a - V))",
    ),
    (
        "03_the_pyramidal_neuron",
        "small_dt_rings",
        'small_dt_rings = "no"',
        'small_dt_rings = "yes"',
    ),
    (
        "04_two_phases_and_plateau_potentials",
        "hidden_error",
        "return -k_B * (alpha_t - alpha_f) * phi_max * s * (1 - s)",
        "return k_B * (alpha_t - alpha_f) * phi_max * s * (1 - s)",
    ),
    (
        "05_the_learning_rule_and_why_it_works",
        "jacobian_beta",
        "return (phi_max * sigma_prime(C_f))[:, None] * (k_D * W_L)",
        "return (phi_max * sigma_prime(C_f))[:, None] * W_L",
    ),
    (
        "06_training_on_mnist",
        "train_epoch",
        "if n_done % every == 0 or n_done == len(order) or stopping:",
        "if n_done % every == 0:",
    ),
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
    """Quick mode, headless, a private progress file; the kernel inherits these."""
    monkeypatch.setenv("SEGDEND_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("SEGDEND_PROGRESS_FILE", str(tmp_path / "progress.json"))
    return monkeypatch


def _load(name: str):
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def _replace(nb, old: str, new: str) -> int:
    """Replace ``old`` by ``new`` in the code cells; return the index of the one cell changed."""
    hits = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and old in c.source]
    assert len(hits) == 1, f"{old!r} is in {len(hits)} cells; the test needs exactly one"
    nb.cells[hits[0]].source = nb.cells[hits[0]].source.replace(old, new)
    return hits[0]


def _run(nb, folder: Path):
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    return nb


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")


def _check_cell(nb, name: str) -> int:
    """Index of the cell that checks exercise ``name``."""
    for i, c in enumerate(nb.cells):
        if c.cell_type == "code" and (
            f'check("{name}", {name})' in c.source or f'check_prediction("{name}"' in c.source
        ):
            return i
    raise AssertionError(f"no check cell for {name}")


@pytest.mark.parametrize("notebook, name, old, new", MUTATIONS, ids=[m[1] for m in MUTATIONS])
def test_a_wrong_solution_in_a_course_notebook_fails_strict_runs(
    env, tmp_path, notebook, name, old, new
):
    env.setenv(checks.STRICT_ENV, "1")
    nb = _load(notebook)
    _replace(nb, old, new)
    with pytest.raises(nbclient.exceptions.CellExecutionError) as err:
        _run(nb, tmp_path)
    assert "AssertionError" in str(err.value) and f"{name}: " in str(err.value)
    failed = [
        i
        for i, c in enumerate(nb.cells)
        if any(o.get("output_type") == "error" for o in c.get("outputs", []))
    ]
    assert failed == [_check_cell(nb, name)], "the check cell, and only it, must fail"


def _counting(nb, old: str, body: str) -> int:
    """Replace the solution line ``old`` by ``body`` (which appends to CALLS); after the check
    cell, remember how many calls the check made; at the end, expose the count."""
    i = _replace(nb, old, body)
    nb.cells[i].source = "CALLS = []\n" + nb.cells[i].source
    return i


def test_a_different_correct_solution_is_the_one_that_trains(env, tmp_path):
    env.setenv(checks.STRICT_ENV, "1")
    nb = _load("01_credit_assignment_and_backprop")
    _counting(
        nb,
        "return (delta2 @ W2) * h * (1 - h)",
        'CALLS.append(1)\n    return np.einsum("nk,kj->nj", delta2, W2) * (h - h**2)',
    )
    k = _check_cell(nb, "hidden_delta")
    nb.cells.insert(k + 1, nbformat.v4.new_code_cell("n_at_check = len(CALLS)"))
    nb.cells.append(
        nbformat.v4.new_code_cell("print('calls after the check:', len(CALLS) - n_at_check)")
    )
    _run(nb, tmp_path)
    assert "hidden_delta: passed" in _stdout(nb.cells[k])
    calls = int(_stdout(nb.cells[-1]).split(":")[1])
    assert calls >= 60, f"the training loops called the student's hidden_delta {calls} times"
    assert not (tmp_path / "progress.json").exists(), (
        "running a course notebook (with its solutions) must not record progress"
    )


def test_a_student_notebook_records_progress_and_a_course_notebook_does_not(env, tmp_path):
    """The same cells, once as the course notebook and once with the line the student version
    adds: only the student version writes the progress file, and a course notebook leaves an
    existing file byte for byte as it was."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "build_exercises", Path(__file__).resolve().parents[1] / "scripts" / "build_exercises.py"
    )
    exercises = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exercises)

    progress = tmp_path / "progress.json"
    progress.write_text('{"sigmoid_prime": {"status": "tried", "attempts": 1}}')
    before = progress.read_bytes()
    nb = _load("01_credit_assignment_and_backprop")
    k = _check_cell(nb, "sigmoid_prime")
    nb.cells = nb.cells[: k + 1]  # up to the first check
    _run(nb, tmp_path)
    assert "sigmoid_prime: passed" in _stdout(nb.cells[k])
    assert progress.read_bytes() == before
    nb = _load("01_credit_assignment_and_backprop")
    i = next(j for j, c in enumerate(nb.cells) if "course.checks import" in c.source)
    nb.cells[i].source = exercises.with_recording(nb.cells[i].source)
    nb.cells = nb.cells[: k + 1]
    _run(nb, tmp_path)
    assert json.loads(progress.read_text())["sigmoid_prime"]["status"] == "passed"


def test_a_wrong_solution_runs_on_the_reference_and_says_so(env, tmp_path):
    env.delenv(checks.STRICT_ENV, raising=False)
    nb = _load("01_credit_assignment_and_backprop")
    _counting(nb, "return (delta2 @ W2) * h * (1 - h)", "CALLS.append(1)\n    return delta2 @ W2")
    k = _check_cell(nb, "hidden_delta")
    nb.cells.insert(k + 1, nbformat.v4.new_code_cell("n_at_check = len(CALLS)"))
    nb.cells.append(
        nbformat.v4.new_code_cell("print('calls after the check:', len(CALLS) - n_at_check)")
    )
    _run(nb, tmp_path)  # runs to the end
    out = _stdout(nb.cells[k])
    assert "hidden_delta: not yet" in out and checks.FALLBACK in out and "slope" in out
    assert int(_stdout(nb.cells[-1]).split(":")[1]) == 0, "the wrong function must not train"
    grads = next(c for c in nb.cells if "relative difference below 1e-6" in c.source)
    assert _stdout(grads).count("True") == 2, "the reference's gradients pass the gradient check"


def test_the_neuron_simulator_runs_the_students_euler_step(env, tmp_path):
    env.setenv(checks.STRICT_ENV, "1")
    nb = _load("03_the_pyramidal_neuron")
    _counting(
        nb,
        "return V + dt * (-g_L * V + g_B * (V_b - V) + g_A * (V_a - V))",
        "CALLS.append(1)\n    dVdt = g_B * V_b + g_A * V_a - (g_L + g_B + g_A) * V\n"
        "    return V + dVdt * dt",
    )
    sim = next(i for i, c in enumerate(nb.cells) if c.source.startswith("def simulate("))
    nb.cells.insert(sim + 1, nbformat.v4.new_code_cell("n_before = len(CALLS)"))
    nb.cells.insert(sim + 3, nbformat.v4.new_code_cell("print('calls:', len(CALLS) - n_before)"))
    _run(nb, tmp_path)
    assert "euler_soma_step: passed" in _stdout(nb.cells[_check_cell(nb, "euler_soma_step")])
    assert int(_stdout(nb.cells[sim + 3]).split(":")[1]) == 2 * 120, "two 120-ms simulations"


def test_the_students_sparse_feedback_is_the_one_the_network_gets(env, tmp_path):
    """A differently written correct sparsify passes, and the network is built with it."""
    env.setenv(checks.STRICT_ENV, "1")
    nb = _load("08_experiments")
    _counting(nb, "out = Y * gain", "CALLS.append(1)\n    out = np.multiply(gain, Y)")
    k = _check_cell(nb, "sparsify")
    use = next(j for j, c in enumerate(nb.cells) if "sparse.Y[0] = sparsify(" in c.source)
    nb.cells.insert(k + 1, nbformat.v4.new_code_cell("n_at_check = len(CALLS)"))
    nb.cells = nb.cells[: use + 2]  # the cells up to the one that builds the network
    nb.cells.append(nbformat.v4.new_code_cell("print('calls:', len(CALLS) - n_at_check)"))
    _run(nb, tmp_path)
    assert "sparsify: passed" in _stdout(nb.cells[k])
    assert int(_stdout(nb.cells[-1]).split(":")[1]) == 1, "the network's Y comes from sparsify"
