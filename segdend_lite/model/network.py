"""The segregated-dendrite network (Guerguiev, Lillicrap & Richards 2017): its weights, state and
public API. The mode-specific work is done by :mod:`segdend_lite.model.rate` (the closed form)
and :mod:`segdend_lite.model.spiking` (1-ms steps); every equation of the learning rule is in
:mod:`segdend_lite.model.learning`.

Shapes as in the paper: ``W[l]`` (n_l, n_{l-1}), ``b[l]`` (n_l,), ``Y[h]`` (n_h, n_out) in
broadcast mode or (n_h, n_{h+1}) layer-wise, so a basal potential reads ``W @ s + b``. Each
``W[l]`` is stored in Fortran order (the transpose of a C-contiguous (n_{l-1}, n_l) array):
``W[l][:, cols]``, the columns of an image's lit pixels, is contiguous, and the fast engine
uses ``W[l].T`` without a copy. ``net.W[l] = A`` copies ``A`` into the stored array.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from segdend_lite.model import init as initialization
from segdend_lite.model import divergence, learning, loop, rate, spiking
from segdend_lite.model.config import Config, whole_number
from segdend_lite.model.spiking_state import SpikingState
from segdend_lite.threads import loop_threads, spiking_threads

N_INPUT = 784


def _whole(name: str, value, what: str, minimum: int = 1) -> int:
    n = whole_number(value)
    if n is None or n < minimum:
        raise ValueError(f"{name}={value!r} must be {what}")
    return n


def _sizes(layer_sizes) -> tuple[int, ...]:
    """``layer_sizes`` as a tuple of ints >= 1, or a ValueError showing what to give."""
    example = "e.g. (500, 10) for one hidden layer or (10,) for none"
    if isinstance(layer_sizes, (str, bytes)) or whole_number(layer_sizes) is not None:
        raise ValueError(
            f"layer_sizes={layer_sizes!r}: give the sizes of the hidden layers then the output "
            f"as a tuple, {example}"
        )
    try:
        sizes = tuple(layer_sizes)
    except TypeError:
        raise ValueError(f"layer_sizes={layer_sizes!r}: give a tuple of sizes, {example}") from None
    whole = [whole_number(n) for n in sizes]
    if not sizes or any(n is None or n < 1 for n in whole):
        raise ValueError(
            f"layer_sizes={layer_sizes!r}: every size must be a whole number of units >= 1, "
            f"output last ({example})"
        )
    return tuple(whole)


class LayerArrays(list):
    """A list of per-layer arrays; ``arrays[i] = A`` copies ``A`` into the existing array."""

    def __init__(self, arrays, name: str):
        super().__init__(arrays)
        self.name = name

    def __setitem__(self, i, value):
        target = self[i]
        value = np.asarray(value)
        if value.shape != target.shape:
            raise ValueError(f"{self.name}[{i}] has shape {target.shape}; got {value.shape}")
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{self.name}[{i}]: the new values contain NaN or infinity")
        target[...] = value


class Network:
    """A feed-forward network of segregated-dendrite neurons.

    Args:
        layer_sizes: sizes of the hidden layers then the output, e.g. ``(500, 10)``,
            ``(500, 100, 10)`` or ``(10,)`` for no hidden layer. The input has 784 units.
        config: a :class:`Config` (default: the paper's parameters, rate mode, float32).
        seed: seed of the network's random generator (initial weights, shuffling, noise).
    """

    def __init__(
        self,
        layer_sizes=(500, 10),
        config: Config | None = None,
        seed: int | None = 0,
        n_input: int = N_INPUT,
    ):
        config = config if config is not None else Config()
        if not isinstance(config, Config):
            raise ValueError(f"config must be a segdend_lite.Config, got {type(config).__name__}")
        self._config = config
        self.layer_sizes = sizes = _sizes(layer_sizes)
        self.n_input = _whole("n_input", n_input, "the number of input units (784 for MNIST)")
        if seed is not None:
            seed = _whole("seed", seed, "None or a whole number >= 0", minimum=0)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        #: eta^l and P^l of each weight layer (first hidden first, output last).
        self.lr = self.config.learning_rates(len(sizes))
        self.P = self.config.scale_factors(len(sizes))
        self.dtype = np.dtype(self.config.dtype)
        cfg = self.config
        full = (self.n_input,) + sizes
        W, b = [], []
        for l in range(len(sizes)):
            W_l, b_l = initialization.feedforward(
                self.rng, full[l + 1], full[l], cfg.phi_max, cfg.init
            )
            W.append(np.asfortranarray(W_l, dtype=self.dtype))
            b.append(b_l.astype(self.dtype))
        self.W = LayerArrays(W, "W")
        self.b = LayerArrays(b, "b")
        Y = []
        for h in range(self.n_hidden):
            n_src = sizes[-1] if cfg.feedback == "broadcast" else sizes[h + 1]
            Y_h = initialization.feedback(self.rng, sizes[h], n_src, cfg.phi_max, cfg.init)
            if cfg.sparse_feedback:
                Y_h = initialization.sparsify(self.rng, Y_h, cfg.sparse_feedback, cfg.sparse_gain)
            Y.append(Y_h.astype(self.dtype))
        self.Y = LayerArrays(Y, "Y")
        if cfg.symmetric_feedback:
            self.tie_feedback()
        self.images_seen = 0
        self.history: dict[str, list] = loop.new_history()
        self.reset_stats()
        #: The spiking state (somatic voltages, PSPs) carried from image to image.
        self.spiking = SpikingState.zeros(self) if cfg.mode == "spiking" else None

    # ------------------------------------------------------------------ structure
    @property
    def config(self) -> Config:
        """The :class:`Config`. Setting a new one (e.g. ``net.config =
        net.config.replace(mode="spiking", g_A=0.05)``) keeps the weights: the learning rates
        follow it, the spiking state is made (or reset, if the PSP kernel changed) when the mode
        becomes spiking and dropped when it becomes rate. A change that would need other
        arrays (dtype; feedback topology with two or more hidden layers) raises ValueError."""
        return self._config

    @config.setter
    def config(self, config: Config) -> None:
        if not isinstance(config, Config):
            raise ValueError(f"config must be a segdend_lite.Config, got {type(config).__name__}")
        old = self._config
        if config.dtype != old.dtype:
            raise ValueError(
                f"cannot change dtype from {old.dtype} to {config.dtype} on an existing network "
                f"(its arrays are {old.dtype}): build a new Network with the new Config"
            )
        if config.feedback != old.feedback and self.n_hidden > 1:
            raise ValueError(
                f"cannot change feedback from {old.feedback} to {config.feedback} on a network "
                "with two or more hidden layers (the feedback weights Y change shape): build a "
                "new Network with the new Config"
            )
        lr = config.learning_rates(len(self.layer_sizes))  # raises if lr has the wrong length
        kernel = ("kernel", "kernel_taps", "tau_s", "tau_L")
        if config.mode == "rate":
            self.spiking = None
        elif old.mode != "spiking" or any(getattr(old, k) != getattr(config, k) for k in kernel):
            self._config = config
            self.spiking = SpikingState.zeros(self)
        self._config = config
        self.lr = lr
        self.P = config.scale_factors(len(self.layer_sizes))

    @property
    def n_hidden(self) -> int:
        return len(self.layer_sizes) - 1

    @property
    def n_out(self) -> int:
        return self.layer_sizes[-1]

    def __repr__(self) -> str:
        shape = "-".join(str(n) for n in (self.n_input,) + self.layer_sizes)
        cfg = self.config
        return f"Network({shape}, mode={cfg.mode}, dtype={cfg.dtype}, seen={self.images_seen})"

    def tie_feedback(self) -> None:
        """Symmetric feedback: ``Y^{L-1} = (W^L)^T``; deeper hidden layers
        ``Y^h = (W^{h+1})^T Y^{h+1}`` (broadcast) or ``(W^{h+1})^T`` (layer-wise); plus
        N(0, symmetric_noise) noise."""
        cfg = self.config
        clean = [None] * self.n_hidden
        for h in reversed(range(self.n_hidden)):
            W_T = self.W[h + 1].T  # (n_h, n_{h+1})
            deeper = cfg.feedback == "broadcast" and h < self.n_hidden - 1
            clean[h] = W_T @ clean[h + 1] if deeper else W_T.copy()
        for h in range(self.n_hidden):
            noise = (
                self.rng.normal(0.0, cfg.symmetric_noise, clean[h].shape)
                if cfg.symmetric_noise
                else 0.0
            )
            self.Y[h][...] = clean[h] + noise

    # ------------------------------------------------------------------ input checks
    def check_images(self, X: np.ndarray) -> np.ndarray:
        """Images (N, 784) as floats in [0, 1] of the network's dtype: uint8 pixels are divided
        by 255; anything else gets a ValueError saying what is wrong."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_input:
            raise ValueError(
                f"images must have shape (N, {self.n_input}) (or ({self.n_input},) for one); "
                f"got {X.shape}. Flatten 28x28 images with X.reshape(len(X), -1)."
            )
        if X.dtype == np.uint8:
            return X.astype(self.dtype) / self.dtype.type(255)
        if not np.issubdtype(X.dtype, np.floating) and not np.issubdtype(X.dtype, np.integer):
            raise ValueError(f"images must be numbers; got dtype {X.dtype}")
        X = X.astype(self.dtype, copy=False)
        if not np.all(np.isfinite(X)):
            raise ValueError("images contain NaN or infinity")
        if X.size and (X.min() < 0 or X.max() > 1):
            raise ValueError(
                f"pixel values must lie in [0, 1] (pixels / 255); got {X.min()}..{X.max()}. "
                "Pass uint8 images as they are, or divide by 255."
            )
        return X

    def check_labels(self, y, n: int) -> np.ndarray:
        """``n`` labels as int64 (n,) in 0..n_out-1, or a ValueError saying what is wrong."""
        if y is None:
            raise ValueError(f"labels are None; give {n} labels, whole numbers 0..{self.n_out - 1}")
        y = np.asarray(y)
        if y.ndim == 0:
            y = y[None]
        if y.shape != (n,):
            raise ValueError(f"expected {n} labels, got shape {y.shape}")
        if y.dtype.kind not in "iuf":
            kind = {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "bytes"}
            raise ValueError(
                f"labels must be whole numbers 0..{self.n_out - 1}; got "
                f"{kind.get(y.dtype.kind, f'values of dtype {y.dtype}')} (e.g. {y.flat[0]!r})"
            )
        if not np.issubdtype(y.dtype, np.integer):
            if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
                raise ValueError("labels must be whole numbers 0..n_out-1")
            y = y.astype(np.int64)
        if y.size and (y.min() < 0 or y.max() >= self.n_out):
            raise ValueError(f"labels must lie in 0..{self.n_out - 1}; got {y.min()}..{y.max()}")
        return y.astype(np.int64)

    # ------------------------------------------------------------------ the learning rule
    def phases(self, X: np.ndarray, labels) -> rate.Phases:
        """Run forward and target phases (rate mode) on a batch; no weight changes.

        ``X``: (N, 784) pixels / 255 (or uint8); ``labels``: (N,) ints. Returns
        :class:`~segdend_lite.model.rate.Phases`.
        """
        if self.config.mode != "rate":
            raise ValueError("phases() computes the rate-mode closed form; this network is spiking")
        X = self.check_images(np.atleast_2d(X))
        return rate.phases(self, X, self.check_labels(labels, len(X)))

    def layer_errors(self, e_L, V_f, alpha_f, alpha_t, rule: str | None = None) -> list:
        """Errors of every layer (hidden first, output ``e_L`` last) by the configured
        ``hidden_update`` rule or ``rule`` (:func:`~segdend_lite.model.learning.layer_errors`)."""
        cfg = self.config
        return learning.layer_errors(
            rule or cfg.hidden_update,
            e_L,
            V_f,
            alpha_f,
            alpha_t,
            self.W,
            self.Y,
            cfg.k_B,
            cfg.phi_max,
            cfg.feedback == "broadcast",
        )

    def backprop_errors(self, V_h: list[np.ndarray], e_L: np.ndarray) -> list[np.ndarray]:
        """Errors of exact backprop through the current weights (docs/model.md, "Baselines")
        from the output error ``e_L`` and the hidden somatic voltages ``V_h``; hidden first,
        output last."""
        return self.layer_errors(e_L, V_h, None, None, rule="backprop")

    def apply_update(self, e: list[np.ndarray], s_pre: list[np.ndarray]) -> None:
        """``W^l += Delta W^l``, ``b^l += Delta b^l`` (:func:`~segdend_lite.model.learning.
        weight_change`) for every layer, output first.

        One image: ``e[l]`` (n_l,), ``s_pre[l]`` (n_{l-1},) the presynaptic rates or mean PSPs,
        input first; only the columns of ``W^0`` where ``s_pre[0]`` is non-zero change. A batch
        of N: ``e[l]`` (N, n_l), ``s_pre[l]`` (N, n_{l-1}); the mean of the per-image updates.
        """
        n = 1 if e[-1].ndim == 1 else len(e[-1])
        for l in reversed(range(len(self.layer_sizes))):
            W, b, pre = self.W[l], self.b[l], s_pre[l]
            nz = np.flatnonzero(pre) if l == 0 and n == 1 else None
            if nz is not None and 2 * len(nz) <= len(pre):  # mostly zero: lit pixels only
                dW, db = learning.weight_change(e[l], pre[nz], self.lr[l], self.P[l])
                W[:, nz] += dW
            else:
                dW, db = learning.weight_change(e[l], pre, self.lr[l], self.P[l])
                W += dW / n if n > 1 else dW
            b += db / n if n > 1 else db
        self.images_seen += n
        if self.config.symmetric_feedback:
            self.tie_feedback()

    # ------------------------------------------------------------------ learning
    @loop_threads  # matrix-vector products, in both modes: one BLAS thread
    def train_step(self, x: np.ndarray, label: int) -> tuple[float, int]:
        """One online update from one image ``x`` (pixels / 255, shape (784,)) and its label.

        Returns the output loss before the update (``mean(((r^{L,t} - r^{L,f}) /
        phi_max)^2)``) and 1 if the forward phase misclassified the image, else 0. The update
        itself is the mode's (:func:`segdend_lite.model.rate.learn_one`,
        :func:`segdend_lite.model.spiking.learn_one`), after the input checks."""
        x = np.asarray(x)
        if x.shape != (self.n_input,):
            raise ValueError(
                f"train_step takes one image of shape ({self.n_input},); got {x.shape}"
            )
        X = self.check_images(x[None])
        y = self.check_labels(label, 1)
        learn_one = spiking.learn_one if self.config.mode == "spiking" else rate.learn_one
        loss, wrong = learn_one(self, X[0], int(y[0]))
        divergence.after_step(self, loss)  # NaN or infinity: TrainingDiverged
        return loss, wrong

    def train_batch(self, X: np.ndarray, labels) -> tuple[float, int]:
        """One update with the mean of the per-image updates of a minibatch (a departure from
        the paper, which trains online; rate mode only,
        :func:`segdend_lite.model.rate.learn_batch`). Returns the summed loss and the number
        misclassified."""
        X = self.check_images(np.atleast_2d(X))
        loss, wrong = rate.learn_batch(self, X, self.check_labels(labels, len(X)))
        divergence.after_step(self, loss)
        return loss, wrong

    def fit(self, X, y, epochs: int = 1, batch_size: int = 1, shuffle: bool = True, **kwargs):
        """Train; see :func:`segdend_lite.model.loop.fit` for the options. Returns the
        history."""
        return loop.fit(self, X, y, epochs=epochs, batch_size=batch_size, shuffle=shuffle, **kwargs)

    # ------------------------------------------------------------------ statistics
    def reset_stats(self) -> None:
        """Clear the running statistics that ``fit`` reports per epoch (spiking mode): spike
        counts per layer, simulated ms, angles (degrees) between the first hidden layer's
        update and backprop's, and with ``g_A > 0`` how many stretches of steps took how many
        rounds (``rounds``, a Counter; :mod:`segdend_lite.model.coupled`)."""
        self.stats = {
            "spikes": np.zeros(len(self.layer_sizes)),
            "ms": 0.0,
            "angles": [],
            "rounds": Counter(),
        }

    def record_spiking_stats(self, spikes_f, spikes_t, ms: float, e: list, V_h: list) -> None:
        """Add one image's spike counts per layer (forward and target phases), its simulated
        ``ms`` and the angle between its first hidden layer's error ``e[0]`` and backprop's."""
        self.stats["spikes"] += np.add(spikes_f, spikes_t)
        self.stats["ms"] += ms
        if self.n_hidden:
            a = learning.angle(self.backprop_errors(V_h, e[-1])[0], e[0])
            if np.isfinite(a):
                self.stats["angles"].append(a)

    def firing_rates(self) -> list[float]:
        """Mean firing rate (Hz) of each layer (hidden layers, then output) since the last
        ``reset_stats``, in training (spiking mode)."""
        ms = self.stats["ms"]
        if not ms:
            return [float("nan")] * len(self.layer_sizes)
        return [1000.0 * c / (n * ms) for c, n in zip(self.stats["spikes"], self.layer_sizes)]

    # ------------------------------------------------------------------ read-out
    @spiking_threads  # predict and evaluate call it
    def output_voltage(
        self, X: np.ndarray, chunk: int = 10000, seed: int | None = None
    ) -> np.ndarray:
        """Forward-phase output somatic voltages, shape (N, n_out).

        Rate mode: ``V^{L,f} = k_D V^b``. Spiking mode: the mean somatic voltage of a test phase
        (state reset, ``test_length`` ms, Poisson spikes drawn from ``seed``; None = a seed
        derived from the network's seed and the images it has seen)."""
        X = np.atleast_2d(np.asarray(X))
        chunk = _whole("chunk", chunk, "a whole number of images >= 1")
        divergence.require_finite(self, "compute outputs")
        if self.config.mode == "spiking":
            if seed is None:
                key = [self.seed if self.seed is not None else 0, self.images_seen]
                seed = int(np.random.SeedSequence(key).generate_state(1)[0])
            return spiking.output_voltage(self, self.check_images(X), seed)
        out = np.empty((len(X), self.n_out), dtype=self.dtype)
        for i in range(0, len(X), chunk):
            out[i : i + chunk] = rate.output_voltage(self, self.check_images(X[i : i + chunk]))
        return out

    def predict(self, X: np.ndarray, seed: int | None = None) -> np.ndarray:
        """Predicted digits (N,): the output unit with the highest forward somatic voltage."""
        return np.argmax(self.output_voltage(X, seed=seed), axis=1)

    def evaluate(self, X: np.ndarray, y, seed: int | None = None) -> float:
        """Test error in percent."""
        y = self.check_labels(y, len(np.atleast_2d(X)))
        return float(100.0 * np.mean(self.predict(X, seed=seed) != y))
