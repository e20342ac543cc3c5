"""The segregated-dendrite network (Guerguiev, Lillicrap & Richards 2017).

Rate mode is the authors' non-spiking mode in closed form (model_spec section 8.1). Per image
``x`` (pixels / 255, shape (784,)) with one-hot label ``t``:

1. input rates ``r^{-1} = phi_max x``;
2. each hidden layer ``h``: ``C^h = k_B (W^h r^{h-1} + b^h)``, ``r^h = phi_max sigma(C^h)``;
3. output, forward phase: ``B^L = W^L r^{L-1} + b^L``, ``C^{L,f} = k_D B^L``;
   target phase: ``C^{L,t} = (g_D B^L + t E_E + (1 - t) E_I) / (g_L + g_D + 1)``;
4. plateau potentials ``alpha^{h,f} = sigma(Y^h r^{L,f})``, ``alpha^{h,t} = sigma(Y^h r^{L,t})``;
5. errors ``e^L = -k_D phi_max (r^{L,t} - r^{L,f}) sigma'(C^{L,f})`` and
   ``e^h = -k_B (alpha^{h,t} - alpha^{h,f}) phi_max sigma'(C^h)``;
6. updates, all from the weights before the image: ``W^l -= eta^l P^l e^l (r^{l-1})^T``,
   ``b^l -= eta^l P^l e^l``.

Shapes: ``W[l]`` (n_l, n_{l-1}), ``b[l]`` (n_l,), ``Y[h]`` (n_h, n_out) in broadcast mode or
(n_h, n_{h+1}) layer-wise. ``W`` is stored transposed internally (rows of the input matrix are
then contiguous, so an image touches only the rows of its non-zero pixels); ``net.W[l]`` is a
view of that storage, so reading, writing elements and assigning ``net.W[l] = A`` all work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segdend_lite.model import init as initialization
from segdend_lite.model.config import Config
from segdend_lite.model.neuron import sigma
from segdend_lite.model.threads import spiking_threads

N_INPUT = 784
#: What ``net.history`` records per epoch (see :func:`segdend_lite.model.training.fit`).
HISTORY_KEYS = (
    "epoch",
    "images",
    "seconds",
    "loss",
    "train_error",
    "test_error",
    "hidden_rate_hz",
    "angle_to_bp",
)


def _as_pixels(x: np.ndarray, dtype) -> np.ndarray:
    """One image as floats in [0, 1]: uint8 pixels are divided by 255, floats kept."""
    x = np.asarray(x)
    if x.dtype == np.uint8:
        return x.astype(dtype) / np.dtype(dtype).type(255)
    return x.astype(dtype, copy=False)


class LayerArrays(list):
    """A list of per-layer arrays; ``arrays[i] = A`` copies ``A`` into the existing array."""

    def __init__(self, arrays, name: str):
        super().__init__(arrays)
        self._name = name

    def __setitem__(self, i, value):
        target = self[i]
        value = np.asarray(value)
        if value.shape != target.shape:
            raise ValueError(f"{self._name}[{i}] has shape {target.shape}; got {value.shape}")
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{self._name}[{i}]: the new values contain NaN or infinity")
        target[...] = value


@dataclass
class Phases:
    """What one pass of forward and target phases computed for a batch of N images.

    Lists run over layers: ``r`` input rates first (N, 784), then each hidden layer (N, n_h);
    ``C`` somatic voltages of hidden layers; ``C_f``/``C_t`` output voltages (N, n_out) in the
    forward and target phases, ``r_f``/``r_t`` their rates; ``alpha_f``/``alpha_t`` plateau
    potentials per hidden layer; ``e`` errors per layer (hidden first, output last).
    """

    r: list[np.ndarray]
    C: list[np.ndarray]
    C_f: np.ndarray
    C_t: np.ndarray
    r_f: np.ndarray
    r_t: np.ndarray
    alpha_f: list[np.ndarray]
    alpha_t: list[np.ndarray]
    e: list[np.ndarray]


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
        self.config = config if config is not None else Config()
        if not isinstance(self.config, Config):
            raise ValueError(f"config must be a segdend_lite.Config, got {type(config).__name__}")
        sizes = tuple(int(n) for n in layer_sizes)
        if not sizes or any(n < 1 for n in sizes):
            raise ValueError(f"layer_sizes={layer_sizes!r}: give positive sizes, output last")
        self.layer_sizes = sizes
        self.n_input = int(n_input)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.lr = self.config.learning_rates(len(sizes))
        self.dtype = np.dtype(self.config.dtype)
        cfg = self.config
        full = (self.n_input,) + sizes
        WT, b = [], []
        for l in range(len(sizes)):
            W_l, b_l = initialization.feedforward(
                self.rng, full[l + 1], full[l], cfg.phi_max, cfg.init
            )
            WT.append(np.ascontiguousarray(W_l.T, dtype=self.dtype))
            b.append(b_l.astype(self.dtype))
        self._WT = WT
        self.W = LayerArrays([w.T for w in WT], "W")
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
        self.history: dict[str, list] = {k: [] for k in HISTORY_KEYS}
        self.reset_stats()
        if cfg.mode == "spiking":
            from segdend_lite.model.spiking import SpikingState

            self.spiking = SpikingState.zeros(self)

    # ------------------------------------------------------------------ structure
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

    def _P(self, l: int) -> float:
        return self.config.P_L if l == self.n_hidden else self.config.P_h

    def tie_feedback(self) -> None:
        """Symmetric feedback: ``Y^{L-1} = (W^L)^T``; deeper hidden layers
        ``Y^h = (W^{h+1})^T Y^{h+1}``
        (broadcast) or ``(W^{h+1})^T`` (layer-wise); plus N(0, symmetric_noise) noise."""
        cfg = self.config
        clean = [None] * self.n_hidden
        for h in reversed(range(self.n_hidden)):
            Wt = self._WT[h + 1]  # (n_h, n_{h+1}) = (W^{h+1})^T
            deeper = cfg.feedback == "broadcast" and h < self.n_hidden - 1
            clean[h] = Wt @ clean[h + 1] if deeper else Wt.copy()
        for h in range(self.n_hidden):
            noise = (
                self.rng.normal(0.0, cfg.symmetric_noise, clean[h].shape)
                if cfg.symmetric_noise
                else 0.0
            )
            self.Y[h][...] = clean[h] + noise

    # ------------------------------------------------------------------ input checks
    def _check_images(self, X: np.ndarray) -> np.ndarray:
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

    def _check_labels(self, y, n: int) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim == 0:
            y = y[None]
        if y.shape != (n,):
            raise ValueError(f"expected {n} labels, got shape {y.shape}")
        if not np.issubdtype(y.dtype, np.integer):
            if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
                raise ValueError("labels must be whole numbers 0..n_out-1")
            y = y.astype(np.int64)
        if y.size and (y.min() < 0 or y.max() >= self.n_out):
            raise ValueError(f"labels must lie in 0..{self.n_out - 1}; got {y.min()}..{y.max()}")
        return y.astype(np.int64)

    # ------------------------------------------------------------------ the two phases, batched
    def phases(self, X: np.ndarray, labels) -> Phases:
        """Run forward and target phases (rate mode) on a batch; no weight changes.

        ``X``: (N, 784) pixels / 255 (or uint8); ``labels``: (N,) ints. Returns :class:`Phases`.
        """
        if self.config.mode != "rate":
            raise ValueError("phases() computes the rate-mode closed form; this network is spiking")
        X = self._check_images(np.atleast_2d(X))
        labels = self._check_labels(labels, len(X))
        return self._phases(X, labels)

    def _phases(self, X: np.ndarray, labels: np.ndarray, W0T: np.ndarray | None = None) -> Phases:
        """The closed form on a batch. ``W0T`` replaces the first layer's (transposed) weights,
        e.g. by the rows of an image's non-zero pixels, with ``X`` holding just those pixels."""
        cfg = self.config
        phi, kB, kD = cfg.phi_max, cfg.k_B, cfg.k_D
        WT = list(self._WT) if W0T is None else [W0T] + self._WT[1:]
        r = [phi * X]
        C = []
        for h in range(self.n_hidden):
            C_h = kB * (r[-1] @ WT[h] + self.b[h])
            C.append(C_h)
            r.append(phi * sigma(C_h))
        B_L = r[-1] @ WT[-1] + self.b[-1]
        t = np.zeros_like(B_L)
        t[np.arange(len(t)), labels] = 1.0
        C_f = kD * B_L
        C_t = (cfg.g_D * B_L + cfg.E_E * t + cfg.E_I * (1.0 - t)) / (cfg.g_L + cfg.g_D + 1.0)
        s_f = sigma(C_f)
        r_f, r_t = phi * s_f, phi * sigma(C_t)
        e_L = -kD * phi * (r_t - r_f) * s_f * (1.0 - s_f)
        alpha_f, alpha_t = [], []
        for h in range(self.n_hidden):
            if cfg.feedback == "broadcast" or h == self.n_hidden - 1:
                src_f, src_t = r_f, r_t
            else:  # layer-wise: the layer above; in rate mode its target rate is its forward rate
                src_f = src_t = r[h + 2]
            alpha_f.append(sigma(src_f @ self.Y[h].T))
            alpha_t.append(sigma(src_t @ self.Y[h].T))
        slopes = [self._slope(r_h) for r_h in r[1:]]
        e = self._hidden_errors(e_L, slopes, alpha_f, alpha_t, r)
        return Phases(r, C, C_f, C_t, r_f, r_t, alpha_f, alpha_t, e)

    def _slope(self, r_h: np.ndarray) -> np.ndarray:
        """``k_B phi_max sigma'(C^h)`` from the rates ``r^h = phi_max sigma(C^h)``."""
        s_h = r_h / self.config.phi_max
        return self.config.k_B * self.config.phi_max * s_h * (1.0 - s_h)

    def _hidden_errors(self, e_L, slopes, alpha_f, alpha_t, pre) -> list[np.ndarray]:
        """Errors of every layer, hidden first, output (``e_L``) last, by ``hidden_update``:
        local ``-(alpha^t - alpha^f) slope``; backprop ``(W^{h+1})^T e^{h+1} slope``; feedback
        alignment ``Y^h e^{L or h+1} slope``, where ``slope = k_B phi_max sigma'(C^h)``."""
        rule = self.config.hidden_update
        e = [None] * self.n_hidden + [e_L]
        for h in reversed(range(self.n_hidden)):
            if rule == "local":
                e[h] = -(alpha_t[h] - alpha_f[h]) * slopes[h]
            elif rule == "backprop":
                e[h] = (e[h + 1] @ self._WT[h + 1].T) * slopes[h]
            else:  # feedback alignment: fixed random Y in place of W^T
                src = e_L if self.config.feedback == "broadcast" else e[h + 1]
                e[h] = (src @ self.Y[h].T) * slopes[h]
        return e

    def backprop_errors(self, r: list[np.ndarray], e_L: np.ndarray) -> list[np.ndarray]:
        """Errors of exact backprop through the current weights (section 7.4):
        ``e^h = (W^{h+1})^T e^{h+1} * k_B phi_max sigma'(C^h)``, from the output error ``e_L``.
        ``r``: rates per layer as in :class:`Phases`; returns errors hidden first, output last."""
        e = [None] * self.n_hidden + [e_L]
        for h in reversed(range(self.n_hidden)):
            e[h] = (e[h + 1] @ self._WT[h + 1].T) * self._slope(r[h + 1])
        return e

    # ------------------------------------------------------------------ learning
    @spiking_threads
    def train_step(self, x: np.ndarray, label: int) -> tuple[float, int]:
        """One online update from one image ``x`` (pixels / 255, shape (784,)) and its label.

        Returns the output loss before the update and 1 if the forward phase misclassified."""
        x = np.asarray(x)
        if x.shape != (self.n_input,):
            raise ValueError(
                f"train_step takes one image of shape ({self.n_input},); got {x.shape}"
            )
        X = self._check_images(x[None])
        y = self._check_labels(label, 1)
        self._online_step(X[0], int(y[0]))

    def train_batch(self, X: np.ndarray, labels) -> tuple[float, int]:
        """One update with the mean of the per-image updates of a minibatch (a departure from
        the paper, which trains online)."""
        X = self._check_images(np.atleast_2d(X))
        return self._batch_step(X, self._check_labels(labels, len(X)))

    def _batch_step(self, X: np.ndarray, labels: np.ndarray) -> tuple[float, int]:
        if self.config.mode == "spiking":
            raise ValueError("spiking mode trains online only: use batch_size=1")
        p = self._phases(X, labels)
        n = len(X)
        for l in range(len(self.layer_sizes)):
            step = self.dtype.type(self.lr[l] * self._P(l) / n)
            self._WT[l] -= step * (p.r[l].T @ p.e[l])
            self.b[l] -= step * p.e[l].sum(axis=0)
        self._after_update(n)
        loss = float(np.sum(((p.r_t - p.r_f) / self.config.phi_max) ** 2)) / self.n_out
        return loss, int(np.sum(np.argmax(p.C_f, axis=1) != labels))

    def _after_update(self, n: int) -> None:
        self.images_seen += n
        if self.config.symmetric_feedback:
            self.tie_feedback()

    def _online_step(self, x: np.ndarray, label: int) -> tuple[float, int]:
        """One online update that touches only the input rows of the image's non-zero pixels
        (about 20 % of MNIST pixels are non-zero). Same result as ``_batch_step`` on one image.

        Returns the output loss ``mean(((r^{L,t} - r^{L,f}) / phi_max)^2)`` and whether the
        forward phase misclassified the image (0 or 1).
        """
        if self.config.mode == "spiking":
            from segdend_lite.model.spiking import train_image

            return train_image(self, x, label)
        nz = np.flatnonzero(x)
        p = self._phases(x[nz][None], [label], self._WT[0][nz])
        self._update(
            [self.config.phi_max * x] + [r_l[0] for r_l in p.r[1:]], [e_l[0] for e_l in p.e]
        )
        d = (p.r_t[0] - p.r_f[0]) / self.config.phi_max
        return float(d @ d) / self.n_out, int(np.argmax(p.C_f[0]) != label)

    def _update(self, pre: list[np.ndarray], e: list[np.ndarray]) -> None:
        """One image's update ``W^l -= eta^l P^l e^l (pre^l)^T``, ``b^l -= eta^l P^l e^l``.

        ``pre[l]`` are the presynaptic rates (or mean PSPs) of layer l, input (784,) first; for
        the input layer only the rows of its non-zero entries are touched."""
        for l in range(self.n_hidden, 0, -1):
            g = self.dtype.type(self.lr[l] * self._P(l)) * e[l]
            self._WT[l] -= np.outer(pre[l], g)
            self.b[l] -= g
        g = self.dtype.type(self.lr[0] * self._P(0)) * e[0]
        nz = np.flatnonzero(pre[0])
        if 2 * len(nz) > len(pre[0]):  # mostly non-zero (e.g. decaying PSPs): update in place
            self._WT[0] -= np.outer(pre[0], g)
        else:
            rows = self._WT[0][nz]
            rows -= np.outer(pre[0][nz], g)
            self._WT[0][nz] = rows
        self.b[0] -= g
        self._after_update(1)

    # ------------------------------------------------------------------ statistics
    def reset_stats(self) -> None:
        """Clear the running statistics (spike counts, angles) that ``fit`` reports per epoch."""
        self._stats = {"spikes": np.zeros(len(self.layer_sizes)), "ms": 0.0, "angles": []}

    def _record_spiking_stats(self, f, t, ms: float, e: list, slopes: list) -> None:
        self._stats["spikes"] += np.add(f.spikes, t.spikes)
        self._stats["ms"] += ms
        if self.n_hidden:  # angle between the first hidden layer's update and backprop's
            bp = e[-1]
            for h in reversed(range(self.n_hidden)):
                bp = (bp @ self._WT[h + 1].T) * slopes[h]
            denom = float(np.linalg.norm(bp) * np.linalg.norm(e[0]))
            if denom > 0:
                cos = float(np.clip(bp @ e[0] / denom, -1.0, 1.0))
                self._stats["angles"].append(float(np.degrees(np.arccos(cos))))

    def firing_rates(self) -> list[float]:
        """Mean firing rate (Hz) of each layer (hidden layers, then output) since the last
        ``reset_stats``, in training (spiking mode)."""
        ms = self._stats["ms"]
        if not ms:
            return [float("nan")] * len(self.layer_sizes)
        return [1000.0 * c / (n * ms) for c, n in zip(self._stats["spikes"], self.layer_sizes)]

    # ------------------------------------------------------------------ read-out
    @spiking_threads  # predict and evaluate call it
    def output_voltage(
        self, X: np.ndarray, chunk: int = 10000, seed: int | None = None
    ) -> np.ndarray:
        """Forward-phase output somatic voltages, shape (N, n_out).

        Rate mode: ``C^{L,f} = k_D B^L``. Spiking mode: the mean somatic voltage of a test phase
        (state reset, ``test_length`` ms, Poisson spikes drawn from ``seed``; None = a seed
        derived from the network's seed and the images it has seen)."""
        X = np.atleast_2d(np.asarray(X))
        if self.config.mode == "spiking":
            from segdend_lite.model.spiking import test_voltages

            self._check_images(X[:1])
            if seed is None:
                key = [self.seed if self.seed is not None else 0, self.images_seen]
                seed = int(np.random.SeedSequence(key).generate_state(1)[0])
            return test_voltages(self, X, seed)
        out = np.empty((len(X), self.n_out), dtype=self.dtype)
        cfg = self.config
        for i in range(0, len(X), chunk):
            r = cfg.phi_max * self._check_images(X[i : i + chunk])
            for h in range(self.n_hidden):
                r = cfg.phi_max * sigma(cfg.k_B * (r @ self._WT[h] + self.b[h]))
            out[i : i + chunk] = cfg.k_D * (r @ self._WT[-1] + self.b[-1])
        return out

    def predict(self, X: np.ndarray, seed: int | None = None) -> np.ndarray:
        """Predicted digits (N,): the output unit with the highest forward somatic voltage."""
        return np.argmax(self.output_voltage(X, seed=seed), axis=1)

    def evaluate(self, X: np.ndarray, y, seed: int | None = None) -> float:
        """Test error in percent."""
        y = self._check_labels(y, len(np.atleast_2d(X)))
        return float(100.0 * np.mean(self.predict(X, seed=seed) != y))

    def fit(self, X, y, epochs: int = 1, batch_size: int = 1, shuffle: bool = True, **kwargs):
        """Train; see :func:`segdend_lite.model.training.fit` for the options. Returns a History."""
        from segdend_lite.model.training import fit

        return fit(self, X, y, epochs=epochs, batch_size=batch_size, shuffle=shuffle, **kwargs)
