"""The course notebooks' solutions are verified, and the student's functions drive the model.

Each test reads a course notebook's code cells (its JSON), changes one solution, runs the cells
it needs in this process (``NotebookCells`` in conftest.py; quick mode, a private progress file)
up to the cell that shows the behaviour (for a wrong exercise: the set-up cells, the function
and its check only), and looks at what happened. The notebooks themselves
run once, top to bottom in a kernel, under nbval (``make test``).
"""

from __future__ import annotations

import json

import pytest

from conftest import NotebookCells, load_script
from segdend_lite.course import checks

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

NB01 = "01_credit_assignment_and_backprop"
HIDDEN_DELTA = "return (delta2 @ W2) * h * (1 - h)"
#: notebook 01's first training run (it calls backprop, hence hidden_delta)
TRAINING_01 = "epochs = 1 if QUICK else 3"


def _counting(cells: NotebookCells, old: str, body: str) -> None:
    """Replace the solution line ``old`` by ``body`` (which appends to CALLS)."""
    i = cells.replace(old, body)
    cells.sources[i] = "CALLS = []\n" + cells.sources[i]


@pytest.mark.parametrize("notebook, name, old, new", MUTATIONS, ids=[m[1] for m in MUTATIONS])
def test_a_wrong_solution_in_a_course_notebook_fails_strict_runs(
    notebook_env, notebook, name, old, new
):
    notebook_env.setenv(checks.STRICT_ENV, "1")
    cells = NotebookCells(notebook)
    defined = cells.replace(old, new)
    k = cells.check_cell(name)
    if "check_prediction(" in cells.sources[k]:  # a prediction is checked on what ran before
        cells.run(upto=k)
    else:  # an exercise: the set-up cells, the function, its check
        setup = cells.index("course.checks import")
        assert setup < defined < k
        cells.run_cells([*range(setup + 1), defined, k])
    assert cells.error is not None, f"{notebook}: the wrong {name} passed its strict check"
    where, exc = cells.error
    assert where == k, f"cell {where} failed before the check cell {k}: {exc!r}"
    assert isinstance(exc, AssertionError) and f"{name}: " in str(exc), repr(exc)


def test_a_different_correct_solution_is_the_one_that_trains(notebook_env, tmp_path):
    notebook_env.setenv(checks.STRICT_ENV, "1")
    cells = NotebookCells(NB01)
    _counting(
        cells,
        HIDDEN_DELTA,
        'CALLS.append(1)\n    return np.einsum("nk,kj->nj", delta2, W2) * (h - h**2)',
    )
    k = cells.check_cell("hidden_delta")
    cells.insert(k + 1, "n_at_check = len(CALLS)")
    train = cells.index(TRAINING_01)
    cells.run(upto=train)
    assert cells.error is None, cells.error
    assert "hidden_delta: passed" in cells.stdout[k]
    calls = len(cells.namespace["CALLS"]) - cells.namespace["n_at_check"]
    assert calls >= 60, f"the training loop called the student's hidden_delta {calls} times"
    assert not (tmp_path / "progress.json").exists(), (
        "running a course notebook (with its solutions) must not record progress"
    )


def test_a_student_notebook_records_progress_and_a_course_notebook_does_not(notebook_env, tmp_path):
    """The same cells, once as the course notebook and once with the line the student version
    adds: only the student version writes the progress file, and a course notebook leaves an
    existing file byte for byte as it was."""
    exercises = load_script("scripts/build_exercises.py")
    progress = tmp_path / "progress.json"
    progress.write_text('{"sigmoid_prime": {"status": "tried", "attempts": 1}}')
    before = progress.read_bytes()
    cells = NotebookCells(NB01)
    k = cells.check_cell("sigmoid_prime")
    cells.run(upto=k)  # up to the first check
    assert cells.error is None, cells.error
    assert "sigmoid_prime: passed" in cells.stdout[k]
    assert progress.read_bytes() == before
    cells = NotebookCells(NB01)
    i = cells.index("course.checks import")
    cells.sources[i] = exercises.with_recording(cells.sources[i])
    cells.run(upto=k)
    assert cells.error is None, cells.error
    assert json.loads(progress.read_text())["sigmoid_prime"]["status"] == "passed"


def test_a_wrong_solution_runs_on_the_reference_and_says_so(notebook_env):
    notebook_env.delenv(checks.STRICT_ENV, raising=False)
    cells = NotebookCells(NB01)
    _counting(cells, HIDDEN_DELTA, "CALLS.append(1)\n    return delta2 @ W2")
    k = cells.check_cell("hidden_delta")
    cells.insert(k + 1, "n_at_check = len(CALLS)")
    train = cells.index(TRAINING_01)
    cells.run(upto=train)  # through the gradient check and the first training run
    assert cells.error is None, cells.error
    out = cells.stdout[k]
    assert "hidden_delta: not yet" in out and checks.FALLBACK in out and "slope" in out
    calls = len(cells.namespace["CALLS"]) - cells.namespace["n_at_check"]
    assert calls == 0, f"the wrong function was called {calls} times after its check"
    grads = cells.index("relative difference below 1e-6")
    assert grads < train
    assert cells.stdout[grads].count("True") == 2, "the reference's gradients pass the check"


def test_the_neuron_simulator_runs_the_students_euler_step(notebook_env):
    notebook_env.setenv(checks.STRICT_ENV, "1")
    cells = NotebookCells("03_the_pyramidal_neuron")
    _counting(
        cells,
        "return V + dt * (-g_L * V + g_B * (V_b - V) + g_A * (V_a - V))",
        "CALLS.append(1)\n    dVdt = g_B * V_b + g_A * V_a - (g_L + g_B + g_A) * V\n"
        "    return V + dVdt * dt",
    )
    sim = next(i for i, s in enumerate(cells.sources) if s.startswith("def simulate("))
    cells.insert(sim + 1, "n_before = len(CALLS)")
    cells.run(upto=sim + 2)  # the cell after the definition runs the two simulations
    assert cells.error is None, cells.error
    assert "euler_soma_step: passed" in cells.stdout[cells.check_cell("euler_soma_step")]
    calls = len(cells.namespace["CALLS"]) - cells.namespace["n_before"]
    assert calls == 2 * 120, f"two 120-ms simulations, {calls} Euler steps"


def test_the_students_sparse_feedback_is_the_one_the_network_gets(notebook_env):
    """A differently written correct sparsify passes, and the network is built with it."""
    notebook_env.setenv(checks.STRICT_ENV, "1")
    cells = NotebookCells("08_experiments")
    _counting(cells, "out = Y * gain", "CALLS.append(1)\n    out = np.multiply(gain, Y)")
    k = cells.check_cell("sparsify")
    cells.insert(k + 1, "n_at_check = len(CALLS)")
    use = cells.index("sparse.Y[0] = sparsify(")
    cells.run(upto=use)  # the cells up to the one that builds the network
    assert cells.error is None, cells.error
    assert "sparsify: passed" in cells.stdout[k]
    calls = len(cells.namespace["CALLS"]) - cells.namespace["n_at_check"]
    assert calls == 1, "the network's Y comes from sparsify"
