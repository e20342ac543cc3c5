"""The configuration of a segregated-dendrite network: every parameter and option, named.

Defaults are the paper's (Guerguiev, Lillicrap & Richards 2017, Table 1 and Methods). Units:
ms, spikes/ms, dimensionless conductances and voltages. A ``Config`` is immutable; derive a
variant with ``dataclasses.replace(cfg, g_A=0.05)`` or ``cfg.replace(g_A=0.05)``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from dataclasses import dataclass

import numpy as np

from segdend_lite.model import neuron

MODES = ("rate", "spiking")
FEEDBACK = ("broadcast", "layerwise")
INITS = ("design", "authors_code")
HIDDEN_UPDATES = ("local", "backprop", "feedback_alignment")
DTYPES = ("float32", "float64")
KERNELS = ("full", "truncated")
WINDOWS = ("paper", "code")
ENGINES = ("fast", "step")
PRESETS = ("paper", "authors_code")

#: The paper's learning rates (first hidden layer first, output last), by number of hidden layers.
#: Two hidden layers: the paper's wording (hidden 0.23, output 0.12); the authors' Feb-2017
#: script read as (0.12, 0.23, 0.23) instead (docs/model.md, "Where the authors' code
#: departs from the paper").
PAPER_LR = {0: (0.19,), 1: (0.21, 0.21), 2: (0.23, 0.23, 0.12)}


@dataclass(frozen=True)
class Config:
    """Parameters and options of the network.

    Neuron (paper Table 1): ``phi_max`` maximum rate (spikes/ms), ``g_L`` leak, ``g_B`` basal,
    ``g_A`` apical (0 = fully segregated; the paper also studies 0.05 and 0.6), ``g_D`` output
    dendrite conductance; ``E_E``, ``E_I`` teaching reversal potentials; ``tau_s``, ``tau_L`` PSP
    kernel time constants (ms).

    Learning: ``lr`` per layer, first hidden first (None = the paper's rates for the depth);
    ``P_hidden`` and ``P_output`` the scale factors ``P^h`` and ``P^L`` (None = ``20/phi_max``
    and ``20/phi_max**2``; per layer: :meth:`scale_factors`, ``Network.P``).
    ``hidden_update``: ``"local"`` (the paper's plateau-potential rule), ``"backprop"`` (hidden
    errors ``W^T e`` from the layer above, docs/model.md "Baselines") or
    ``"feedback_alignment"`` (hidden errors through fixed random matrices ``B``; a baseline).

    Feedback: ``feedback`` ``"broadcast"`` (every hidden layer gets ``Y^h`` from the output, the
    paper's default) or ``"layerwise"`` (from the layer above; as in the authors' code, a lower
    hidden layer then learns only if the layer above changes between the phases, which needs
    ``g_A > 0`` in spiking mode and never happens in rate mode). ``sparse_feedback`` fraction of
    each ``Y^h`` zeroed (paper: 0.8) with survivors times ``sparse_gain`` (paper: 5).
    ``symmetric_feedback`` ties ``Y`` to ``W^T`` after every update, plus Gaussian noise of SD
    ``symmetric_noise`` (paper: 0.05) if > 0.

    Initialization (docs/model.md, "Initial weights"): ``init="design"`` gives weights the SD
    the design calls for; ``"authors_code"`` the doubled spread of the authors' final code.

    Numerics: ``dtype`` ``"float32"`` (default, fast) or ``"float64"``; ``mode`` ``"rate"`` (the
    authors' non-spiking mode, closed form) or ``"spiking"``.

    Spiking mode (1-ms steps): ``phase_length`` ms per phase, plus ``int(Wald(2, 1))`` ms if
    ``random_phase_lengths``; averages from ``settle`` ms to the phase end (``window="paper"``)
    or over the last ``code_window`` steps (``"code"``); PSP ``kernel`` ``"truncated"`` to
    ``kernel_taps`` lags (the default: 10 lags summing to 0.51, as in the authors' code, which
    made the paper's figures) or ``"full"`` (integrates to 1, as the paper's text describes).
    The default follows the code because the two learn in different regimes: with the same
    weights the full kernel's PSPs are twice as large (measured mean PSP / presynaptic rate:
    0.998-1.016 full, 0.510-0.511 truncated), the output units saturate and the angle to
    backprop climbs past 80 degrees, while the 10-lag kernel follows the authors' code's
    learning curve (``docs/model.md``, "The PSP kernel");
    ``test_length`` ms per test image (paper 500, code 250); ``random_plateau_times``: each
    hidden neuron's plateau ``min(|int(N(0, plateau_sd))|, 5)`` ms before the phase end
    (paper: variance 3; code: SD 3); ``spiking_feedback``: apical dendrites receive the
    filtered spikes of the layer that feeds them (the paper's model) or, if False, its rates
    ``phi_max sigma(V)`` ("rate feedback", paper Fig. 7A); ``engine`` ``"fast"`` or ``"step"``
    (same results).

    ``preset`` fills in the five options it covers (``kernel``, ``window``, ``test_length``,
    ``init``, ``plateau_sd``) where they are not given (None): ``"paper"`` with the defaults
    above, ``"authors_code"`` with the authors' code's choices (last-20-steps window, 250-ms
    test, doubled initial spread, plateau SD 3; the truncated kernel, the default of both).
    An option given explicitly is always kept, e.g. ``Config(preset="authors_code",
    kernel="full")`` or ``cfg.replace(window="paper")``.

    Every value is checked when a ``Config`` is made: a wrong type, NaN, infinity or a value
    out of range raises ``ValueError`` naming the field, the value and what is allowed.
    """

    mode: str = "rate"
    phi_max: float = 0.2
    g_L: float = 0.1
    g_B: float = 0.6
    g_A: float = 0.0
    g_D: float = 0.6
    E_E: float = 8.0
    E_I: float = -8.0
    tau_s: float = 3.0
    tau_L: float = 10.0
    lr: tuple[float, ...] | None = None
    P_hidden: float | None = None
    P_output: float | None = None
    hidden_update: str = "local"
    feedback: str = "broadcast"
    sparse_feedback: float = 0.0
    sparse_gain: float = 5.0
    symmetric_feedback: bool = False
    symmetric_noise: float = 0.0
    init: str | None = None  # None: the preset's choice ("design" for the paper)
    dtype: str = "float32"
    phase_length: int = 50
    random_phase_lengths: bool = True
    settle: int = 30
    window: str | None = None  # None: the preset's choice ("paper")
    code_window: int = 20
    kernel: str | None = None  # None: the preset's choice ("truncated")
    kernel_taps: int = 10
    test_length: int | None = None  # None: the preset's choice (500 ms for the paper)
    random_plateau_times: bool = False
    plateau_sd: float | None = None  # None: the preset's choice (sqrt(3) for the paper)
    spiking_feedback: bool = True
    engine: str = "fast"
    preset: str = "paper"

    def __post_init__(self) -> None:
        preset_values = AUTHORS_CODE if self.preset == "authors_code" else PAPER_DEFAULTS
        if self.preset not in PRESETS:
            raise ValueError(f"Config.preset={self.preset!r}: choose one of {PRESETS}")
        for name, value in preset_values.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        choices = {
            "mode": MODES,
            "feedback": FEEDBACK,
            "init": INITS,
            "hidden_update": HIDDEN_UPDATES,
            "dtype": DTYPES,
            "kernel": KERNELS,
            "window": WINDOWS,
            "engine": ENGINES,
        }
        for name, allowed in choices.items():
            value = getattr(self, name)
            if not isinstance(value, str) or value not in allowed:
                raise ValueError(f"Config.{name}={value!r}: choose one of {allowed}")
        for name in ("phi_max", "g_L", "g_B", "g_D", "tau_s", "tau_L", "sparse_gain"):
            self._set_real(name, "a positive finite number", lambda v: v > 0)
        for name in ("g_A", "symmetric_noise", "plateau_sd"):
            self._set_real(name, "a finite number >= 0", lambda v: v >= 0)
        for name in ("E_E", "E_I"):
            self._set_real(name, "a finite number (a reversal potential)", lambda v: True)
        if not self.E_E > self.E_I:
            raise ValueError(
                f"Config.E_E={self.E_E!r} must be above Config.E_I={self.E_I!r}: the teaching "
                "signal pulls toward E_E for the target class (paper: 8 and -8)"
            )
        self._set_real(
            "sparse_feedback",
            "the fraction of feedback weights set to zero: a number in [0, 1) (the paper uses 0.8)",
            lambda v: 0.0 <= v < 1.0,
        )
        for name in ("P_hidden", "P_output"):
            if getattr(self, name) is not None:
                self._set_real(name, "None or a positive finite number", lambda v: v > 0)
        for name in (
            "symmetric_feedback",
            "random_phase_lengths",
            "random_plateau_times",
            "spiking_feedback",
        ):
            value = getattr(self, name)
            if getattr(getattr(value, "dtype", None), "kind", "") == "b" and value.ndim == 0:
                object.__setattr__(self, name, bool(value))
            elif not isinstance(value, bool):
                raise ValueError(f"Config.{name}={value!r} must be True or False")
        for name in ("phase_length", "settle", "code_window", "kernel_taps", "test_length"):
            value = whole_number(getattr(self, name))
            if value is None or value < 1:
                raise ValueError(
                    f"Config.{name}={getattr(self, name)!r} must be a whole number of ms >= 1"
                )
            object.__setattr__(self, name, value)
        if self.settle >= self.phase_length or self.settle >= self.test_length:
            raise ValueError(
                f"Config.settle={self.settle} must be shorter than phase_length "
                f"({self.phase_length}) and test_length ({self.test_length})"
            )
        if self.code_window > self.phase_length:
            raise ValueError("Config.code_window must not exceed phase_length")
        if self.tau_s == self.tau_L:
            raise ValueError(
                "Config.tau_s and Config.tau_L must differ "
                "(the PSP kernel divides by their difference)"
            )
        if self.symmetric_feedback and self.sparse_feedback:
            raise ValueError(
                "Config.symmetric_feedback and Config.sparse_feedback exclude each other"
            )
        if self.symmetric_noise and not self.symmetric_feedback:
            raise ValueError("Config.symmetric_noise needs symmetric_feedback=True")
        if self.lr is not None:
            object.__setattr__(self, "lr", _learning_rates(self.lr))

    def _set_real(self, name: str, allowed: str, ok) -> None:
        """Check that field ``name`` is a real number (not a bool, string, NaN or infinity)
        for which ``ok`` holds; store it as a Python float."""
        value = getattr(self, name)
        if not is_real(value) or not ok(float(value)):
            raise ValueError(f"Config.{name}={value!r} must be {allowed}")
        object.__setattr__(self, name, float(value))

    # ---- derived constants
    @property
    def k_B(self) -> float:
        """``g_B / (g_L + g_B + g_A)``."""
        return neuron.k_B(self.g_L, self.g_B, self.g_A)

    @property
    def k_D(self) -> float:
        """``g_D / (g_L + g_D)``."""
        return neuron.k_D(self.g_L, self.g_D)

    def scale_factors(self, n_layers: int) -> tuple[float, ...]:
        """The scale factor ``P^l`` of each of ``n_layers`` weight layers (first hidden first,
        output last): ``P^h = P_hidden`` for the hidden layers and ``P^L = P_output`` for the
        output, or where None the paper's ``20 / phi_max`` and ``20 / phi_max**2``."""
        P_h = self.P_hidden if self.P_hidden is not None else 20.0 / self.phi_max
        P_L = self.P_output if self.P_output is not None else 20.0 / self.phi_max**2
        return (P_h,) * (n_layers - 1) + (P_L,)

    def learning_rates(self, n_layers: int) -> tuple[float, ...]:
        """The learning rate of each of ``n_layers`` weight layers (first hidden first)."""
        if self.lr is not None:
            if len(self.lr) != n_layers:
                raise ValueError(
                    f"Config.lr has {len(self.lr)} rates but the network has {n_layers} weight "
                    f"layers; give one per layer, first hidden layer first"
                )
            return self.lr
        if n_layers - 1 in PAPER_LR:
            return PAPER_LR[n_layers - 1]
        return (0.21,) * n_layers

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Config:
        data = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown configuration fields {unknown}")
        if data.get("lr") is not None:
            data["lr"] = tuple(data["lr"])
        return cls(**data)


#: The authors' code's choices where it departs from the paper (docs/model.md, same title).
AUTHORS_CODE = {
    "kernel": "truncated",
    "window": "code",
    "test_length": 250,
    "init": "authors_code",
    "plateau_sd": 3.0,
}
#: The paper's choices for the options a preset covers (``preset="paper"``).
PAPER_DEFAULTS = {
    "kernel": "truncated",
    "window": "paper",
    "test_length": 500,
    "init": "design",
    "plateau_sd": math.sqrt(3.0),
}


def is_real(value) -> bool:
    """True for a finite real number (int, float, numpy number); False for bools, strings,
    complex numbers, NaN and infinity."""
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, (bool, np.bool_))
        and math.isfinite(value)
    )


def whole_number(value) -> int | None:
    """``value`` as an int if it is a whole number (an int, a numpy integer or an integral
    float such as 20.0); None for anything else (bools, 20.7, strings, NaN)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    return None


def _learning_rates(lr) -> tuple[float, ...]:
    """``Config.lr`` as a tuple of floats, or a ValueError saying what a learning rate is."""
    example = "e.g. lr=(0.21, 0.21) for one hidden layer (first hidden layer first, output last)"
    if is_real(lr) or isinstance(lr, (str, bytes)):
        raise ValueError(
            f"Config.lr={lr!r}: give one learning rate per weight layer as a tuple, {example}"
        )
    try:
        rates = tuple(lr)
    except TypeError:
        raise ValueError(f"Config.lr={lr!r} must be a tuple of learning rates, {example}") from None
    bad = [v for v in rates if not (is_real(v) and v > 0)]
    if not rates or bad:
        raise ValueError(
            f"Config.lr={lr!r}: every learning rate must be a positive finite number "
            f"(got {bad[0]!r})"
            if bad
            else f"Config.lr=(): give one learning rate per weight layer, {example}"
        )
    return tuple(float(v) for v in rates)
