"""Self-checks for the course's exercises: ``check_<exercise>(your_function)`` and ``hint``.

A check runs your function and the reference on several inputs, edge cases included, and prints
one short message: passed; "not attempted yet" for an untouched stub; or what is wrong, found by
comparing your output with known mistakes (a missing factor, a flipped sign, the wrong matrix).
``hint(name, level)`` gives tiered hints: 1, 2, then 3 = the solution. Passed exercises are
remembered in a small JSON file (``~/.segdend_lite/progress.json``, or
``$SEGDEND_PROGRESS_FILE``); ``progress()`` lists them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from segdend_lite.model import learning, mlp, neuron
from segdend_lite.atomic import atomic_write_bytes
from segdend_lite.model.neuron import sigma

Cases = Callable[[np.random.Generator], list[tuple]]


@dataclass
class Exercise:
    """One exercise: where it lives, the reference, test inputs, known mistakes, hints."""

    name: str
    notebook: str
    title: str
    reference: Callable
    cases: Cases
    mistakes: list[tuple[Callable, str]] = field(default_factory=list)
    hints: tuple[str, str] = ("", "")
    solution: str = ""
    compare: Callable | None = None  # custom comparison (student, reference, args) -> bool


EXERCISES: dict[str, Exercise] = {}


def _register(ex: Exercise) -> Exercise:
    EXERCISES[ex.name] = ex
    return ex


def _close(a, b, tol=1e-7) -> bool:
    try:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=tol, atol=tol))


def _shape(x):
    try:
        return np.shape(x)
    except Exception:  # noqa: BLE001
        return None


# ------------------------------------------------------------------------------ progress


def _progress_file() -> Path:
    env = os.environ.get("SEGDEND_PROGRESS_FILE")
    return Path(env) if env else Path.home() / ".segdend_lite" / "progress.json"


def _load_progress() -> dict:
    try:
        return json.loads(_progress_file().read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _mark_passed(name: str) -> None:
    data = _load_progress()
    data[name] = "passed"
    try:
        atomic_write_bytes(_progress_file(), json.dumps(data, indent=1, sort_keys=True).encode())
    except OSError:
        pass  # a read-only home must not break the check


def progress(show: bool = True) -> dict[str, bool]:
    """Which exercises pass, by notebook. Prints a short table unless ``show=False``."""
    done = _load_progress()
    status = {name: done.get(name) == "passed" for name in EXERCISES}
    if show:
        for nb in sorted({e.notebook for e in EXERCISES.values()}):
            names = [n for n, e in EXERCISES.items() if e.notebook == nb]
            ticks = "  ".join(f"[{'x' if status[n] else ' '}] {n}" for n in names)
            print(f"{nb}: {ticks}")
        print(f"{sum(status.values())} of {len(status)} exercises passed")
    return status


# ------------------------------------------------------------------------------ the check


def check(name: str, student: Callable, quiet: bool = False) -> str:
    """Run the check of exercise ``name`` on ``student`` and return (and print) the verdict."""
    ex = EXERCISES[name]
    rng = np.random.default_rng(1234)
    verdict = None
    for args in ex.cases(rng):
        expected = ex.reference(*_copy(args))
        try:
            got = student(*_copy(args))
        except NotImplementedError:
            verdict = f"{name}: not attempted yet. Replace the `raise NotImplementedError` line."
            break
        except Exception as exc:  # noqa: BLE001 - the student's code may raise anything
            verdict = f"{name}: your function raised {type(exc).__name__}: {exc}"
            break
        same = ex.compare(got, expected, args) if ex.compare else _close(got, expected)
        if same:
            continue
        for mistake, message in ex.mistakes:
            wrong = mistake(*_copy(args))
            if ex.compare(got, wrong, args) if ex.compare else _close(got, wrong):
                verdict = f"{name}: not yet. {message}"
                break
        else:
            if _shape(got) != _shape(expected):
                verdict = (
                    f"{name}: not yet. The result has shape {_shape(got)}; "
                    f"expected {_shape(expected)}."
                )
            else:
                verdict = (
                    f"{name}: not yet. Your values differ from the reference "
                    f"(e.g. {np.ravel(got)[:3]} vs {np.ravel(expected)[:3]}). "
                    f"Try hint('{name}', 1)."
                )
        break
    if verdict is None:
        verdict = f"{name}: passed."
        _mark_passed(name)
    if not quiet:
        print(verdict)
    return verdict


def _copy(args: tuple) -> tuple:
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def hint(name: str, level: int = 1) -> str:
    """Hint ``level`` 1 or 2 for exercise ``name``; level 3 prints the solution."""
    if name not in EXERCISES:
        raise ValueError(f"no exercise {name!r}; exercises: {', '.join(EXERCISES)}")
    ex = EXERCISES[name]
    if level not in (1, 2, 3):
        raise ValueError("level is 1, 2 or 3 (3 = the solution)")
    text = ex.hints[level - 1] if level < 3 else "Solution:\n" + ex.solution.strip()
    print(text)
    return text


# ------------------------------------------------------------------------------ exercises
# Notebook 01: credit assignment and backprop


_register(
    Exercise(
        "sigmoid_prime",
        "01",
        "the derivative of the logistic function",
        neuron.sigma_prime,
        lambda rng: [(np.array([0.0]),), (rng.normal(0, 3, 7),), (np.array([-40.0, 40.0]),)],
        [
            (
                lambda a: sigma(a),
                "You returned sigma(a) itself; the derivative is sigma(a)(1 - sigma(a)).",
            ),
            (lambda a: sigma(a) * (1 + sigma(a)), "A sign: it is sigma(a) * (1 - sigma(a))."),
            (
                lambda a: a * (1 - a),
                "You applied s(1 - s) to a itself; first compute s = sigma(a).",
            ),
        ],
        (
            "The logistic function's derivative can be written with the function itself.",
            "sigma'(a) = sigma(a) * (1 - sigma(a)); use segdend_lite.model.neuron.sigma.",
        ),
        "s = sigma(a)\nreturn s * (1 - s)",
    )
)


def _hidden_delta(delta2, M, h):
    """``(delta2 @ M) * h (1 - h)``: backprop with M = W2, feedback alignment with M = Y."""
    return (delta2 @ M) * h * (1.0 - h)


def _delta_cases(rng):
    h = sigma(rng.normal(0, 1, (4, 6)))
    return [
        (rng.normal(0, 0.1, (4, 3)), rng.normal(0, 1, (3, 6)), h),
        (rng.normal(0, 0.1, (1, 3)), rng.normal(0, 1, (3, 6)), h[:1]),
    ]


_register(
    Exercise(
        "hidden_delta",
        "01",
        "backprop of the output error to the hidden layer",
        _hidden_delta,
        _delta_cases,
        [
            (
                lambda d, W, h: d @ W,
                "You forgot the derivative of the hidden sigmoid, h * (1 - h).",
            ),
            (lambda d, W, h: (d @ W) * h, "The hidden sigmoid's derivative is h * (1 - h), not h."),
            (
                lambda d, W, h: -(d @ W) * h * (1 - h),
                "A sign flipped: delta1 = (delta2 @ W2) * h(1-h).",
            ),
        ],
        (
            "Each hidden unit's error is the output errors it contributed to, weighted by W2, "
            "times the "
            "slope of its own nonlinearity.",
            "delta2 has shape (N, 10) and W2 (10, n_h): delta2 @ W2 is (N, n_h). "
            "Multiply by h * (1 - h).",
        ),
        "return (delta2 @ W2) * h * (1 - h)",
    )
)


def _quadratic(w):
    return float(np.sum(w**3) + 2.0 * np.sum(w))


def _forward_diff(f, w, eps=1e-5):
    g = np.zeros_like(w)
    base = f(w)
    for i in np.ndindex(w.shape):
        old = w[i]
        w[i] = old + eps
        g[i] = (f(w) - base) / eps
        w[i] = old
    return g


_register(
    Exercise(
        "numerical_gradient",
        "01",
        "a numerical gradient by central differences",
        mlp.numerical_gradient,
        lambda rng: [(_quadratic, rng.normal(0, 1, (3, 2))), (_quadratic, np.array([0.5]))],
        [
            (
                _forward_diff,
                "That is a forward difference (f(w+eps) - f(w))/eps; use the central "
                "difference (f(w+eps) - f(w-eps)) / (2 eps), which is far more accurate.",
            )
        ],
        (
            "Nudge one weight up and down by eps, evaluate f each time, and put the weight back.",
            "g[i] = (f(w with w[i]+eps) - f(w with w[i]-eps)) / (2*eps); "
            "loop with np.ndindex(w.shape).",
        ),
        "g = np.zeros_like(w)\nfor i in np.ndindex(w.shape):\n    old = w[i]\n"
        "    w[i] = old + eps\n    up = f(w)\n    w[i] = old - eps\n    down = f(w)\n"
        "    w[i] = old\n    g[i] = (up - down) / (2 * eps)\nreturn g",
        compare=lambda got, exp, args: _close(got, exp, 1e-6),
    )
)

# Notebook 02: weight transport and feedback alignment


_register(
    Exercise(
        "fa_hidden_delta",
        "02",
        "the feedback-alignment hidden error",
        _hidden_delta,  # the same computation, with Y in place of W2
        _delta_cases,
        [
            (lambda d, Y, h: d @ Y, "You forgot the hidden sigmoid's slope, h * (1 - h)."),
            (
                lambda d, Y, h: -(d @ Y) * h * (1 - h),
                "A sign flipped: delta1 = (delta2 @ Y) * h(1-h).",
            ),
        ],
        (
            "Feedback alignment is backprop with the fixed random Y where W2 would be.",
            "Same as hidden_delta, with Y: (delta2 @ Y) * h * (1 - h).",
        ),
        "return (delta2 @ Y) * h * (1 - h)",
    )
)


_register(
    Exercise(
        "angle_between",
        "02",
        "the angle between two updates, in degrees",
        learning.angle,
        lambda rng: [
            (np.array([1.0, 0.0]), np.array([0.0, 2.0])),
            (rng.normal(0, 1, (3, 4)), rng.normal(0, 1, (3, 4))),
            (np.array([1.0, 1.0]), np.array([1.0, 1.0]) * (1 + 1e-16)),
        ],
        [
            (
                lambda a, b: float(np.radians(learning.angle(a, b))),
                "Your angle is in radians; convert with np.degrees.",
            ),
            (
                lambda a, b: float(
                    np.ravel(a) @ np.ravel(b) / (np.linalg.norm(a) * np.linalg.norm(b))
                ),
                "You returned the cosine; take np.arccos of it, then np.degrees.",
            ),
        ],
        (
            "cos(angle) = a . b / (|a| |b|), with the arrays flattened to vectors.",
            "Clip the cosine to [-1, 1] before np.arccos: round-off can push it just past 1 (NaN).",
        ),
        "a, b = np.ravel(a), np.ravel(b)\ncos = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))\n"
        "return float(np.degrees(np.arccos(np.clip(cos, -1, 1))))",
        compare=lambda got, exp, args: _close(got, exp, 1e-6),
    )
)

# Notebook 03: the pyramidal neuron


_register(
    Exercise(
        "euler_soma_step",
        "03",
        "one Euler step of the hidden soma",
        neuron.euler_soma_step,
        lambda rng: [
            (0.0, 2.0, 1.0, 0.1, 0.6, 0.0, 1.0),
            (rng.normal(0, 1, 5), rng.normal(0, 2, 5), rng.normal(0, 2, 5), 0.1, 0.6, 0.05, 1.0),
            (1.0, 0.0, 3.0, 0.1, 0.6, 0.6, 0.5),
        ],
        [
            (
                lambda V, Vb, Va, gL, gB, gA, dt: V + dt * (-gL * V + gB * (Vb - V)),
                "The apical term g_A (V_a - V) is missing (it matters when g_A > 0).",
            ),
            (
                lambda V, Vb, Va, gL, gB, gA, dt: V + (-gL * V + gB * (Vb - V) + gA * (Va - V)),
                "Multiply the change by dt.",
            ),
            (
                lambda V, Vb, Va, gL, gB, gA, dt: V + dt * (gL * V + gB * (Vb - V) + gA * (Va - V)),
                "The leak pulls V towards 0: its term is -g_L V.",
            ),
            (
                lambda V, Vb, Va, gL, gB, gA, dt: dt * (-gL * V + gB * (Vb - V) + gA * (Va - V)),
                "You returned the change dV; return the new voltage V + dV.",
            ),
        ],
        (
            "dV/dt = -g_L V + g_B (V_b - V) + g_A (V_a - V); one Euler step adds dt times this.",
            "Compute dV = (leak + basal + apical terms), then return V + dt * dV.",
        ),
        "return V + dt * (-g_L * V + g_B * (V_b - V) + g_A * (V_a - V))",
    )
)

_register(
    Exercise(
        "steady_state_k_B",
        "03",
        "the soma's steady-state gain k_B",
        neuron.k_B,
        lambda rng: [(0.1, 0.6, 0.0), (0.1, 0.6, 0.05), (0.1, 0.6, 0.6), (0.3, 0.2, 0.1)],
        [
            (
                lambda g_L, g_B, g_A: g_B / (g_L + g_B),
                "g_A belongs in the denominator too (all conductances the soma leaks through).",
            ),
            (
                lambda g_L, g_B, g_A: g_B / g_L,
                "Set dV/dt = 0 with V_a = 0 and solve for V: every conductance appears in the "
                "denominator.",
            ),
            (
                lambda g_L, g_B, g_A: (g_L + g_B + g_A) / g_B,
                "Upside down: k_B = g_B / (g_L + g_B + g_A).",
            ),
        ],
        (
            "At steady state dV/dt = 0. With no apical input, 0 = -g_L V + g_B (V_b - V) - g_A V.",
            "Solve for V = k_B V_b: k_B = g_B / (g_L + g_B + g_A).",
        ),
        "return g_B / (g_L + g_B + g_A)",
    )
)


_register(
    Exercise(
        "psp_kernel",
        "03",
        "the PSP kernel kappa(t)",
        neuron.psp_kernel,
        lambda rng: [
            (np.arange(0, 30.0), 3.0, 10.0),
            (np.array([-2.0, -0.5, 0.0, 1.0]), 3.0, 10.0),
            (np.linspace(0, 50, 11), 2.0, 20.0),
        ],
        [
            (
                lambda t, ts, tl: (
                    np.exp(-np.asarray(t, float) / tl)
                    - np.exp(-np.asarray(t, float) / ts) * (np.asarray(t) >= 0)
                ),
                "Divide by (tau_L - tau_s) so that the kernel integrates to 1.",
            ),
            (
                lambda t, ts, tl: (
                    (np.exp(-np.asarray(t, float) / tl) - np.exp(-np.asarray(t, float) / ts))
                    / (tl - ts)
                ),
                "kappa is 0 before the spike (t < 0): use np.where(t >= 0, ..., 0).",
            ),
            (
                lambda t, ts, tl: -neuron.psp_kernel(t, ts, tl),
                "A sign: the slow exponential (tau_L) comes first.",
            ),
        ],
        (
            "A difference of two exponentials, slow minus fast, normalised, and zero for t < 0.",
            "np.where(t >= 0, (np.exp(-t/tau_L) - np.exp(-t/tau_s)) / (tau_L - tau_s), 0.0)",
        ),
        "t = np.asarray(t, dtype=float)\n"
        "return np.where(t >= 0, (np.exp(-t / tau_L) - np.exp(-t / tau_s)) / (tau_L - tau_s), 0.0)",
    )
)


def _poisson_ref(rate_hz, T_ms, rng):
    return rng.poisson(rate_hz / 1000.0, size=T_ms)


def _compare_counts(got, other, args):
    """Spike trains are random: compare mean counts per bin (within 6 standard errors)."""
    _, T_ms, _ = args
    got, other = np.asarray(got), np.asarray(other)
    if got.shape != (T_ms,) or np.any(got < 0) or np.any(got != np.round(got)):
        return False
    lam = max(got.mean(), other.mean())
    return abs(got.mean() - other.mean()) < 6 * np.sqrt(lam / T_ms) + 1e-12


_register(
    Exercise(
        "poisson_spike_train",
        "03",
        "a Poisson spike train in 1-ms bins",
        _poisson_ref,
        lambda rng: [
            (20.0, 50_000, np.random.default_rng(1)),
            (200.0, 20_000, np.random.default_rng(2)),
            (0.0, 100, np.random.default_rng(3)),
        ],
        [
            (
                lambda r, T, rng: rng.poisson(r, size=T),
                "The rate is in Hz (spikes per second); per 1-ms bin the mean count is rate/1000.",
            )
        ],
        (
            "In each 1-ms bin the number of spikes is Poisson with mean rate x 1 ms.",
            "rng.poisson(rate_hz / 1000.0, size=T_ms)",
        ),
        "return rng.poisson(rate_hz / 1000.0, size=T_ms)",
        compare=_compare_counts,
    )
)

# Notebook 04: two phases and plateau potentials


def _plateau(V_a, start):
    return sigma(np.mean(np.asarray(V_a)[start:], axis=0))


_register(
    Exercise(
        "plateau_potential",
        "04",
        "the plateau potential alpha",
        _plateau,
        lambda rng: [
            (rng.normal(1, 2, (50, 4)), 30),
            (rng.normal(-1, 1, (56, 3)), 30),
            (rng.normal(0, 1, (40, 1)), 0),
        ],
        [
            (
                lambda V, s: np.mean(sigma(np.asarray(V)[s:]), axis=0),
                "Average first, then apply sigma: alpha = sigma(mean apical voltage).",
            ),
            (
                lambda V, s: np.mean(np.asarray(V)[s:], axis=0),
                "Apply the sigmoid to the mean apical voltage.",
            ),
            (
                lambda V, s: sigma(np.mean(np.asarray(V), axis=0)),
                "Average only from `start` (after the settling time) to the end of the phase.",
            ),
        ],
        (
            "alpha is one number per neuron: the logistic of the time-averaged apical voltage.",
            "V_a has shape (T, n): take V_a[start:].mean(axis=0), then sigma.",
        ),
        "return sigma(np.mean(V_a[start:], axis=0))",
    )
)


def _output_error(r_t, V_f, k_D, phi_max):
    s = sigma(V_f)
    return -k_D * phi_max * (r_t - phi_max * s) * s * (1 - s)


def _out_cases(rng):
    return [
        (rng.uniform(0, 0.2, 10), rng.normal(0, 2, 10), 0.857, 0.2),
        (np.array([0.2, 0.0]), np.array([0.0, 0.0]), 0.5, 0.2),
    ]


_register(
    Exercise(
        "output_error",
        "04",
        "the output layer's error e^L",
        _output_error,
        _out_cases,
        [
            (
                lambda r, V, k, p: -_output_error(r, V, k, p),
                "A sign: e^L = -k_D phi_max (target rate - forward rate) sigma'(V).",
            ),
            (
                lambda r, V, k, p: -p * (r - p * sigma(V)) * sigma(V) * (1 - sigma(V)),
                "The factor k_D is missing.",
            ),
            (
                lambda r, V, k, p: -k * p * (r - p * sigma(V)),
                "The slope sigma'(V) = sigma(V)(1 - sigma(V)) is missing.",
            ),
        ],
        (
            "The error is the difference between the target-phase rate and the forward rate, "
            "scaled by "
            "how strongly the voltage moves the rate.",
            "s = sigma(V_f); e = -k_D * phi_max * (r_t - phi_max * s) * s * (1 - s)",
        ),
        "s = sigma(V_f)\nreturn -k_D * phi_max * (r_t - phi_max * s) * s * (1 - s)",
    )
)


def _hidden_error(alpha_f, alpha_t, V_f, k_B, phi_max):
    s = sigma(V_f)
    return -k_B * (alpha_t - alpha_f) * phi_max * s * (1 - s)


_register(
    Exercise(
        "hidden_error",
        "04",
        "the hidden layer's local error e^0",
        _hidden_error,
        lambda rng: [
            (rng.uniform(0, 1, 6), rng.uniform(0, 1, 6), rng.normal(0, 2, 6), 0.857, 0.2),
            (np.array([0.5]), np.array([0.5]), np.array([1.0]), 0.8, 0.2),
        ],
        [
            (
                lambda af, at, V, k, p: -_hidden_error(af, at, V, k, p),
                "A sign: e^0 = -k_B (alpha^t - alpha^f) phi_max sigma'(V).",
            ),
            (
                lambda af, at, V, k, p: -(at - af) * p * sigma(V) * (1 - sigma(V)),
                "The factor k_B is missing.",
            ),
            (
                lambda af, at, V, k, p: -k * (at - af) * sigma(V) * (1 - sigma(V)),
                "The factor phi_max is missing (the rate is phi_max sigma(V)).",
            ),
        ],
        (
            "The hidden target is the forward rate plus alpha^t - alpha^f, so the error is that "
            "difference.",
            "e = -k_B * (alpha_t - alpha_f) * phi_max * sigma'(V_f)",
        ),
        "s = sigma(V_f)\nreturn -k_B * (alpha_t - alpha_f) * phi_max * s * (1 - s)",
    )
)

_register(
    Exercise(
        "hidden_update",
        "04",
        "the weight change of the basal synapses",
        lambda e, s_in, eta, P: -eta * P * np.outer(e, s_in),
        lambda rng: [
            (rng.normal(0, 0.01, 5), rng.uniform(0, 0.2, 8), 0.21, 100.0),
            (np.array([0.01]), np.array([0.0, 0.1]), 0.1, 20.0),
        ],
        [
            (
                lambda e, s, eta, P: eta * P * np.outer(e, s),
                "A sign: the update descends the loss, dW = -eta P e s^T.",
            ),
            (
                lambda e, s, eta, P: -eta * P * np.outer(s, e),
                "Transposed: W has shape (n_hidden, n_input), so dW = outer(e, s_in).",
            ),
            (lambda e, s, eta, P: -eta * np.outer(e, s), "The scale factor P is missing."),
        ],
        (
            "Each synapse changes by the postsynaptic error times the presynaptic activity.",
            "dW = -eta * P * np.outer(e, s_in), shape (len(e), len(s_in)).",
        ),
        "return -eta * P * np.outer(e, s_in)",
    )
)


def _make_check(name: str) -> Callable[[Callable], str]:
    def run(student: Callable, quiet: bool = False) -> str:
        return check(name, student, quiet)

    run.__name__ = f"check_{name}"
    run.__doc__ = f"Check your `{name}` ({EXERCISES[name].title})."
    return run


for _name in EXERCISES:
    globals()[f"check_{_name}"] = _make_check(_name)

__all__ = ["check", "hint", "progress", "EXERCISES"] + [f"check_{n}" for n in EXERCISES]
